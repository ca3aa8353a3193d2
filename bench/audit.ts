/**
 * bench/audit: on a throwaway embedded PostgreSQL,
 * - audit records appended per second through the hash chain (AuditService.record) and as recorded reads
 *   (AuditService.recordRead: staged, then chained in batches), beside the same inserts into a table without the
 *   chain, measured in the same run with the same concurrency;
 * - an export of BENCH_EXPORT_ROWS (default 1,000,000) records as CSV over HTTP from the control plane run as a
 *   child process (`node control-plane/src/main.ts`, as `npm start` runs it): seconds, and the child's resident
 *   memory sampled every 50 ms through the export (its peak, and the growth over its memory before the export).
 * Last line: `bench audit: appends_per_s=.. reads_per_s=.. plain_per_s=.. ratio=.. read_ratio=.. export_rows=..
 * export_seconds=.. export_mib=.. rss_before_mib=.. peak_rss_mib=.. export_rss_growth_mib=.. export_rss_ratio=..
 * export_heap_growth_mib=..` (export_rss_ratio: the child's peak over its own resident memory just before the
 * export; the heap's high-water mark over its idle size in the same export run in this process). Target: the
 * export's memory constant, under 100 MiB (export_rss_growth_mib: the process itself, tsx and all, takes some
 * 170 MiB before).
 */
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import pg from 'pg';
import { pino } from 'pino';
import { exportFilter } from '../control-plane/src/audit/export.ts';
import { AuditService } from '../control-plane/src/audit/service.ts';
import { startEmbeddedPostgres } from '@concierge-ops/embedded-postgres';
import { migrate } from '../control-plane/src/db/migrate.ts';
import type { Auth } from '../control-plane/src/http/auth.ts';
import { freePort } from '@concierge-ops/shared/ports';
import { reachableTempDir } from '../test/helpers/process.ts';

const APPENDS = Number(process.env.BENCH_APPENDS ?? 20_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
const EXPORT_ROWS = Number(process.env.BENCH_EXPORT_ROWS ?? 1_000_000);
const log = pino({ level: 'silent' });
const reader: Auth = {
  tokenId: '00000000-0000-4000-8000-000000000001',
  name: 'bench-auditor',
  role: 'admin',
  clientId: null,
  ip: '192.0.2.10',
  userAgent: 'bench/1',
};
const root = path.resolve(import.meta.dirname, '..');

/** `n` calls of `fn`, CONCURRENCY at a time; answers calls per second. */
async function rate(n: number, fn: (i: number) => Promise<unknown>, then?: () => Promise<void>) {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < n) await fn(next++);
    }),
  );
  await then?.();
  return n / ((performance.now() - t0) / 1000);
}

/** A process's resident memory now and its high-water mark, from /proc (Linux), in MiB. */
async function memory(pid: number): Promise<{ rss: number; peak: number }> {
  const status = await fs.readFile(`/proc/${pid}/status`, 'utf8');
  const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)![1]);
  return { rss: kib('VmRSS') / 1024, peak: kib('VmHWM') / 1024 };
}

