/**
 * bench/page-latency: time from posting an Alertmanager webhook to the Twilio API request for its SMS page
 * (webhook -> incident -> escalation step -> outbox -> send straight after commit -> twilio SDK -> the Twilio
 * stand-in), at a steady 200 alerts/s, each a new group, on a throwaway embedded PostgreSQL.
 *
 * The control plane (HTTP server, workers, pool) runs in this process as it would in a deployment; the load
 * generator and the Twilio stand-in run in a child process (this file with the argument `driver`), so their
 * work is not charged to the control plane's event loop.
 *
 * Baseline, in the same run: the twilio SDK's messages.create from this process straight to the same
 * stand-in at the same rate (what a page costs with no control plane at all), measured the same way: from
 * the call to the stand-in receiving the request.
 *
 * Last line: `bench page-latency: rate=.. p50_ms=.. p99_ms=.. baseline_p99_ms=.. ratio=..` (ratio = p99 /
 * baseline p99). Target: p99 < 250 ms.
 */
import { fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { createApp } from '../control-plane/src/app.ts';
import { loadConfig } from '../control-plane/src/config.ts';
import { createContext } from '../control-plane/src/context.ts';
import { overSocket, startEmbeddedPostgres } from '@concierge-ops/embedded-postgres';
import { migrate } from '../control-plane/src/db/migrate.ts';
import { createPool } from '../control-plane/src/db/pool.ts';
import { createTwilio } from '../control-plane/src/notify/providers.ts';
import { alertPayload } from '../test/helpers/alerts.ts';
import { reachableTempDir } from '../test/helpers/process.ts';
import { TwilioStandIn } from '../test/helpers/twilio-standin.ts';

const RATE = Number(process.env.BENCH_RATE ?? 200);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 2);
const BASELINE_SECONDS = Number(process.env.BENCH_BASELINE_SECONDS ?? 5);
const log = pino({ level: 'silent' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (xs: number[], p: number) =>
  xs.length === 0 ? NaN : [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;

/** Open-loop arrivals: call `fn(i)` at `rate` per second for `seconds`, whatever the answers take. */
async function openLoop(rate: number, seconds: number, fn: (i: number) => Promise<void>) {
  const total = Math.round(rate * seconds);
  const calls: Promise<void>[] = [];
  const start = Date.now();
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / rate;
    if (due > Date.now()) await sleep(due - Date.now());
    calls.push(fn(i));
  }
  const offeredSeconds = (Date.now() - start) / 1000;
  await Promise.all(calls);
  return { total, offeredRate: total / offeredSeconds };
}

type ToDriver =
  | { type: 'load'; url: string; token: string; rate: number; seconds: number; prefix: string }
  | { type: 'receipts'; marker: string };
type FromDriver =
  | { type: 'ready'; twilioUrl: string }
  | {
      type: 'load';
      lat: number[];
      posted: number;
      failed: number;
      pages: number;
      offeredRate: number;
      cpuMs: number;
    }
  | { type: 'receipts'; at: Record<string, number> };

/**
 * A webhook POST over keep-alive connections, as Alertmanager's Go client makes it. node:http rather than
 * fetch: undici's fetch cost the driver about a millisecond of CPU per request, on the same two cores as the
 * control plane it measures.
 */
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
function post(url: string, token: string, body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: 'POST',
        agent,
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** The child: Twilio stand-in and webhook load generator. */
async function driver(): Promise<void> {
  const tw = await new TwilioStandIn().start();
  const send = (m: FromDriver) => process.send!(m);
  process.on('message', (m: ToDriver) => {
    if (m.type === 'receipts') {
      // When the stand-in received each message tagged `<marker>-<n>`.
      const at: Record<string, number> = {};
      const re = new RegExp(`${m.marker}-\\d+`);
      for (const r of tw.messages()) {
        const tag = re.exec(r.params.Body ?? '')?.[0];
        if (tag) at[tag] = r.at;
      }
      send({ type: 'receipts', at });
      return;
    }
    void (async () => {
      const cpu0 = process.cpuUsage();
      const started = Date.now();
      const postedAt = new Map<string, number>();
      let failed = 0;
      const answered: number[] = [];
      const { total, offeredRate } = await openLoop(m.rate, m.seconds, async (i) => {
        const t = Date.now();
        try {
          const res = await post(
            m.url,
            m.token,
            JSON.stringify(alertPayload({ groupKey: `${m.prefix}-${i}`, severity: 'warning' })),
          );
          const body = JSON.parse(res.body) as { incident?: string };
          answered.push(Date.now() - t);
          if (res.status === 200 && body.incident) postedAt.set(body.incident, t);
          else {
            if (failed++ === 0) console.error(`webhook answered ${res.status}: ${res.body}`);
          }
        } catch (err) {
          if (failed++ === 0) console.error(`webhook failed: ${(err as Error).message}`);
        }
      });
      // Every opened incident pages once by SMS; wait for them (bounded).
      const deadline = Date.now() + 60_000;
      const paged = () =>
        tw.messages().filter((r) => postedAt.has(/INC-\d+/.exec(r.params.Body ?? '')?.[0] ?? ''));
      while (paged().length < postedAt.size && Date.now() < deadline) await sleep(50);
      const lat: number[] = [];
      const series = new Map<number, number>();
      for (const r of paged()) {
        const t = postedAt.get(/INC-\d+/.exec(r.params.Body!)![0])!;
        lat.push(r.at - t);
        const k = Math.floor((t - started) / 500) * 500;
        series.set(k, Math.max(series.get(k) ?? 0, r.at - t));
      }
      // BENCH_SERIES: the slowest page of each half second of the run, by when its alert was posted.
      if (process.env.BENCH_SERIES)
        console.log(
          `slowest page by posting time (ms:ms) ${[...series].map(([k, v]) => `${k}:${v}`).join(' ')}`,
        );
      if (process.env.BENCH_DEBUG)
        console.log(`webhook answer p50_ms=${pct(answered, 0.5)} p99_ms=${pct(answered, 0.99)}`);
      const cpu = process.cpuUsage(cpu0);
      const cpuMs = (cpu.user + cpu.system) / 1000;
      send({ type: 'load', lat, posted: total, failed, pages: lat.length, offeredRate, cpuMs });
    })();
  });
  process.on('disconnect', () => void tw.stop().then(() => process.exit(0)));
  send({ type: 'ready', twilioUrl: tw.url });
}

/** CPU time (ms) used so far by the PostgreSQL server of `dataDir`: live processes and reaped backends. */
async function postgresCpuMs(dataDir: string): Promise<number> {
  const tick = 1000 / 100; // USER_HZ
  const pid = Number((await fs.readFile(`${dataDir}/postmaster.pid`, 'utf8')).split('\n')[0]);
  let ticks = 0;
  for (const d of await fs.readdir('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const stat = await fs.readFile(`/proc/${d}/stat`, 'utf8').catch(() => '');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields from state (3rd): ppid is f[1], utime f[11], stime f[12], cutime f[13], cstime f[14]
    if (Number(d) === pid) ticks += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
    else if (Number(f[1]) === pid) ticks += Number(f[11]) + Number(f[12]);
  }
  return ticks * tick;
}

function ask<T extends FromDriver['type']>(
  child: ChildProcess,
  type: T,
  msg?: ToDriver,
): Promise<Extract<FromDriver, { type: T }>> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: FromDriver) => {
      if (m.type !== type) return;
      child.off('message', onMessage);
      child.off('exit', onExit);
      resolve(m as Extract<FromDriver, { type: T }>);
    };
    const onExit = (code: number | null) => reject(new Error(`bench driver exited (${code})`));
    child.on('message', onMessage);
    child.once('exit', onExit);
    if (msg) child.send(msg);
  });
}

