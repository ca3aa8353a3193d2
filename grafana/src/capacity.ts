// Capacity: each instance's resource usage trend and days until each resource runs out, from the recording
// rules of prometheus/rules/capacity.yml (node_exporter and postgres_exporter series, job="node"/"postgres").
import type { DashboardBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import {
  SEL,
  baseDashboard,
  labelVariable,
  row,
  statPanel,
  tableOfColumns,
  timeseriesPanel,
} from './common.ts';

const USED = 'instance:capacity_used:ratio';
const DAYS = 'instance:capacity_days_until_full:days';
const DB_SIZE = 'instance:capacity_database_size:bytes';
const DB_GROWTH = 'instance:capacity_database_growth:bytes_per_day';
/** Red under a week (time to order a disk), amber under a month. */
const DAYS_STEPS: [number | null, string][] = [
  [null, 'red'],
  [7, 'orange'],
  [30, 'green'],
];
const USED_STEPS: [number | null, string][] = [
  [null, 'green'],
  [80, 'orange'],
  [90, 'red'],
];
const LEGEND = '{{resource}} {{mountpoint}}';

export function capacity(): DashboardBuilder {
  return baseDashboard(
    'concierge-capacity',
    'Concierge capacity',
    "Each client instance's CPU, memory, file systems, PostgreSQL connections and database size: usage now, " +
      'its trend, and days until each resource runs out at its 7-day trend (365 means a year or more).',
  )
    .time({ from: 'now-7d', to: 'now' })
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
    .withRow(row('Fleet'))
    .withPanel(
      tableOfColumns({
        title: 'Every instance, soonest to run out first',
        description:
          'Per client instance: the fewest days until any of its resources is full, and its fullest resource now.',
        sortBy: 'Days until first full',
        columns: [
          {
            name: 'Days until first full',
            query: `min by (cluster, client, instance) (${DAYS})`,
            thresholds: DAYS_STEPS,
          },
          {
            name: 'Fullest resource now (%)',
            query: `max by (cluster, client, instance) (${USED}) * 100`,
            thresholds: USED_STEPS,
          },
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Fullest resource per instance',
        description: 'Per client instance, the usage of whichever of its resources is fullest.',
        queries: [
          { expr: `max by (cluster, client, instance) (${USED})`, legend: '{{client}}/{{instance}}' },
        ],
        unit: 'percentunit',
        min: 0,
        max: 1,
        width: 24,
      }),
    )
    .withRow(row('Instance $instance'))
    .withPanel(
      statPanel({
        title: 'Days until the first resource is full',
        description: "The fewest days until any of this instance's resources runs out at its 7-day trend.",
        queries: [{ expr: `min(${DAYS}{${SEL}})` }],
        thresholds: DAYS_STEPS,
        decimals: 1,
      }),
    )
    .withPanel(
      statPanel({
        title: 'Fullest resource now',
        description: "The usage of this instance's fullest resource.",
        queries: [{ expr: `max(${USED}{${SEL}})` }],
        unit: 'percentunit',
        thresholds: [
          [null, 'green'],
          [0.8, 'orange'],
          [0.9, 'red'],
        ],
        decimals: 1,
      }),
    )
    .withPanel(
      statPanel({
        title: 'Database size',
        description: 'All PostgreSQL databases of this instance together.',
        queries: [{ expr: `sum(${DB_SIZE}{${SEL}})` }],
        unit: 'bytes',
      }),
    )
    .withPanel(
      statPanel({
        title: 'Database growth per day',
        description: 'How much the databases grow a day, at their 7-day trend (negative: shrinking).',
        queries: [{ expr: `sum(${DB_GROWTH}{${SEL}})` }],
        unit: 'bytes',
      }),
    )
    .withPanel(
      tableOfColumns({
        title: 'Resources of $instance',
        description:
          'Each resource: usage now, its peak over the last 7 days, and days until full at its 7-day trend.',
        sortBy: 'Days until full',
        height: 8,
        columns: [
          { name: 'Used now (%)', query: `${USED}{${SEL}} * 100`, thresholds: USED_STEPS },
          { name: 'Peak in 7 days (%)', query: `max_over_time(${USED}{${SEL}}[7d]) * 100` },
          { name: 'Days until full', query: `${DAYS}{${SEL}}`, thresholds: DAYS_STEPS },
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Usage trend',
        description: 'Each resource of this instance: 0 is idle or empty, 100 % is full.',
        queries: [{ expr: `${USED}{${SEL}}`, legend: LEGEND }],
        unit: 'percentunit',
        min: 0,
        max: 1,
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Days until full',
        description: 'Days until each resource runs out at its 7-day trend, at most 365 (a year or more).',
        queries: [{ expr: `${DAYS}{${SEL}}`, legend: LEGEND }],
        unit: 'd',
        min: 0,
        thresholds: DAYS_STEPS,
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Database size trend',
        description: 'Size of each PostgreSQL database of this instance.',
        queries: [{ expr: `${DB_SIZE}{${SEL}}`, legend: '{{datname}}' }],
        unit: 'bytes',
        width: 24,
      }),
    );
}
