/**
 * bench/reports: the whole month's client reports for a 200-client fleet (JSON composed from the database,
 * then HTML and PDF rendered), timed with the peak resident memory, beside the time to compute the same
 * SLAs alone (SlaService.computeFor per client, as the report does), in a throwaway embedded PostgreSQL.
 * Last line: `bench reports: clients=.. seconds=.. sla_only_seconds=.. ratio=.. peak_mib=..`. Target < 60 s.
 */
import fs from 'node:fs/promises';
import pg from 'pg';
import { pino } from 'pino';
import { loadConfig } from '../control-plane/src/config.ts';
import { createContext } from '../control-plane/src/context.ts';
import { startEmbeddedPostgres } from '@concierge-ops/embedded-postgres';
import { migrate } from '../control-plane/src/db/migrate.ts';
import type { Auth } from '../control-plane/src/http/auth.ts';
import { composeReport } from '../control-plane/src/reports/compose.ts';
import { render } from '../control-plane/src/reports/service.ts';
import { period } from '../control-plane/src/sla/service.ts';
import { reachableTempDir } from '../test/helpers/process.ts';

const CLIENTS = 200;
const PER_CLIENT = 2;
const MONTH = '2026-10';
const ZONES = ['Europe/London', 'America/New_York', 'Europe/Berlin', 'America/Los_Angeles'];
const CONCURRENCY = 4;
const log = pino({ level: 'silent' });
const admin: Auth = { tokenId: '00000000-bench', name: 'bench', role: 'admin', clientId: null };

