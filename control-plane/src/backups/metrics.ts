import type { Registry } from 'prom-client';
import type { FleetService } from '../fleet/service.ts';
import type { Auth } from '../http/auth.ts';
import { registerScrapeGauges } from '../metrics/scrape-gauges.ts';
import type { BackupService } from './service.ts';

// Bounded: one series per active instance, labelled by slugs.
const LABELS = ['client', 'instance'] as const;
const SYSTEM: Auth = { tokenId: '00000000-metrics', name: 'metrics', role: 'admin', clientId: null };

type Row = {
  labels: Record<string, string>;
  compliant: number;
  retention: number;
  pitrGap: number | null;
  age: number | null;
  restoreOk: number | null;
};

/**
 * The control plane's own view of backups (each client's zone and policy, unlike the exporter's default one),
 * computed at scrape time. Returns `backups` for wiring.
 */
export function registerBackupMetrics(
  registry: Registry,
  backups: BackupService,
  fleet: FleetService,
): BackupService {
  const rows = async () => {
    const out: Row[] = [];
    for (const c of await fleet.listClients(SYSTEM, 'active')) {
      const s = await backups.clientStatus(SYSTEM, c.id);
      const evaluatedAt = Date.parse(s.evaluatedAt);
      for (const i of s.instances)
        out.push({
          labels: { client: c.slug, instance: i.instance.slug },
          compliant: i.compliant ? 1 : 0,
          retention: i.retention.compliant ? 1 : 0,
          pitrGap: i.pitr ? gapSeconds(i.pitr.gaps, evaluatedAt - s.policy.keepDaily * 86_400_000) : null,
          age: i.newestSuccess?.ageSeconds ?? null,
          restoreOk: i.lastRestoreTest ? (i.lastRestoreTest.success ? 1 : 0) : null,
        });
    }
    return out;
  };
  registerScrapeGauges(registry, LABELS, rows, [
    {
      name: 'concierge_ops_backup_compliant',
      help: "Whether the instance meets its client's backup promise: fresh, verified, restore-tested, every slot held.",
      value: (r) => r.compliant,
    },
    {
      name: 'concierge_ops_backup_retention_compliant',
      help: "Whether every daily, weekly and monthly slot of the client's retention policy (in its time zone) holds a good full backup.",
      value: (r) => r.retention,
    },
    {
      name: 'concierge_ops_backup_pitr_gap_seconds',
      help: "Seconds of WAL missing from the point-in-time-recovery window within the client's daily retention; absent without WAL.",
      value: (r) => r.pitrGap,
    },
    {
      name: 'concierge_ops_backup_last_success_age_seconds',
      help: 'Age of the newest successful backup; absent without one.',
      value: (r) => r.age,
    },
    {
      name: 'concierge_ops_backup_restore_test_success',
      help: 'Whether the latest restore test passed; absent without one.',
      value: (r) => r.restoreOk,
    },
  ]);
  return backups;
}

/** Seconds of the gaps that fall after `sinceMs`: moments a restore could be asked for and cannot reach. */
export function gapSeconds(gaps: readonly { from: string; to: string }[], sinceMs: number): number {
  let total = 0;
  for (const g of gaps) total += Math.max(0, Date.parse(g.to) - Math.max(Date.parse(g.from), sinceMs));
  return Math.round(total / 1000);
}
