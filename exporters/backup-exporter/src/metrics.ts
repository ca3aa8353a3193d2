import { Counter, Gauge, Registry } from 'prom-client';
import { DEFAULT_POLICY, evaluateRetention } from '@concierge-ops/shared/retention';
import type { RestoreResult } from './restore.ts';
import { metricKind, type BackupRecord } from './sources/types.ts';
import { collectProcessMetrics } from '@concierge-ops/shared/metrics';

export const LABELS = ['client', 'instance', 'kind'] as const;
type Labels = Record<(typeof LABELS)[number], string>;

export interface MetricsSource {
  records(): readonly BackupRecord[];
  /** Latest restore test per `client/instance`. */
  restoreTests(): ReadonlyMap<
    string,
    { client: string; instance: string; tool: string; result: RestoreResult }
  >;
}

interface Group {
  labels: Labels;
  runs: BackupRecord[];
}

/** Records grouped by client, instance and metric kind, each group's runs oldest first. */
function groups(records: readonly BackupRecord[]): Group[] {
  const out = new Map<string, Group>();
  for (const r of records) {
    const labels = { client: r.client, instance: r.instance, kind: metricKind(r) };
    const key = `${labels.client}\u0000${labels.instance}\u0000${labels.kind}`;
    const g = out.get(key) ?? { labels, runs: [] };
    g.runs.push(r);
    out.set(key, g);
  }
  for (const g of out.values()) g.runs.sort((a, b) => Date.parse(a.finishedAt) - Date.parse(b.finishedAt));
  return [...out.values()];
}

// A backup known to be corrupt is no success: it must not hold back BackupStale.
const good = (r: BackupRecord) => r.status === 'success' && r.verified !== false;
const seconds = (iso: string) => Date.parse(iso) / 1000;

/**
 * The exporter's own Registry. Every backup gauge is rebuilt from the latest scan at scrape time, so an
 * instance whose backups disappear from the sources loses its series instead of reporting stale values.
 */
export class ExporterMetrics {
  readonly registry = new Registry();
  readonly reports: Counter<'endpoint' | 'result'>;
  readonly scanErrors: Counter<'source'>;
  readonly restoreTestErrors: Counter;

  constructor(
    source: MetricsSource,
    opts: { timeZone: string; defaultMetrics: boolean; now?: () => number },
  ) {
    const registers = [this.registry];
    const now = opts.now ?? Date.now;
    const perGroup = (name: string, help: string, pick: (g: Group) => number | undefined) =>
      new Gauge({
        name,
        help,
        labelNames: LABELS,
        registers,
        collect() {
          this.reset();
          for (const g of groups(source.records())) {
            const v = pick(g);
            if (v !== undefined) this.set(g.labels, v);
          }
        },
      });
    const newest = (g: Group) => g.runs[g.runs.length - 1]!;
    const newestGood = (g: Group) => g.runs.filter(good).pop();

    perGroup(
      'backup_last_success_timestamp_seconds',
      'When the newest good backup finished, unix seconds.',
      (g) => {
        const r = newestGood(g);
        return r && seconds(r.finishedAt);
      },
    );
    perGroup(
      'backup_last_size_bytes',
      'Size of the newest good backup, in bytes.',
      (g) => newestGood(g)?.sizeBytes,
    );
    perGroup('backup_last_duration_seconds', 'How long the newest backup run took, in seconds.', (g) => {
      const r = newest(g);
      return seconds(r.finishedAt) - seconds(r.startedAt);
    });
    perGroup('backup_last_run_success', 'Whether the newest backup run succeeded (1) or failed (0).', (g) =>
      newest(g).status === 'success' ? 1 : 0,
    );
    perGroup(
      'backup_verify_success',
      'Whether the newest backup passed its checksum check (1) or not (0).',
      (g) => {
        const v = newest(g).verified;
        return v === null ? undefined : v ? 1 : 0;
      },
    );
    perGroup(
      'backup_retention_compliant',
      'Whether every daily, weekly and monthly retention slot holds a good full backup (default policy).',
      (g) => {
        const times = g.runs.filter((r) => good(r) && r.kind === 'full').map((r) => Date.parse(r.finishedAt));
        const first = Date.parse(g.runs[0]!.startedAt);
        return evaluateRetention(times, DEFAULT_POLICY, opts.timeZone, now(), first).compliant ? 1 : 0;
      },
    );
    const perTest = (name: string, help: string, pick: (r: RestoreResult) => number) =>
      new Gauge({
        name,
        help,
        // tool: pg_dump, restic or pgbackrest, what the tested backup was read with (one test per tool).
        labelNames: [...LABELS, 'tool'],
        registers,
        collect() {
          this.reset();
          for (const t of source.restoreTests().values())
            this.set(
              { client: t.client, instance: t.instance, kind: 'database', tool: t.tool },
              pick(t.result),
            );
        },
      });
    perTest('backup_restore_test_success', 'Whether the latest restore test passed (1) or not (0).', (r) =>
      r.success ? 1 : 0,
    );
    perTest(
      'backup_restore_test_timestamp_seconds',
      'When the latest restore test finished, unix seconds.',
      (r) => seconds(r.finishedAt),
    );
    perTest(
      'backup_restore_test_duration_seconds',
      'How long the latest restore test took, in seconds.',
      (r) => r.durationSeconds,
    );

    this.reports = new Counter({
      name: 'backup_exporter_reports_total',
      help: 'Reports sent to the control plane, by endpoint and result.',
      labelNames: ['endpoint', 'result'] as const,
      registers,
    });
    this.scanErrors = new Counter({
      name: 'backup_exporter_scan_errors_total',
      help: 'Sources that could not be read or parsed, by source.',
      labelNames: ['source'] as const,
      registers,
    });
    this.restoreTestErrors = new Counter({
      name: 'backup_exporter_restore_test_errors_total',
      help: 'Restore tests that could not run (not failed: nothing was learnt about the backup).',
      registers,
    });
    if (opts.defaultMetrics) {
      collectProcessMetrics(this.registry);
    }
  }
}
