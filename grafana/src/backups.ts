// Backups: freshness, size, verification, restore tests and retention per instance.
import type { DashboardBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { baseDashboard, row, statPanel, tableOfColumns, timeseriesPanel } from './common.ts';

const BX = 'job="backup-exporter"';
const OK: [number | null, string][] = [
  [null, 'red'],
  [1, 'green'],
];

export function backups(): DashboardBuilder {
  return baseDashboard(
    'concierge-backups',
    'Concierge backups',
    'Backup freshness, size trend, verification and restore tests, and retention compliance per client instance and kind.',
  )
    .withRow(row('Now'))
    .withPanel(
      statPanel({
        title: 'Stale backups',
        description: 'Backup kinds whose newest good backup is older than 26 hours.',
        queries: [
          { expr: `count(time() - backup_last_success_timestamp_seconds{${BX}} > 26 * 3600) or vector(0)` },
        ],
        thresholds: [
          [null, 'green'],
          [1, 'red'],
        ],
      }),
    )
    .withPanel(
      statPanel({
        title: 'Failed last runs',
        description: 'Backup kinds whose newest run failed.',
        queries: [{ expr: `count(backup_last_run_success{${BX}} == 0) or vector(0)` }],
        thresholds: [
          [null, 'green'],
          [1, 'red'],
        ],
      }),
    )
    .withPanel(
      statPanel({
        title: 'Failed restore tests',
        description: 'Instances whose latest restore test did not pass.',
        queries: [{ expr: `count(backup_restore_test_success{${BX}} == 0) or vector(0)` }],
        thresholds: [
          [null, 'green'],
          [1, 'red'],
        ],
      }),
    )
    .withPanel(
      statPanel({
        title: 'Retention violations',
        description: 'Backup kinds that keep fewer (or older) backups than the retention policy says.',
        queries: [{ expr: `count(backup_retention_compliant{${BX}} == 0) or vector(0)` }],
        thresholds: [
          [null, 'green'],
          [1, 'red'],
        ],
      }),
    )
    .withRow(row('Per instance'))
    .withPanel(
      tableOfColumns({
        title: 'Backups per instance and kind (oldest first)',
        description: 'One row per client, instance and backup kind.',
        sortBy: 'Newest good backup age (h)',
        desc: true,
        columns: [
          {
            name: 'Newest good backup age (h)',
            query: `(time() - backup_last_success_timestamp_seconds{${BX}}) / 3600`,
            thresholds: [
              [null, 'green'],
              [26, 'red'],
            ],
          },
          { name: 'Last run ok', query: `backup_last_run_success{${BX}}`, thresholds: OK },
          { name: 'Verified', query: `backup_verify_success{${BX}}`, thresholds: OK },
          { name: 'Retention ok', query: `backup_retention_compliant{${BX}}`, thresholds: OK },
          { name: 'Size (MiB)', query: `backup_last_size_bytes{${BX}} / 2^20` },
          { name: 'Duration (min)', query: `backup_last_duration_seconds{${BX}} / 60` },
        ],
      }),
    )
    .withPanel(
      tableOfColumns({
        title: 'Restore tests',
        description:
          'Latest restore test per instance: passed, how long ago (alert after 8 days), how long it took.',
        sortBy: 'Last test age (days)',
        desc: true,
        height: 8,
        columns: [
          { name: 'Passed', query: `backup_restore_test_success{${BX}}`, thresholds: OK },
          {
            name: 'Last test age (days)',
            query: `(time() - backup_restore_test_timestamp_seconds{${BX}}) / 86400`,
            thresholds: [
              [null, 'green'],
              [8, 'red'],
            ],
          },
          { name: 'Duration (min)', query: `backup_restore_test_duration_seconds{${BX}} / 60` },
        ],
      }),
    )
    .withRow(row('Trends'))
    .withPanel(
      timeseriesPanel({
        title: 'Backup size trend',
        description: 'Size of the newest backup, per instance and kind.',
        queries: [{ expr: `backup_last_size_bytes{${BX}}`, legend: '{{client}}/{{instance}} {{kind}}' }],
        unit: 'bytes',
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Backup age',
        description: 'Time since the newest good backup, per instance and kind.',
        queries: [
          {
            expr: `time() - backup_last_success_timestamp_seconds{${BX}}`,
            legend: '{{client}}/{{instance}} {{kind}}',
          },
        ],
        unit: 's',
      }),
    );
}
