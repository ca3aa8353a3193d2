// Client detail: one concierge instance, chosen with the client and instance variables.
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { PROMETHEUS, SEL, baseDashboard, labelVariable, row, statPanel, timeseriesPanel } from './common.ts';

const BURN_WINDOWS = ['5m', '30m', '1h', '6h', '1d', '3d'];

export function clientDetail(): dashboard.DashboardBuilder {
  return baseDashboard(
    'concierge-client-detail',
    'Concierge client detail',
    "One client instance: availability and error budget burn, probes, dependencies (OpenEMR, Twilio, voice AI), the concierge runtime's traffic, latency and errors, and backups.",
  )
    .withVariable(
      labelVariable('client', 'Client', 'label_values(probe_success{job="fleet-prober"}, client)'),
    )
    .withVariable(
      labelVariable(
        'instance',
        'Instance',
        'label_values(probe_success{job="fleet-prober", client="$client"}, instance)',
      ),
    )
    .annotation(
      new dashboard.AnnotationQueryBuilder()
        .name('Alerts')
        .datasource(PROMETHEUS)
        .enable(true)
        .iconColor('red')
        .expr(`ALERTS{alertstate="firing", ${SEL}}`)
        .titleFormat('{{alertname}}')
        .textFormat('{{severity}}')
        .step('60s'),
    )
    .withRow(row('Availability'))
    .withPanel(
      statPanel({
        title: 'Up now',
        description: 'Lowest probe result over the non-dependency services: 1 is up, 0 is down.',
        queries: [{ expr: `min(probe_success{job="fleet-prober", service_kind!="dependency", ${SEL}})` }],
        thresholds: [
          [null, 'red'],
          [1, 'green'],
        ],
      }),
    )
    .withPanel(
      statPanel({
        title: 'SLA month to date',
        description: "The control plane's month-to-date uptime (maintenance excluded as the contract says).",
        queries: [{ expr: `max(concierge_ops_sla_uptime_ratio{job="control-plane", ${SEL}})` }],
        unit: 'percentunit',
        decimals: 3,
      }),
    )
    .withPanel(
      statPanel({
        title: 'SLA target',
        description: "The client's contractual monthly uptime target.",
        queries: [{ expr: `max(concierge_ops_sla_target_ratio{job="control-plane", ${SEL}})` }],
        unit: 'percentunit',
        decimals: 3,
      }),
    )
    .withPanel(
      statPanel({
        title: 'Error budget left',
        description: 'Downtime the instance may still have this month before it misses its target.',
        queries: [
          { expr: `max(concierge_ops_sla_error_budget_remaining_seconds{job="control-plane", ${SEL}})` },
        ],
        unit: 's',
        thresholds: [
          [null, 'red'],
          [600, 'orange'],
          [1800, 'green'],
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Service availability',
        description: 'Share of successful probes per service over each interval.',
        queries: [
          {
            expr: `avg by (service) (avg_over_time(probe_success{job="fleet-prober", service_kind!="dependency", ${SEL}}[$__rate_interval]))`,
            legend: '{{service}}',
          },
        ],
        unit: 'percentunit',
        min: 0,
        max: 1,
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Error budget burn rate',
        description:
          'Failed-probe ratio over each SLO window divided by the error budget (1 = spending exactly the ' +
          'budget; the burn alerts fire at 14.4, 6, 3 and 1 on paired windows).',
        queries: BURN_WINDOWS.map((w) => ({
          expr: `slo:sli_error:ratio_rate${w}{${SEL}} / on (cluster, client, instance) slo:error_budget:ratio{${SEL}}`,
          legend: w,
        })),
        thresholds: [
          [null, 'green'],
          [1, 'orange'],
          [14.4, 'red'],
        ],
      }),
    )
    .withRow(row('Probes'))
    .withPanel(
      timeseriesPanel({
        title: 'Probe latency',
        description: 'Duration of the last probe of each service (connect, TLS, headers and body).',
        queries: [
          {
            expr: `max by (service) (probe_duration_seconds{job="fleet-prober", ${SEL}})`,
            legend: '{{service}}',
          },
        ],
        unit: 's',
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'HTTP status of probes',
        description: 'Status code of the last HTTP probe per service; 0 means no response.',
        queries: [
          {
            expr: `max by (service) (probe_http_status_code{job="fleet-prober", ${SEL}})`,
            legend: '{{service}}',
          },
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Dependencies (OpenEMR, Twilio, voice AI)',
        description: "Components of the instance's health JSON: 1 up, 0 down.",
        queries: [
          {
            expr: `min by (dependency) (probe_dependency_up{job="fleet-prober", ${SEL}})`,
            legend: '{{dependency}}',
          },
        ],
        min: 0,
        max: 1,
      }),
    )
    .withPanel(
      statPanel({
        title: 'Certificate expires in',
        description: 'Earliest notAfter of the verified TLS chains of the instance, from now.',
        queries: [{ expr: `min(probe_ssl_earliest_cert_expiry{job="fleet-prober", ${SEL}}) - time()` }],
        unit: 's',
        width: 12,
        height: 8,
        thresholds: [
          [null, 'red'],
          [7 * 86400, 'orange'],
          [21 * 86400, 'green'],
        ],
      }),
    )
    .withRow(row('Concierge runtime'))
    .withPanel(
      timeseriesPanel({
        title: 'Requests by channel',
        description: 'Patient-facing requests per second, per channel (phone, SMS, web).',
        queries: [
          {
            expr: `sum by (channel) (rate(concierge_requests_total{job="concierge", ${SEL}}[$__rate_interval]))`,
            legend: '{{channel}}',
          },
        ],
        unit: 'reqps',
        width: 8,
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Error ratio',
        description: 'Share of requests that failed (ticket above 0.1%, page above 0.5%).',
        queries: [
          { expr: `client_instance:concierge_requests:error_ratio_rate5m{${SEL}}`, legend: 'all channels' },
          {
            expr:
              `sum by (channel) (rate(concierge_requests_total{job="concierge", outcome="error", ${SEL}}[$__rate_interval]))` +
              ` / sum by (channel) (rate(concierge_requests_total{job="concierge", ${SEL}}[$__rate_interval]))`,
            legend: '{{channel}}',
          },
        ],
        unit: 'percentunit',
        width: 8,
        thresholds: [
          [null, 'green'],
          [0.001, 'orange'],
          [0.005, 'red'],
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Crisis response latency',
        description: 'Time to answer a message classified as a crisis (page above 100ms at p99).',
        queries: [
          {
            expr: `client_instance:concierge_crisis_response_duration_seconds:p99_rate5m{${SEL}}`,
            legend: 'p99',
          },
          {
            expr: `histogram_quantile(0.5, sum by (le) (rate(concierge_crisis_response_duration_seconds_bucket{job="concierge", ${SEL}}[$__rate_interval])))`,
            legend: 'p50',
          },
        ],
        unit: 's',
        width: 8,
        thresholds: [
          [null, 'green'],
          [0.05, 'orange'],
          [0.1, 'red'],
        ],
      }),
    )
    .withRow(row('Objectives'))
    .withPanel(
      statPanel({
        title: 'Availability, last 30 days',
        description:
          'Backend and proxy probes that succeeded over the SLA window (30 days, or what Prometheus keeps). ' +
          'Ticket below the target, page below 99.5% (ConciergeAvailabilityBelowSLA).',
        queries: [{ expr: `1 - avg_over_time(slo:sli_error:ratio_rate5m{${SEL}}[30d])` }],
        unit: 'percentunit',
        decimals: 3,
        height: 8,
        thresholds: [
          [null, 'red'],
          [0.995, 'orange'],
          [0.999, 'green'],
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Within the response-time objectives',
        description:
          'Share of AI turns that succeeded within 2 s, and of API answers that succeeded within 500 ms, over ' +
          '5 minutes. The objective for both is 95%.',
        queries: [
          { expr: `1 - slo:ai_turn_error:ratio_rate5m{${SEL}}`, legend: 'AI turns within 2 s' },
          { expr: `1 - slo:api_response_error:ratio_rate5m{${SEL}}`, legend: 'API answers within 500 ms' },
        ],
        unit: 'percentunit',
        max: 1,
        width: 6,
        thresholds: [
          [null, 'red'],
          [0.95, 'green'],
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Response-time budget burn',
        description:
          'Bad share over each window divided by the 5% budget (1 = spending exactly the budget; the burn ' +
          'alerts fire at 14.4, 6, 3 and 1 on paired windows).',
        queries: ['1h', '6h', '1d'].flatMap((w) => [
          { expr: `slo:ai_turn_error:ratio_rate${w}{${SEL}} / 0.05`, legend: `AI turns ${w}` },
          { expr: `slo:api_response_error:ratio_rate${w}{${SEL}} / 0.05`, legend: `API ${w}` },
        ]),
        width: 6,
        thresholds: [
          [null, 'green'],
          [1, 'orange'],
          [14.4, 'red'],
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'AI turn and API latency',
        description: 'p95 of successful AI turns (objective: 2 s) and of API answers (objective: 500 ms).',
        queries: [
          {
            expr: `histogram_quantile(0.95, sum by (le) (rate(concierge_ai_turn_duration_seconds_bucket{job="concierge", outcome="ok", ${SEL}}[$__rate_interval])))`,
            legend: 'AI turn p95',
          },
          {
            expr: `histogram_quantile(0.95, sum by (le) (rate(concierge_api_response_duration_seconds_bucket{job="concierge", outcome="ok", ${SEL}}[$__rate_interval])))`,
            legend: 'API p95',
          },
        ],
        unit: 's',
        width: 6,
      }),
    )
    .withRow(row('Web pages (Faro)'))
    .withPanel(
      timeseriesPanel({
        title: 'Loading and responsiveness (p75)',
        description:
          "The patient web chat's Core Web Vitals at the 75th percentile, as Google rates them: LCP good under 2.5s, INP under 200ms.",
        queries: [
          {
            expr: `histogram_quantile(0.75, sum by (le) (rate(concierge_ops_web_vitals_lcp_seconds_bucket{job="control-plane", ${SEL}}[$__rate_interval])))`,
            legend: 'LCP',
          },
          {
            expr: `histogram_quantile(0.75, sum by (le) (rate(concierge_ops_web_vitals_inp_seconds_bucket{job="control-plane", ${SEL}}[$__rate_interval])))`,
            legend: 'INP',
          },
          {
            expr: `histogram_quantile(0.75, sum by (le) (rate(concierge_ops_web_vitals_ttfb_seconds_bucket{job="control-plane", ${SEL}}[$__rate_interval])))`,
            legend: 'TTFB',
          },
        ],
        unit: 's',
        width: 8,
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Layout shift (CLS, p75)',
        description: 'Cumulative layout shift of the web chat at the 75th percentile (good under 0.1).',
        queries: [
          {
            expr: `histogram_quantile(0.75, sum by (le) (rate(concierge_ops_web_vitals_cls_bucket{job="control-plane", ${SEL}}[$__rate_interval])))`,
            legend: 'CLS',
          },
        ],
        width: 8,
        thresholds: [
          [null, 'green'],
          [0.1, 'orange'],
          [0.25, 'red'],
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'JavaScript errors per session',
        description: 'Errors the web chat reported to Faro, by error type, per new session.',
        queries: [
          {
            expr:
              `sum by (type) (rate(concierge_ops_web_errors_total{job="control-plane", ${SEL}}[$__rate_interval]))` +
              ` / scalar(sum(rate(concierge_ops_web_sessions_total{job="control-plane", ${SEL}}[$__rate_interval])))`,
            legend: '{{type}}',
          },
        ],
        width: 8,
      }),
    )
    .withRow(row('Backups'))
    .withPanel(
      timeseriesPanel({
        title: 'Age of newest good backup',
        description: 'Time since the newest successful backup, per kind (alert above 26h).',
        queries: [
          {
            expr: `time() - max by (kind) (backup_last_success_timestamp_seconds{job="backup-exporter", ${SEL}})`,
            legend: '{{kind}}',
          },
        ],
        unit: 's',
        thresholds: [
          [null, 'green'],
          [26 * 3600, 'red'],
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Backup size',
        description: 'Size of the newest backup per kind.',
        queries: [
          {
            expr: `max by (kind) (backup_last_size_bytes{job="backup-exporter", ${SEL}})`,
            legend: '{{kind}}',
          },
        ],
        unit: 'bytes',
      }),
    );
}
