import type { Registry } from 'prom-client';
import { registerScrapeGauges } from '../metrics/scrape-gauges.ts';
import type { HeartbeatService } from './service.ts';
import type { DbHeartbeat } from './store.ts';

// Bounded: one series per heartbeat of an active instance; names are slugs the staff chose.
const LABELS = ['client', 'instance', 'heartbeat', 'severity'] as const;

interface Row {
  labels: Record<string, string>;
  h: DbHeartbeat;
}

/** Heartbeat state at scrape time, by the database's clock: HeartbeatMissing alerts on it. */
export function registerHeartbeatMetrics(registry: Registry, heartbeats: HeartbeatService): void {
  const rows = async (): Promise<Row[]> =>
    (await heartbeats.listActive()).map((h) => ({
      labels: { client: h.client_slug, instance: h.instance_slug, heartbeat: h.name, severity: h.severity },
      h,
    }));
  registerScrapeGauges(registry, LABELS, rows, [
    {
      name: 'concierge_ops_heartbeat_up',
      help: 'Whether the job reported in within its interval and grace, and not as failed (a new one waiting counts as up).',
      value: (r) => (r.h.state === 'up' || r.h.state === 'waiting' ? 1 : 0),
    },
    {
      name: 'concierge_ops_heartbeat_last_push_timestamp_seconds',
      help: 'When the job last reported in; absent before its first push.',
      value: (r) => (r.h.last_push_at ? r.h.last_push_at.getTime() / 1000 : null),
    },
  ]);
}
