/**
 * bench/sla: every SLA of a 1,000-instance fleet for one month (~20,000 transitions, maintenance windows, a
 * coverage gap), computed the way /metrics and the client endpoints do (one multirange query), beside a
 * trivial baseline on the same data (a count of the intervals), in a throwaway embedded PostgreSQL.
 * Last line: `bench sla: instances=.. transitions=.. seconds=.. baseline_seconds=.. ratio=..`. Target < 1 s.
 */
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import pg from 'pg';
import { pino } from 'pino';
import { AuditService } from '../control-plane/src/audit/service.ts';
import { AvailabilityService } from '../control-plane/src/availability/service.ts';
import type { TransitionInput } from '../control-plane/src/availability/types.ts';
import { startEmbeddedPostgres } from '@concierge-ops/embedded-postgres';
import { migrate } from '../control-plane/src/db/migrate.ts';
import { FleetService } from '../control-plane/src/fleet/service.ts';
import type { Auth } from '../control-plane/src/http/auth.ts';
import { MaintenanceService } from '../control-plane/src/maintenance/service.ts';
import { SlaService, period } from '../control-plane/src/sla/service.ts';
import { reachableTempDir } from '../test/helpers/process.ts';

const INSTANCES = 1000;
const CLIENTS = 100;
const OUTAGES_PER_INSTANCE = 11; // slices of the month; about a third hold an outage per service
const MONTH = '2026-03';
const ZONE = 'America/New_York';
const log = pino({ level: 'silent' });
const admin: Auth = { tokenId: '00000000-bench', name: 'bench', role: 'admin', clientId: null };

const dir = await reachableTempDir('bench-sla-');
const db = await startEmbeddedPostgres(dir, log);
try {
  await migrate(db.url);
  const pool = new pg.Pool({ connectionString: db.url, max: 4 });
  const audit = new AuditService(pool);
  const fleet = new FleetService(pool, audit);
  const maintenance = new MaintenanceService(pool, audit, fleet);
  const availability = new AvailabilityService(pool, audit, fleet, 120);
  const sla = new SlaService(pool, fleet, maintenance, [{ below: 'target', percent: 10 }]);

  // The fleet, in bulk: the registry's own API would only make the setup slower, not the measurement truer.
  await pool.query(
    `insert into clients (slug, name, time_zone) select 'c' || g, 'Client ' || g, $1 from generate_series(1, $2) g`,
    [ZONE, CLIENTS],
  );
  await pool.query(
    `insert into instances (client_id, slug, environment, base_url, monitored_since)
     select c.id, c.slug || '-i' || g, 'prod', 'https://x.test', '2026-01-01'
     from clients c, generate_series(1, $1) g`,
    [INSTANCES / CLIENTS],
  );
  await pool.query(
    `insert into services (instance_id, name, kind, probe, position)
     select i.id, s.name, s.name, '{"type":"tcp","host":"h","port":1}', s.pos
     from instances i, (values ('backend', 0), ('proxy', 1), ('database', 2)) as s(name, pos)`,
  );
  const instances = (await pool.query<{ id: string }>('select id from instances')).rows.map((r) => r.id);
  const monthStart = Date.parse('2026-03-01T05:00:00Z');
  const monthMs = 30 * 86_400_000;
  const transitions: TransitionInput[] = [];
  for (const instanceId of instances) {
    for (const service of ['backend', 'proxy', 'database']) {
      // Outages of one series never overlap: each lives in its own slice of the month.
      const slice = monthMs / OUTAGES_PER_INSTANCE;
      for (let k = 0; k < OUTAGES_PER_INSTANCE; k++) {
        if ((k + service.length) % 3 !== 0) continue; // about a third of slices per service
        const start = monthStart + k * slice + Math.floor(Math.random() * (slice / 2));
        const len = 60_000 + Math.floor(Math.random() * 3 * 3600_000);
        const state = Math.random() < 0.8 ? 'down' : 'degraded';
        const at = (ms: number) => new Date(ms).toISOString();
        transitions.push({
          id: crypto.randomUUID(),
          instanceId,
          service,
          state,
          at: at(start),
          reason: 'bench',
        });
        transitions.push({
          id: crypto.randomUUID(),
          instanceId,
          service,
          state: 'up',
          at: at(start + len),
          reason: '',
        });
      }
    }
  }
  // Through the prober's path, in requests of 1,000, as the prober would send them.
  for (let i = 0; i < transitions.length; i += 1000)
    await availability.applyTransitions({ prober: 'bench', transitions: transitions.slice(i, i + 1000) });
  await pool.query(
    `insert into prober_coverage (prober, during) values
       ('bench', '[2026-02-20T00:00Z, 2026-03-12T00:00Z)'), ('bench', '[2026-03-12T00:20Z, 2026-04-10T00:00Z)')`,
  );
  for (const c of (await pool.query<{ slug: string }>('select slug from clients')).rows)
    await maintenance.create(admin, 'bench', {
      client: c.slug,
      start: '2026-01-01T00:00:00Z',
      reason: 'weekly patching',
      recurrence: { freq: 'weekly', byDay: ['SU'], startTime: '02:00', durationMinutes: 60 },
    });
  await pool.query('vacuum analyze');

  const clients = await fleet.listClients(admin, 'all');
  const all = await fleet.listInstances(admin, { status: 'all' });
  const run = async () => {
    const t0 = performance.now();
    const figures = await sla.computeFor(clients, all, (c) => period({ month: MONTH }, c.timeZone));
    return { seconds: (performance.now() - t0) / 1000, figures };
  };
  const baseline = async () => {
    const t0 = performance.now();
    await pool.query('select count(*) from availability_intervals');
    return (performance.now() - t0) / 1000;
  };
  await run(); // warm-up: plans, caches
  await baseline();
  const times: number[] = [];
  const bases: number[] = [];
  let measured = 0;
  for (let i = 0; i < 5; i++) {
    const r = await run();
    times.push(r.seconds);
    bases.push(await baseline());
    measured = r.figures.size;
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const seconds = median(times);
  const baselineSeconds = median(bases);
  const intervals = (await pool.query<{ n: number }>('select count(*)::int as n from availability_intervals'))
    .rows[0]!.n;
  console.log(`intervals=${intervals} slas=${measured} runs=${times.map((t) => t.toFixed(3)).join(',')}`);
  await pool.end();
  console.log(
    `bench sla: instances=${instances.length} transitions=${transitions.length} seconds=${seconds.toFixed(3)} ` +
      `baseline_seconds=${baselineSeconds.toFixed(4)} ratio=${(seconds / baselineSeconds).toFixed(1)}`,
  );
} finally {
  await db.stop();
  await fs.rm(dir, { recursive: true, force: true });
}