const dir = await reachableTempDir('bench-audit-');
const db = await startEmbeddedPostgres(dir, log);
const mib = (n: number) => (n / 1024 / 1024).toFixed(1);
try {
  await migrate(db.url);
  const pool = new pg.Pool({ connectionString: db.url, max: CONCURRENCY });
  const audit = new AuditService(pool);
  const change = (i: number) => ({
    action: 'report.read',
    targetType: 'client',
    targetId: `client-${i % 200}`,
    after: { month: '2026-10', format: 'pdf' },
  });

  // The same record, same columns, into a table without the chain's trigger, lock and hashes.
  await pool.query(`create table bench_plain (like audit_log including defaults)`);
  // logged_at's default is the chain's clock, which takes the chain's lock: the baseline takes none.
  await pool.query(`alter table bench_plain alter column logged_at set default now()`);
  await pool.query(`create sequence bench_plain_seq`);
  const plain = await rate(APPENDS, (i) =>
    pool.query(
      `insert into bench_plain (seq, actor, action, target_type, target_id, before, after, request_id, token_id,
         token_name, role, client_id, ip, user_agent, prev_hash, hash)
       values (nextval('bench_plain_seq'), $1, $2, $3, $4, null, $5, $6, $7, $8, $9, null, $10, $11, '', '')`,
      [
        'bench-auditor',
        change(i).action,
        'client',
        change(i).targetId,
        JSON.stringify(change(i).after),
        `req-${i}`,
        reader.tokenId,
        reader.name,
        reader.role,
        reader.ip,
        reader.userAgent,
      ],
    ),
  );
  const appends = await rate(APPENDS, (i) => audit.record(pool, reader, `req-${i}`, change(i)));
  // Recorded reads are staged and chained in batches; counted once every one is in the chain.
  const reads = await rate(
    APPENDS,
    (i) => audit.recordRead(reader, `req-${i}`, change(i)),
    () => audit.flush(),
  );

  // The export's history: EXPORT_ROWS records over the last 300 days, chained by the log's own trigger (in
  // slices, so no one transaction holds the whole million), then exported by a control plane of its own.
  const SLICE = 100_000;
  const seedStart = performance.now();
  for (let done = 0; done < EXPORT_ROWS; done += SLICE) {
    await pool.query(
      `insert into audit_log (seq, at, actor, action, target_type, target_id, before, after, request_id,
         token_id, token_name, role, client_id, ip, user_agent, prev_hash, hash)
       select 0, now() - interval '300 days' + g * (interval '300 days' / $2), 'ops-' || (g % 40), 'report.read',
         'client', 'client-' || (g % 200), null, jsonb_build_object('month', '2026-10', 'format', 'pdf'),
         'req-' || g, 'tok-' || (g % 40), 'ops-' || (g % 40), 'operator', null, '192.0.2.' || (g % 250),
         'Mozilla/5.0 (bench)', '', ''
       from generate_series($1::int + 1, $1::int + least($3::int, $2::int - $1::int)) g`,
      [done, EXPORT_ROWS, SLICE],
    );
  }
  const seedSeconds = (performance.now() - seedStart) / 1000;

  // The same export in this process, to a reader that takes 64 KiB at a time: the JavaScript heap's high-water
  // mark over its idle size, which a process's resident memory (glibc keeps freed buffers) overstates.
  const yearAgo = new Date(Date.now() - 365 * 86_400_000).toISOString();
  const sink = new Writable({
    highWaterMark: 65_536,
    write: (_c, _e, cb) => setImmediate(cb),
  });
  const heap0 = process.memoryUsage().heapUsed;
  let heapPeak = heap0;
  const heapSampler = setInterval(() => (heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed)), 20);
  await audit.export({ auth: reader, requestId: 'bench' }, exportFilter({ from: yearAgo }), 'csv', sink);
  clearInterval(heapSampler);
  await pool.end();

  const token = crypto.randomBytes(24).toString('base64url');
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'control-plane/src/main.ts'], {
    cwd: root,
    env: {
      ...process.env,
      DATABASE_URL: db.url,
      PORT: String(port),
      BOOTSTRAP_ADMIN_TOKEN: token,
      AUDIT_CHECKPOINTS: 'off',
      LOG_LEVEL: 'warn',
      DATA_DIR: dir,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const url = `http://127.0.0.1:${port}`;
  try {
    for (let t = Date.now(); ;) {
      if (
        await fetch(`${url}/readyz`).then(
          (r) => r.ok,
          () => false,
        )
      )
        break;
      if (child.exitCode !== null || Date.now() - t > 90_000)
        throw new Error(`the control plane did not start:\n${out}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const before = await memory(child.pid!);
    // Sampled through the export: the peak of the exporting process while it exports.
    let peak = before.rss;
    const sampler = setInterval(() => {
      void memory(child.pid!).then(
        (m) => (peak = Math.max(peak, m.rss)),
        () => undefined,
      );
    }, 50);
    const t0 = performance.now();
    const res = await fetch(`${url}/api/v1/audit/export?format=csv&from=${yearAgo}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    if (res.status !== 200) throw new Error(`export answered ${res.status}: ${await res.text()}`);
    // Counted as it arrives, never held: the bench measures the exporter, not itself.
    let bytes = 0;
    let tail = '';
    for await (const chunk of res.body!) {
      bytes += chunk.length;
      tail = (tail + Buffer.from(chunk).toString('utf8')).slice(-4096);
    }
    const exportSeconds = (performance.now() - t0) / 1000;
    clearInterval(sampler);
    const integrity = JSON.parse(/# integrity: (.*)\r\n$/.exec(tail)![1]!) as { rows: number };
    console.log(
      `seeded ${EXPORT_ROWS} chained records in ${seedSeconds.toFixed(1)} s; exported ${integrity.rows} ` +
        `records (${mib(bytes)} MiB of CSV)`,
    );
    console.log(
      `bench audit: appends_per_s=${appends.toFixed(0)} reads_per_s=${reads.toFixed(0)} ` +
        `plain_per_s=${plain.toFixed(0)} ratio=${(appends / plain).toFixed(2)} read_ratio=${(reads / plain).toFixed(2)} ` +
        `export_rows=${integrity.rows} export_seconds=${exportSeconds.toFixed(1)} export_mib=${mib(bytes)} ` +
        `rss_before_mib=${before.rss.toFixed(0)} peak_rss_mib=${peak.toFixed(0)} ` +
        `export_rss_growth_mib=${(peak - before.rss).toFixed(0)} export_rss_ratio=${(peak / before.rss).toFixed(2)} ` +
        `export_heap_growth_mib=${mib(heapPeak - heap0)}`,
    );
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
} finally {
  await db.stop();
  await fs.rm(dir, { recursive: true, force: true });
}
