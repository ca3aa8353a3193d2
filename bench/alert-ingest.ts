/**
 * bench/alert-ingest: sustained Alertmanager webhooks (1 to 50 alerts each, new groups and repeats of
 * earlier ones) posted over HTTP to an in-process control plane on a throwaway embedded PostgreSQL, beside
 * the raw single-row-insert rate of the same database measured in the same run with the same concurrency.
 * Last line: `bench alert-ingest: alerts_per_s=.. raw_inserts_per_s=.. ratio=.. p50_ms=.. p99_ms=..
 * node_cpu_ms_per_alert=.. pg_cpu_ms_per_alert=.. cpu_ms_per_alert=.. custom_plans_per_delivery=..`
 * (BENCH_PLANS=1 lists the plans per statement).
 * Targets: ratio >= 0.25 and >= 2,000 alerts/s.
 * The CPU figures are the CPU seconds spent per alert during the ingest phase by this process (the control plane
 * and the load generator, which share it) and by the PostgreSQL server (postmaster and every backend and helper
 * process): on a machine shared with other work they move far less than alerts/s, which follows the CPU left over.
 */
import crypto from 'node:crypto';
import type { AddressInfo } from 'node:net';
import fs from 'node:fs/promises';
import path from 'node:path';
import { pino } from 'pino';
import { createApp } from '../control-plane/src/app.ts';
import { loadConfig } from '../control-plane/src/config.ts';
import { createContext } from '../control-plane/src/context.ts';
import { startEmbeddedPostgres } from '@concierge-ops/embedded-postgres';
import { migrate } from '../control-plane/src/db/migrate.ts';
import { createPool } from '../control-plane/src/db/pool.ts';
import { alertPayload } from '../test/helpers/alerts.ts';
import { reachableTempDir } from '../test/helpers/process.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const log = pino({ level: 'silent' });

const pct = (xs: number[], p: number) =>
  xs.sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;

async function loop(fn: () => Promise<number>): Promise<{ units: number; seconds: number; lat: number[] }> {
  const end = Date.now() + SECONDS * 1000;
  const lat: number[] = [];
  let units = 0;
  const started = Date.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (Date.now() < end) {
        const t = performance.now();
        const n = await fn();
        units += n;
        lat.push(performance.now() - t);
      }
    }),
  );
  return { units, seconds: (Date.now() - started) / 1000, lat };
}

