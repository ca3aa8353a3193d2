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
      for (const i of s.instances)
        out.push({
          labels: { client: c.slug, instance: i.instance.slug },
          compliant: i.compliant ? 1 : 0,
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
