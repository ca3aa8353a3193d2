// Fleet overview: every client instance on one screen, worst first.
import type { DashboardBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { baseDashboard, row, statPanel, tableOfColumns } from './common.ts';

const PROBED = 'probe_success{job="fleet-prober", service_kind!="dependency"}';

export function fleetOverview(): DashboardBuilder {
  return baseDashboard(
    'concierge-fleet-overview',
    'Concierge fleet overview',
    'Every client instance at a glance: up now, month-to-date SLA against target, error budget left, open ' +
      'incidents, newest backup and certificate expiry. Worst first (least error budget left).',
  )
    .withRow(row('Now'))
    .withPanel(
      statPanel({
        title: 'Instances down now',
        description: 'Client instances with at least one non-dependency service failing its probe.',
        queries: [{ expr: `count(min by (cluster, client, instance) (${PROBED}) == 0) or vector(0)` }],
        thresholds: [
          [null, 'green'],
          [1, 'red'],
        ],
      }),
    )
    .withPanel(
      statPanel({
        title: 'Instances probed',
        description: 'Client instances the prober currently probes.',
        queries: [{ expr: `count(count by (cluster, client, instance) (${PROBED}))` }],
      }),
    )
    .withPanel(
      statPanel({
        title: 'Open incidents',
        description: 'Incidents open in the control plane, all clients and severities.',
        queries: [
          {
            expr: 'sum(max by (cluster, client, severity) (concierge_ops_incidents_open{job="control-plane"}))',
          },
        ],
        thresholds: [
          [null, 'green'],
          [1, 'orange'],
        ],
      }),
    )
    .withPanel(
      statPanel({
        title: 'Failing probes',
        description: 'Services (dependencies included) whose last probe failed.',
        queries: [{ expr: 'count(probe_success{job="fleet-prober"} == 0) or vector(0)' }],
        thresholds: [
          [null, 'green'],
          [1, 'red'],
        ],
      }),
    )
    .withRow(row('Instances'))
    .withPanel(
      tableOfColumns({
        title: 'Client instances (worst first)',
        description:
          'One row per client instance. Sorted by error budget left, smallest first; an instance that is down ' +
          'now is red in the Up column. SLA and budget come from the control plane (month to date, ' +
          'maintenance excluded as the contract says); backups from the backup exporter.',
        sortBy: 'Error budget left (min)',
        height: 14,
        columns: [
          {
            name: 'Up',
            query: `min by (cluster, client, instance) (${PROBED})`,
            thresholds: [
              [null, 'red'],
              [1, 'green'],
            ],
          },
          {
            name: 'SLA month to date (%)',
            query:
              '100 * max by (cluster, client, instance) (concierge_ops_sla_uptime_ratio{job="control-plane"})',
          },
          {
            name: 'SLA target (%)',
            query:
              '100 * max by (cluster, client, instance) (concierge_ops_sla_target_ratio{job="control-plane"})',
          },
          {
            name: 'Error budget left (min)',
            query:
              'max by (cluster, client, instance) (concierge_ops_sla_error_budget_remaining_seconds{job="control-plane"}) / 60',
            thresholds: [
              [null, 'red'],
              [10, 'orange'],
              [30, 'green'],
            ],
          },
          {
            // Incidents are per client; every instance of the client shows the client's count.
            name: 'Open incidents (client)',
            query:
              `(0 * min by (cluster, client, instance) (${PROBED})) + on (cluster, client) group_left () ` +
              'sum by (cluster, client) (max by (cluster, client, severity) (concierge_ops_incidents_open{job="control-plane"}))',
            thresholds: [
              [null, 'green'],
              [1, 'orange'],
            ],
          },
          {
            name: 'Newest backup age (h)',
            query:
              '(time() - max by (cluster, client, instance) (backup_last_success_timestamp_seconds{job="backup-exporter"})) / 3600',
            thresholds: [
              [null, 'green'],
              [26, 'red'],
            ],
          },
          {
            name: 'Certificate expires in (days)',
            query:
              '(min by (cluster, client, instance) (probe_ssl_earliest_cert_expiry{job="fleet-prober"}) - time()) / 86400',
            thresholds: [
              [null, 'red'],
              [7, 'orange'],
              [21, 'green'],
            ],
          },
        ],
      }),
    );
}