/** CPU ticks (1/100 s) of the PostgreSQL server: the postmaster, its reaped children, and its live children. */
async function serverTicks(pgdata: string): Promise<number> {
  const postmaster = (await fs.readFile(path.join(pgdata, 'postmaster.pid'), 'utf8')).split('\n')[0];
  let ticks = 0;
  for (const pid of await fs.readdir('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    // Fields after the command (which may hold spaces): state, ppid, ... utime (14), stime, cutime, cstime.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (pid === postmaster) ticks += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
    else if (f[1] === postmaster) ticks += Number(f[11]) + Number(f[12]);
  }
  return ticks;
}

const dir = await reachableTempDir('bench-ingest-');
const db = await startEmbeddedPostgres(dir, log);
// Ended before the database stops, in every case; its 'error' handler keeps a connection that the stopping
// server terminates (57P01) from crashing the bench.
let pool: ReturnType<typeof createPool> | undefined;
try {
  await migrate(db.url);
  const config = loadConfig({ DATABASE_URL: db.url, LOG_LEVEL: 'silent', PORT: '0' });
  const benchPool = createPool(db.url, log, CONCURRENCY + 4);
  pool = benchPool;
  const ctx = createContext(config, log, benchPool);
  await ctx.paging.workers.migrate();
  // The client, instance and service the alerts name (alertPayload's), as in production.
  await benchPool.query(
    `with c as (insert into clients (slug, name, time_zone) values ('smile-dental', 'Smile', 'UTC') returning id),
     i as (insert into instances (client_id, slug, environment, base_url)
       select id, 'smile-prod', 'prod', 'https://smile-prod.example.test' from c returning id)
     insert into services (instance_id, name, kind, probe, position)
     select id, 'backend', 'backend', '{"type": "tcp", "host": "127.0.0.1", "port": 1}', 0 from i`,
  );
  const token = (await ctx.tokens.bootstrap(undefined))!.token;
  const server = createApp(ctx).listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/alertmanager/webhook`;

  // Baseline: the same database's autocommit single-row insert rate, at the same concurrency.
  await pool.query('create table bench_raw (id bigserial primary key, body jsonb not null)');
  const one = JSON.stringify(alertPayload().alerts[0]);
  const raw = await loop(async () => {
    await benchPool.query('insert into bench_raw (body) values ($1)', [one]);
    return 1;
  });

  // Half the deliveries repeat a group already sent (Alertmanager's group_interval and HA duplicates).
  const sent: object[] = [];
  let g = 0;
  const pg0 = await serverTicks(db.dataDir);
  const node0 = process.cpuUsage();
  const ingest = await loop(async () => {
    let body: { alerts: unknown[] };
    if (sent.length > 0 && Math.random() < 0.5) body = sent[Math.floor(Math.random() * sent.length)] as never;
    else {
      const n = 1 + Math.floor(Math.random() * 50);
      body = alertPayload({
        groupKey: `bench-${g++}`,
        severity: 'warning',
        fingerprints: Array.from({ length: n }, () => crypto.randomBytes(8).toString('hex')),
      });
      sent.push(body);
    }
    const res = await fetch(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (res.status !== 200) throw new Error(`webhook answered ${res.status}: ${await res.text()}`);
    await res.arrayBuffer();
    return body.alerts.length;
  });
  const node = process.cpuUsage(node0);
  const pgMs = ((await serverTicks(db.dataDir)) - pg0) * 10;
  // How often PostgreSQL planned the webhook's named statements afresh (custom plans) rather than reusing one
  // generic plan, after the first five on each connection: planning the webhook's first statement once cost
  // several times running it (docs/benchmarks.md).
  const clients = await Promise.all(Array.from({ length: CONCURRENCY }, () => benchPool.connect()));
  const plans = new Map<string, { generic: number; custom: number }>();
  for (const c of clients) {
    const r = await c.query<{ name: string; generic_plans: string; custom_plans: string }>(
      'select name, generic_plans, custom_plans from pg_prepared_statements',
    );
    for (const x of r.rows) {
      const p = plans.get(x.name) ?? { generic: 0, custom: 0 };
      p.generic += Number(x.generic_plans);
      // PostgreSQL plans the first five executions of a statement on each connection afresh in any case.
      p.custom += Math.max(0, Number(x.custom_plans) - 5);
      plans.set(x.name, p);
    }
  }
  clients.forEach((c) => c.release());
  if (process.env.BENCH_PLANS)
    for (const [name, p] of [...plans].sort((a, b) => b[1].custom - a[1].custom))
      console.log(`plans ${name}: generic=${p.generic} custom=${p.custom}`);
  const customPlans = [...plans.values()].reduce((n, p) => n + p.custom, 0);
  server.closeAllConnections();
  server.close();
  await pool.end();
  pool = undefined;

  const alertsPerS = ingest.units / ingest.seconds;
  const rawPerS = raw.units / raw.seconds;
  const nodeMsPerAlert = (node.user + node.system) / 1000 / ingest.units;
  const pgMsPerAlert = pgMs / ingest.units;
  console.log(
    `deliveries=${ingest.lat.length} alerts=${ingest.units} groups=${g} concurrency=${CONCURRENCY}`,
  );
  console.log(
    `bench alert-ingest: alerts_per_s=${alertsPerS.toFixed(0)} raw_inserts_per_s=${rawPerS.toFixed(0)} ` +
      `ratio=${(alertsPerS / rawPerS).toFixed(2)} p50_ms=${pct(ingest.lat, 0.5).toFixed(1)} ` +
      `p99_ms=${pct(ingest.lat, 0.99).toFixed(1)} node_cpu_ms_per_alert=${nodeMsPerAlert.toFixed(3)} ` +
      `pg_cpu_ms_per_alert=${pgMsPerAlert.toFixed(3)} cpu_ms_per_alert=${(nodeMsPerAlert + pgMsPerAlert).toFixed(3)} ` +
      `custom_plans_per_delivery=${(customPlans / ingest.lat.length).toFixed(2)}`,
  );
} finally {
  await pool?.end().catch(() => undefined);
  await db.stop();
  await fs.rm(dir, { recursive: true, force: true });
}
