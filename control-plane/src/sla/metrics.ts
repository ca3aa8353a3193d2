import { Gauge, type Registry } from 'prom-client';
import type { FleetService } from '../fleet/service.ts';
import type { Auth } from '../http/auth.ts';
import { period, type SlaFigures, type SlaService } from './service.ts';

// Bounded: one series per monitored instance, labelled by slugs (never ids of anything unbounded).
const LABELS = ['client', 'instance'] as const;
const SYSTEM: Auth = { tokenId: '00000000-metrics', name: 'metrics', role: 'admin', clientId: null };

/**
 * Month-to-date SLA gauges, computed at scrape time in one query for the whole fleet. The three gauges share
 * one computation per scrape (the first collect starts it, the others within a second reuse it).
 */
export function registerSlaMetrics(registry: Registry, sla: SlaService, fleet: FleetService): void {
  let last: { at: number; result: Promise<{ labels: Record<string, string>; f: SlaFigures }[]> } | undefined;
  const compute = () => {
    if (last && Date.now() - last.at < 1000) return last.result;
    const result = (async () => {
      const [clients, instances] = await Promise.all([
        fleet.listClients(SYSTEM, 'active'),
        fleet.listMonitored(),
      ]);
      const now = new Date();
      const figures = await sla.computeFor(clients, instances, (c) => period({}, c.timeZone, now));
      return instances
        .filter((i) => figures.has(i.id))
        .map((i) => ({ labels: { client: i.client.slug, instance: i.slug }, f: figures.get(i.id)! }));
    })();
    last = { at: Date.now(), result };
    return result;
  };
  const gauge = (name: string, help: string, value: (f: SlaFigures) => number | null) =>
    new Gauge({
      name,
      help,
      labelNames: LABELS,
      registers: [registry],
      async collect() {
        this.reset();
        for (const { labels, f } of await compute()) {
          const v = value(f);
          if (v !== null) this.set(labels, v);
        }
      },
    });
  gauge(
    'concierge_ops_sla_uptime_ratio',
    'Month-to-date SLA uptime (maintenance and unknown time excluded); absent without measured time.',
    (f) => f.uptime,
  );
  gauge('concierge_ops_sla_target_ratio', "The client's monthly SLA uptime target.", (f) => f.target);
  gauge(
    'concierge_ops_sla_error_budget_remaining_seconds',
    'Month-to-date error budget left (negative when overspent), from measured time.',
    (f) => f.errorBudgetRemainingSeconds,
  );
}
