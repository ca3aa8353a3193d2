// Pipeline health: is the monitoring itself working (Prometheus, Alertmanager, prober, control plane)?
import type { DashboardBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { baseDashboard, row, timeseriesPanel } from './common.ts';

const PR = 'job="fleet-prober"';
const CP = 'job="control-plane"';

export function pipeline(): DashboardBuilder {
  return baseDashboard(
    'concierge-pipeline',
    'Concierge pipeline health',
    'The monitoring pipeline itself: Prometheus scrapes and rules, Alertmanager notifications, the fleet prober, and the control plane (latency, errors, job queue lag).',
  )
    .withRow(row('Prometheus'))
    .withPanel(
      timeseriesPanel({
        title: 'Targets up by job',
        description: 'Share of scrape targets that answered, per job.',
        queries: [{ expr: 'avg by (job) (up)', legend: '{{job}}' }],
        unit: 'percentunit',
        min: 0,
        max: 1,
        width: 8,
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Scrape duration by job',
        description: 'Slowest scrape per job (the timeout is 10s).',
        queries: [{ expr: 'max by (job) (scrape_duration_seconds)', legend: '{{job}}' }],
        unit: 's',
        width: 8,
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Rule evaluation',
        description: 'Rule evaluation failures per second and slowest group evaluation.',
        queries: [
          {
            expr: 'sum by (rule_group) (rate(prometheus_rule_evaluation_failures_total[$__rate_interval]))',
            legend: 'failures {{rule_group}}',
          },
          {
            expr: 'max by (rule_group) (prometheus_rule_group_last_duration_seconds)',
            legend: 'duration {{rule_group}}',
          },
        ],
        width: 8,
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Alerts sent to Alertmanager',
        description: 'Alerts Prometheus sent, failed to send and dropped.',
        queries: [
          { expr: 'sum(rate(prometheus_notifications_sent_total[$__rate_interval]))', legend: 'sent' },
          { expr: 'sum(rate(prometheus_notifications_errors_total[$__rate_interval]))', legend: 'errors' },
          { expr: 'sum(rate(prometheus_notifications_dropped_total[$__rate_interval]))', legend: 'dropped' },
        ],
        unit: 'ops',
      }),
    )
    .withRow(row('Alertmanager'))
    .withPanel(
      timeseriesPanel({
        title: 'Alertmanager notifications by integration',
        description:
          'Notifications Alertmanager sent and failed per integration (webhook to the control plane, e-mail).',
        queries: [
          {
            expr: 'sum by (integration) (rate(alertmanager_notifications_total{job="alertmanager"}[$__rate_interval]))',
            legend: 'sent {{integration}}',
          },
          {
            expr: 'sum by (integration) (rate(alertmanager_notifications_failed_total{job="alertmanager"}[$__rate_interval]))',
            legend: 'failed {{integration}}',
          },
        ],
        unit: 'ops',
      }),
    )
    .withRow(row('Fleet prober'))
    .withPanel(
      timeseriesPanel({
        title: 'Probes by result',
        description: 'Probes run per second, by type and result.',
        queries: [
          {
            expr: `sum by (type, result) (rate(prober_probes_total{${PR}}[$__rate_interval]))`,
            legend: '{{type}} {{result}}',
          },
        ],
        unit: 'ops',
        width: 8,
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Prober errors and late probes',
        description: 'Prober errors by kind, and probes that started late or were skipped.',
        queries: [
          {
            expr: `sum by (kind) (rate(prober_errors_total{${PR}}[$__rate_interval]))`,
            legend: '{{kind}}',
          },
          { expr: `sum(rate(prober_late_probes_total{${PR}}[$__rate_interval]))`, legend: 'late' },
        ],
        unit: 'ops',
        width: 8,
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Targets and pending transitions',
        description: 'Services discovered, and state transitions not yet accepted by the control plane.',
        queries: [
          { expr: `sum by (type) (prober_targets{${PR}})`, legend: 'targets {{type}}' },
          { expr: `sum(prober_transitions_pending{${PR}})`, legend: 'pending transitions' },
        ],
        width: 8,
      }),
    )
    .withRow(row('Control plane'))
    .withPanel(
      timeseriesPanel({
        title: 'Control plane latency (p50, p99)',
        description: 'HTTP request duration of the control plane API, all routes.',
        queries: [
          {
            expr: `histogram_quantile(0.5, sum by (le) (rate(concierge_ops_http_request_duration_seconds_bucket{${CP}}[$__rate_interval])))`,
            legend: 'p50',
          },
          {
            expr: `histogram_quantile(0.99, sum by (le) (rate(concierge_ops_http_request_duration_seconds_bucket{${CP}}[$__rate_interval])))`,
            legend: 'p99',
          },
        ],
        unit: 's',
        width: 8,
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Control plane requests by status',
        description: 'Requests per second by HTTP status, and denied authentications by reason.',
        queries: [
          {
            expr: `sum by (status) (rate(concierge_ops_http_requests_total{${CP}}[$__rate_interval]))`,
            legend: '{{status}}',
          },
          {
            expr: `sum by (reason) (rate(concierge_ops_auth_denied_total{${CP}}[$__rate_interval]))`,
            legend: 'denied {{reason}}',
          },
        ],
        unit: 'reqps',
        width: 8,
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Job queue lag',
        description: 'How long the oldest runnable escalation or send job has waited past its due time.',
        queries: [{ expr: `max(concierge_ops_job_queue_lag_seconds{${CP}})`, legend: 'lag' }],
        unit: 's',
        width: 8,
      }),
    );
}
