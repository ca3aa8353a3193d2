import { Gauge, type Registry } from 'prom-client';
import type { FleetService } from '../fleet/service.ts';
import type { Auth } from '../http/auth.ts';
import type { BackupService } from './service.ts';

// Bounded: one series per active instance, labelled by slugs.
const LABELS = ['client', 'instance'] as const;
const SYSTEM: Auth = { tokenId: '00000000-metrics', name: 'metrics', role: 'admin', clientId: null };

type Row = {
  labels: Record<string, string>;
  compliant: number;
  age: number | null;
  restoreOk: number | null;
};

/**
 * The control plane's own view of backups (each client's zone and policy, unlike the exporter's default one),
 * computed at scrape time; the gauges share one computation per scrape. Returns `backups` for wiring.
 */
export function registerBackupMetrics(
  registry: Registry,
  backups: BackupService,
  fleet: FleetService,
): BackupService {
  let last: { at: number; result: Promise<Row[]> } | undefined;
  const compute = () => {
    if (last && Date.now() - last.at < 1000) return last.result;
    const result = (async () => {
      const rows: Row[] = [];
      for (const c of await fleet.listClients(SYSTEM, 'active')) {
        const s = await backups.clientStatus(SYSTEM, c.id);
        for (const i of s.instances)
          rows.push({
            labels: { client: c.slug, instance: i.instance.slug },
            compliant: i.compliant ? 1 : 0,
            age: i.newestSuccess?.ageSeconds ?? null,
            restoreOk: i.lastRestoreTest ? (i.lastRestoreTest.success ? 1 : 0) : null,
          });
      }
      return rows;
    })();
    last = { at: Date.now(), result };
    return result;
  };
  const gauge = (name: string, help: string, value: (r: Row) => number | null) =>
    new Gauge({
      name,
      help,
      labelNames: LABELS,
      registers: [registry],
      async collect() {
        this.reset();
        // A failed evaluation (database away) leaves these series absent rather than failing the whole scrape.
        const rows = await compute().catch(() => [] as Row[]);
        for (const r of rows) {
          const v = value(r);
          if (v !== null) this.set(r.labels, v);
        }
      },
    });
  gauge(
    'concierge_ops_backup_compliant',
    "Whether the instance meets its client's backup promise: fresh, verified, restore-tested, every slot held.",
    (r) => r.compliant,
  );
  gauge(
    'concierge_ops_backup_last_success_age_seconds',
    'Age of the newest successful backup; absent without one.',
    (r) => r.age,
  );
  gauge(
    'concierge_ops_backup_restore_test_success',
    'Whether the latest restore test passed; absent without one.',
    (r) => r.restoreOk,
  );
  return backups;
}
