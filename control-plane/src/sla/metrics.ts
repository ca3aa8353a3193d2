import type { Registry } from 'prom-client';
import type { FleetService } from '../fleet/service.ts';
import type { Auth } from '../http/auth.ts';
import { registerScrapeGauges } from '../metrics/scrape-gauges.ts';
import { period, type SlaFigures, type SlaService } from './service.ts';

// Bounded: one series per monitored instance, labelled by slugs (never ids of anything unbounded).
const LABELS = ['client', 'instance'] as const;
const SYSTEM: Auth = { tokenId: '00000000-metrics', name: 'metrics', role: 'admin', clientId: null };

/** Month-to-date SLA gauges, computed at scrape time in one query for the whole fleet. */
export function registerSlaMetrics(registry: Registry, sla: SlaService, fleet: FleetService): void {
  const rows = async () => {
    const [clients, instances] = await Promise.all([
      fleet.listClients(SYSTEM, 'active'),
      fleet.listMonitored(),
    ]);
    const now = new Date();
    const figures = await sla.computeFor(clients, instances, (c) => period({}, c.timeZone, now));
    return instances
      .filter((i) => figures.has(i.id))
      .map((i) => ({ labels: { client: i.client.slug, instance: i.slug }, f: figures.get(i.id)! }));
  };
  registerScrapeGauges<{ labels: Record<string, string>; f: SlaFigures }>(registry, LABELS, rows, [
    {
      name: 'concierge_ops_sla_uptime_ratio',
      help: 'Month-to-date SLA uptime (maintenance and unknown time excluded); absent without measured time.',
      value: ({ f }) => f.uptime,
    },
    {
      name: 'concierge_ops_sla_target_ratio',
      help: "The client's monthly SLA uptime target.",
      value: ({ f }) => f.target,
    },
    {
      name: 'concierge_ops_sla_error_budget_remaining_seconds',
      help: 'Month-to-date error budget left (negative when overspent), from measured time; absent without it.',
      // No measured time is no budget known, not none left: a 0 would read as "budget exhausted" on dashboards.
      value: ({ f }) => (f.noData ? null : f.errorBudgetRemainingSeconds),
    },
  ]);
}