async function main(): Promise<void> {
  const dir = await reachableTempDir('bench-page-');
  let db = await startEmbeddedPostgres(dir, log);
  if (process.env.BENCH_PGSS) {
    // Debug: per-statement figures from pg_stat_statements (loaded at server start).
    const { default: pg } = await import('pg');
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    await c.query(`alter system set shared_preload_libraries = 'pg_stat_statements'`);
    await c.end();
    await db.stop();
    db = await startEmbeddedPostgres(dir, log);
  }
  const child = fork(fileURLToPath(import.meta.url), ['driver'], { stdio: 'inherit' });
  // Workers, server and pool end before the database stops, also when the run fails; the pool's 'error'
  // handler (createPool) keeps a connection that the stopping server terminates (57P01) from crashing it.
  let stopControlPlane: (() => Promise<void>) | undefined;
  try {
    const { twilioUrl } = await ask(child, 'ready');
    await migrate(db.url);
    // As `npm start` on its embedded database: through the server's unix socket (BENCH_DB_TCP=1: loopback
    // TCP, as with a DATABASE_URL on another host).
    const tcp = !!process.env.BENCH_DB_TCP;
    const dbUrl = tcp ? db.url : overSocket(db.url, db.socketDir);
    const config = loadConfig({
      DATABASE_URL: dbUrl,
      LOG_LEVEL: 'silent',
      PORT: '0',
      TWILIO_ACCOUNT_SID: 'AC' + 'ef'.repeat(16),
      TWILIO_AUTH_TOKEN: 'bench-auth-token-0123456789abcdef',
      TWILIO_FROM_NUMBER: '+15005550006',
      TWILIO_API_URL: twilioUrl,
      WORKER_CONCURRENCY: process.env.BENCH_WORKERS ?? '8',
      WORKER_POLL_INTERVAL_MS: process.env.BENCH_POLL_MS ?? '1000',
      ...(process.env.BENCH_POOL ? { DATABASE_POOL_SIZE: process.env.BENCH_POOL } : {}),
    });
    // As `npm start` makes it (DATABASE_POOL_SIZE, default 20).
    const pool = createPool(dbUrl, log, config.databasePoolSize);
    const ctx = createContext(config, log, pool);
    await ctx.paging.workers.migrate();
    await ctx.paging.workers.start();
    // SMS only (no e-mail address), so the measured path is exactly webhook -> Twilio request.
    await pool.query(
      `insert into responders (name, role, phone) values ('Bench', 'oncall-engineer', '+15551230009')`,
    );
    // The client, instance and service the alerts name (alertPayload's), as in production: an incident keeps
    // an instance or service label only when it is its client's own (else it takes the slower usual opening).
    await pool.query(
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
    stopControlPlane = async () => {
      stopControlPlane = undefined;
      await ctx.paging.workers.stop();
      server.closeAllConnections();
      server.close();
      await pool.end();
    };

    // Baseline: the SDK (as the control plane configures it) straight to the stand-in, same rate.
    const sms = createTwilio(config.paging)!;
    const calledAt = new Map<string, number>();
    // Warmed up first, as the control plane is by the warm-up run below.
    await openLoop(RATE, 2, async (i) => {
      await sms.sms('+15551230009', `[WARN] WARM-${i} baseline page`, 'https://ops.example.test/status');
    });
    await openLoop(RATE, BASELINE_SECONDS, async (i) => {
      calledAt.set(`BASE-${i}`, Date.now());
      await sms.sms('+15551230009', `[WARN] BASE-${i} baseline page`, 'https://ops.example.test/status');
    });
    const { at } = await ask(child, 'receipts', { type: 'receipts', marker: 'BASE' });
    const base = [...calledAt].filter(([k]) => at[k] !== undefined).map(([k, t]) => at[k]! - t);

    if (WARMUP_SECONDS > 0)
      await ask(child, 'load', {
        type: 'load',
        url,
        token,
        rate: RATE,
        seconds: WARMUP_SECONDS,
        prefix: 'warm',
      });
    // BENCH_DEBUG: what the database's busy backends wait on during the run, sampled every 50 ms.
    const waits = new Map<string, number>();
    let sampling = !!process.env.BENCH_DEBUG;
    const sampler = (async () => {
      while (sampling) {
        const { rows } = await pool.query<{ w: string; q: string }>(
          `select coalesce(wait_event_type || ':' || wait_event, 'cpu') as w, left(regexp_replace(query, '[[:space:]]+', ' ', 'g'), 60) as q
           from pg_stat_activity where state = 'active' and pid <> pg_backend_pid() and backend_type = 'client backend'`,
        );
        for (const r of rows) waits.set(`${r.w} | ${r.q}`, (waits.get(`${r.w} | ${r.q}`) ?? 0) + 1);
        const pw = `pool waiting>0`;
        if (pool.waitingCount > 0) waits.set(pw, (waits.get(pw) ?? 0) + 1);
        const lag = performance.now();
        await new Promise((r) => setImmediate(r));
        const lw = `event loop turn>10ms`;
        if (performance.now() - lag > 10) waits.set(lw, (waits.get(lw) ?? 0) + 1);
        waits.set('samples', (waits.get('samples') ?? 0) + 1);
        await sleep(50);
      }
    })();
    if (process.env.BENCH_PGSS) {
      await pool.query('create extension if not exists pg_stat_statements');
      await pool.query('select pg_stat_statements_reset()');
    }
    const cpu0 = process.cpuUsage();
    const pg0 = await postgresCpuMs(db.dataDir);
    const load = await ask(child, 'load', {
      type: 'load',
      url,
      token,
      rate: RATE,
      seconds: SECONDS,
      prefix: 'bench',
    });
    sampling = false;
    await sampler;
    const cpu = process.cpuUsage(cpu0);
    const cpuMs = {
      control_plane: (cpu.user + cpu.system) / 1000,
      postgres: (await postgresCpuMs(db.dataDir)) - pg0,
      driver: load.cpuMs,
    };
    if (process.env.BENCH_DEBUG)
      for (const [k, n] of [...waits].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(n, k);

    if (process.env.BENCH_DEBUG) {
      const q = await pool.query(
        `select percentile_cont(array[0.5, 0.99]) within group (order by extract(epoch from n.created_at - i.opened_at)) as esc,
           percentile_cont(array[0.5, 0.99]) within group (order by extract(epoch from n.updated_at - n.created_at)) as send
         from notifications n join incidents i on i.id = n.incident_id`,
      );
      console.log(q.rows[0]);
      const jobs = await pool.query(
        `select task_identifier, count(*)::int as n from graphile_worker.jobs group by 1`,
      );
      console.log('jobs left', jobs.rows);
      console.log(
        await ctx.metrics.registry.getSingleMetricAsString(
          'concierge_ops_notification_send_duration_seconds',
        ),
      );
      const att = await pool.query(
        `select percentile_cont(array[0.5, 0.99]) within group (order by duration_ms) as deliver_ms,
           percentile_cont(array[0.5, 0.99]) within group (order by extract(epoch from a.at - n.created_at)) as to_attempt
         from notification_attempts a join notifications n on n.id = a.notification_id`,
      );
      console.log(att.rows[0]);
      const failed = await pool.query(
        `select error, duration_ms from notification_attempts where outcome <> 'sent'`,
      );
      console.log('failed sends', failed.rows);
    }
    if (process.env.BENCH_PGSS) {
      const { rows } = await pool.query(
        `select calls, round(total_exec_time::numeric, 1) as total_ms, round(mean_exec_time::numeric, 3) as mean_ms,
           left(regexp_replace(query, '[[:space:]]+', ' ', 'g'), 90) as q
         from pg_stat_statements order by total_exec_time desc limit 30`,
      );
      for (const r of rows) console.log(r.calls, r.total_ms, r.mean_ms, r.q);
      const ps = await pool.query(`select pid, backend_type from pg_stat_activity`);
      const kinds = new Map(
        ps.rows.map((r: { pid: number; backend_type: string }) => [r.pid, r.backend_type]),
      );
      for (const d of await fs.readdir('/proc')) {
        const st = await fs.readFile(`/proc/${d}/stat`, 'utf8').catch(() => '');
        const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
        if (kinds.has(Number(d)))
          console.log(kinds.get(Number(d)), d, (Number(f[11]) + Number(f[12])) * 10, 'ms');
      }
    }
    await stopControlPlane();

    const p99 = pct(load.lat, 0.99);
    const baseP99 = pct(base, 0.99);
    const per = (ms: number) => (ms / Math.max(1, load.pages)).toFixed(2);
    console.log(
      `cpu_ms_per_page: control_plane=${per(cpuMs.control_plane)} postgres=${per(cpuMs.postgres)} ` +
        `driver=${per(cpuMs.driver)} (driver = load generator + Twilio stand-in; 2 cores = 2000 cpu-ms/s)`,
    );
    console.log(
      `alerts=${load.posted} failed_posts=${load.failed} pages=${load.pages} offered_rate=${load.offeredRate.toFixed(0)}/s ` +
        `warmup_s=${WARMUP_SECONDS} baseline_sms=${base.length} baseline_p50_ms=${pct(base, 0.5).toFixed(1)} ` +
        `db=${tcp ? 'tcp' : 'unix-socket'}`,
    );
    console.log(
      `bench page-latency: rate=${RATE} p50_ms=${pct(load.lat, 0.5).toFixed(1)} p99_ms=${p99.toFixed(1)} ` +
        `baseline_p99_ms=${baseP99.toFixed(1)} ratio=${(p99 / baseP99).toFixed(2)}`,
    );
  } finally {
    await stopControlPlane?.().catch(() => undefined);
    if (child.connected) child.disconnect();
    await new Promise((r) => (child.exitCode !== null ? r(undefined) : child.once('exit', r)));
    await db.stop();
    await fs.rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === 'driver') await driver();
else await main();