const dir = await reachableTempDir('bench-reports-');
const db = await startEmbeddedPostgres(dir, log);
try {
  await migrate(db.url);
  const pool = new pg.Pool({ connectionString: db.url, max: 8 });
  const ctx = createContext(loadConfig({ DATABASE_URL: db.url, LOG_LEVEL: 'silent' }), log, pool);

  // The fleet and its month, in bulk SQL: the measurement is of the reports, not of the setup.
  await pool.query(
    `insert into clients (slug, name, time_zone, report_contacts)
     select 'c' || g, 'Client ' || g, ($2::text[])[1 + g % 4], array['it@c' || g || '.test']
     from generate_series(1, $1) g`,
    [CLIENTS, ZONES],
  );
  await pool.query(
    `insert into instances (client_id, slug, environment, base_url, created_at, monitored_since)
     select c.id, c.slug || '-i' || g, 'prod', 'https://x.test', '2026-01-01', '2026-01-01'
     from clients c, generate_series(1, $1) g`,
    [PER_CLIENT],
  );
  await pool.query(
    `insert into services (instance_id, name, kind, probe, position)
     select i.id, s.name, s.name, '{"type":"tcp","host":"h","port":1}', s.pos
     from instances i, (values ('backend', 0), ('proxy', 1), ('database', 2)) as s(name, pos)`,
  );
  // Six outages per instance and service spread over October (some across the DST change on the 25th).
  await pool.query(
    `insert into availability_intervals (instance_id, service, state, during, source)
     select i.id, s.name, case when k % 5 = 0 then 'degraded' else 'down' end,
       tstzrange(t, t + make_interval(mins => 5 + (k * 37 + length(i.slug)) % 180), '[)'), 'prober'
     from instances i, (values ('backend'), ('proxy'), ('database')) as s(name), generate_series(0, 5) k,
       lateral (select timestamptz '2026-09-30T20:00Z' + make_interval(days => k * 5 + length(s.name) % 3,
                                                                      hours => (k * 7) % 24) as t) x`,
  );
  await pool.query(
    `insert into prober_coverage (prober, during) values ('bench', '[2026-09-01T00:00Z, 2026-11-10T00:00Z)')`,
  );
  await pool.query(
    `insert into maintenance_windows (client_id, starts_at, ends_at, reason, created_by)
     select id, '2026-10-14T22:00Z', '2026-10-15T00:00Z', 'database upgrade', 'bench' from clients`,
  );
  await pool.query(
    `insert into incidents (client_id, instance, service, severity, status, source, title, public_summary,
       opened_at, acknowledged_at, acknowledged_by, resolved_at, resolved_by)
     select i.client_id, i.slug, 'backend', (array['critical', 'warning', 'info'])[1 + k % 3], 'resolved', 'manual',
       'bench', 'The assistant was briefly unavailable.', lower(a.during) + interval '1 minute',
       lower(a.during) + interval '4 minutes', 'oncall', upper(a.during), 'oncall'
     from instances i join availability_intervals a on a.instance_id = i.id and a.service = 'backend',
       generate_series(0, 0) k`,
  );
  await pool.query(
    `insert into backup_runs (instance_id, run_id, tool, kind, started_at, finished_at, status, size_bytes, verified,
       report, reported_by)
     select i.id, 'full-' || d, 'pg_dump', 'full', t, t + interval '10 minutes',
       case when d = 17 and i.slug like '%-i1' then 'failed' else 'success' end, 1000, true, '{}', 'bench'
     from instances i, generate_series(1, 31) d,
       lateral (select timestamptz '2026-10-01T01:30Z' + make_interval(days => d - 1) as t) x`,
  );
  await pool.query(
    `update backup_runs set error = 'disk full', size_bytes = null, verified = null where status = 'failed'`,
  );
  await pool.query(
    `insert into backup_restore_tests (instance_id, test_id, started_at, finished_at, success, duration_seconds,
       report, reported_by)
     select id, 'rt', '2026-10-20T03:00Z', '2026-10-20T03:10Z', true, 600, '{}', 'bench' from instances`,
  );
  await pool.query('vacuum analyze');

  const clients = await ctx.fleet.listClients(admin, 'all');
  const instances = await ctx.fleet.listInstances(admin, { status: 'all' });
  const byClient = new Map(clients.map((c) => [c.id, instances.filter((i) => i.client.id === c.id)]));
  const now = new Date('2026-11-02T00:00:00Z');

  const slaOnly = async () => {
    const t0 = performance.now();
    for (const c of clients)
      await ctx.sla.computeFor([c], byClient.get(c.id)!, () => period({ month: MONTH }, c.timeZone, now));
    return (performance.now() - t0) / 1000;
  };
  const deps = {
    fleet: ctx.fleet,
    sla: ctx.sla,
    maintenance: ctx.maintenance,
    incidents: ctx.paging.incidents,
    backups: ctx.backups,
    performance: { forClient: async () => ({ available: false as const, reason: 'bench' }) },
    capacity: { forClient: async () => ({ available: false as const, reason: 'bench' }) },
    tiers: ctx.config.slaCreditTiers,
    minMeasuredShare: ctx.config.slaMinMeasuredShare,
  };
  let bytes = 0;
  let pages = 0;
  const reports = async () => {
    const t0 = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < clients.length) {
          const c = clients[next++]!;
          const r = await render(await composeReport(deps, c, MONTH, now, byClient.get(c.id)));
          bytes += r.pdf.length + r.html.length;
          pages += (r.pdf.toString('latin1').match(/\/Type \/Page\b/g) ?? []).length;
        }
      }),
    );
    return (performance.now() - t0) / 1000;
  };

  await slaOnly(); // warm-up: plans, caches
  const slaSeconds = await slaOnly();
  global.gc?.();
  let peak = process.memoryUsage().rss;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  const seconds = await reports();
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage().rss);
  const intervals = (await pool.query<{ n: number }>('select count(*)::int as n from availability_intervals'))
    .rows[0]!.n;
  console.log(
    `instances=${instances.length} intervals=${intervals} pdf_pages=${pages} output_mib=${(bytes / 2 ** 20).toFixed(1)} ` +
      `per_report_ms=${((seconds * 1000) / clients.length).toFixed(0)}`,
  );
  await pool.end();
  console.log(
    `bench reports: clients=${clients.length} seconds=${seconds.toFixed(2)} sla_only_seconds=${slaSeconds.toFixed(3)} ` +
      `ratio=${(seconds / slaSeconds).toFixed(1)} peak_mib=${(peak / 2 ** 20).toFixed(0)}`,
  );
} finally {
  await db.stop();
  await fs.rm(dir, { recursive: true, force: true });
}
