// Incidents and paging: what is open, how fast people answer, how notifications fare.
import type { DashboardBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { baseDashboard, row, statPanel, timeseriesPanel } from './common.ts';

const CP = 'job="control-plane"';

function quantile(q: number, metric: string): string {
  return `histogram_quantile(${q}, sum by (le, severity) (rate(${metric}_bucket{${CP}}[$__rate_interval])))`;
}

export function incidents(): DashboardBuilder {
  return baseDashboard(
    'concierge-incidents',
    'Concierge incidents and paging',
    "Open incidents, failure to page and to acknowledge, time to acknowledge and resolve, notifications by channel and status, escalation levels reached and the dead man's switch.",
  )
    .withRow(row('Now'))
    .withPanel(
      statPanel({
        title: 'Open incidents',
        description: 'All clients and severities (replicas report the same value; max keeps one).',
        queries: [{ expr: `sum(max by (cluster, client, severity) (concierge_ops_incidents_open{${CP}}))` }],
        thresholds: [
          [null, 'green'],
          [1, 'orange'],
        ],
      }),
    )
    .withPanel(
      statPanel({
        title: "Dead man's switch",
        description:
          "1: Alertmanager's Watchdog keeps arriving at the control plane. 0: the alert path is broken.",
        queries: [{ expr: `min(concierge_ops_deadmans_switch_ok{${CP}})` }],
        thresholds: [
          [null, 'red'],
          [1, 'green'],
        ],
      }),
    )
    .withPanel(
      statPanel({
        title: 'Firing alerts',
        description: 'Alerts firing in Prometheus now (Watchdog excluded).',
        queries: [{ expr: 'count(ALERTS{alertstate="firing", alertname!="Watchdog"}) or vector(0)' }],
        thresholds: [
          [null, 'green'],
          [1, 'orange'],
        ],
      }),
    )
    .withPanel(
      statPanel({
        title: 'Job queue lag',
        description: 'How long the oldest runnable escalation or send job has waited past its due time.',
        queries: [{ expr: `max(concierge_ops_job_queue_lag_seconds{${CP}})` }],
        unit: 's',
        thresholds: [
          [null, 'green'],
          [30, 'orange'],
          [120, 'red'],
        ],
      }),
    )
    .withPanel(
      statPanel({
        title: 'Failure to page p90 (1 day)',
        description:
          "From a failure's beginning (its alerts' earliest startsAt) to the first page a provider accepted, 90th percentile over the last day, all severities. Target 5 minutes (FailureToPageSlow).",
        queries: [
          {
            expr: `histogram_quantile(0.9, sum by (le) (increase(concierge_ops_failure_to_page_seconds_bucket{${CP}}[1d])))`,
          },
        ],
        unit: 's',
        thresholds: [
          [null, 'green'],
          [120, 'orange'],
          [300, 'red'],
        ],
      }),
    )
    .withRow(row('Incidents'))
    .withPanel(
      timeseriesPanel({
        title: 'Open incidents by client and severity',
        description: 'Incidents open in the control plane.',
        queries: [
          {
            expr: `max by (cluster, client, severity) (concierge_ops_incidents_open{${CP}})`,
            legend: '{{client}} {{severity}}',
          },
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Firing alerts by name',
        description: 'Prometheus alerts firing, by alert name and severity.',
        queries: [
          {
            expr: 'count by (alertname, severity) (ALERTS{alertstate="firing", alertname!="Watchdog"})',
            legend: '{{alertname}} {{severity}}',
          },
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Time to acknowledge (p50, p90)',
        description: 'From an incident opening to its first acknowledgement, per severity.',
        queries: [
          {
            expr: quantile(0.5, 'concierge_ops_incident_time_to_acknowledge_seconds'),
            legend: 'p50 {{severity}}',
          },
          {
            expr: quantile(0.9, 'concierge_ops_incident_time_to_acknowledge_seconds'),
            legend: 'p90 {{severity}}',
          },
        ],
        unit: 's',
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Time to resolve (p50, p90)',
        description: 'From an incident opening to its resolution, per severity.',
        queries: [
          {
            expr: quantile(0.5, 'concierge_ops_incident_time_to_resolve_seconds'),
            legend: 'p50 {{severity}}',
          },
          {
            expr: quantile(0.9, 'concierge_ops_incident_time_to_resolve_seconds'),
            legend: 'p90 {{severity}}',
          },
        ],
        unit: 's',
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Failure to page (p50, p90)',
        description:
          "From a failure's beginning (its alerts' earliest startsAt) to the first page Twilio or the mail server accepted, per severity.",
        queries: [
          { expr: quantile(0.5, 'concierge_ops_failure_to_page_seconds'), legend: 'p50 {{severity}}' },
          { expr: quantile(0.9, 'concierge_ops_failure_to_page_seconds'), legend: 'p90 {{severity}}' },
        ],
        unit: 's',
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Failure to acknowledge (p50, p90)',
        description: "From a failure's beginning to its incident's acknowledgement, per severity.",
        queries: [
          { expr: quantile(0.5, 'concierge_ops_failure_to_ack_seconds'), legend: 'p50 {{severity}}' },
          { expr: quantile(0.9, 'concierge_ops_failure_to_ack_seconds'), legend: 'p90 {{severity}}' },
        ],
        unit: 's',
      }),
    )
    .withRow(row('Paging'))
    .withPanel(
      timeseriesPanel({
        title: 'Notifications by channel and status',
        description: 'Pages sent per second (SMS, voice, e-mail), by delivery status.',
        queries: [
          {
            expr: `sum by (channel, status) (rate(concierge_ops_notifications_total{${CP}}[$__rate_interval]))`,
            legend: '{{channel}} {{status}}',
          },
        ],
        unit: 'ops',
        width: 8,
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Notification send latency (p90)',
        description: 'Time for a provider (Twilio, SMTP) to accept a notification, per channel.',
        queries: [
          {
            expr: `histogram_quantile(0.9, sum by (le, channel) (rate(concierge_ops_notification_send_duration_seconds_bucket{${CP}}[$__rate_interval])))`,
            legend: '{{channel}}',
          },
        ],
        unit: 's',
        width: 8,
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Escalation levels reached',
        description:
          'Escalations per level over each interval: level 2 and above means level 1 did not answer.',
        queries: [
          {
            expr: `sum by (level) (increase(concierge_ops_escalation_levels_reached_total{${CP}}[$__rate_interval]))`,
            legend: 'level {{level}}',
          },
        ],
        width: 8,
      }),
    );
}
