/**
 * Backup status for a whole fleet, and the restore test's cost beside plain pg_restore.
 *
 * 1. Evaluation: BENCH_INSTANCES (1000) instances with BENCH_DAYS (400) days of nightly runs each (about 3% of
 *    nights missing or failed, deterministic), every instance evaluated with the same function the control
 *    plane's status endpoint uses (retention slot by slot in the client's zone, freshness, PITR). eval_ms is
 *    the median of 5 full-fleet evaluations; rows are in memory, so the database read is not included.
 * 2. Restore: a PostgreSQL 15 database seeded with BENCH_ROWS (300000) rows, dumped with pg_dump -Fc; the
 *    exporter's restore test (throwaway embedded PostgreSQL up, pg_restore, checks, down) against plain
 *    pg_restore of the same archive into a fresh database of an already-running server. ratio = restore/plain.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import { promisify } from 'node:util';
import pg from 'pg';
import { pino } from 'pino';
import { DEFAULT_POLICY, retentionCalendar } from '@concierge-ops/shared/retention';
import { instanceStatus } from '../control-plane/src/backups/status.ts';
import type { DbBackupRun } from '../control-plane/src/backups/store.ts';
import type { Instance } from '../control-plane/src/fleet/types.ts';
import { restoreTest } from '../exporters/backup-exporter/src/restore.ts';
import { startPg15 } from '../test/helpers/pg15.ts';

const run = promisify(execFile);
const INSTANCES = Number(process.env.BENCH_INSTANCES ?? 1000);
const DAYS = Number(process.env.BENCH_DAYS ?? 400);
const ROWS = Number(process.env.BENCH_ROWS ?? 300_000);
const DAY = 86400_000;

/** mulberry32: the same fleet on every run, so numbers compare across machines and commits. */
function rng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function fleet(now: number) {
  const rand = rng(42);
  const out: { instance: Instance; runs: DbBackupRun[] }[] = [];
  for (let i = 0; i < INSTANCES; i++) {
    const runs: DbBackupRun[] = [];
    for (let d = DAYS; d >= 0; d--) {
      const r = rand();
      if (r < 0.02) continue;
      const started = new Date(now - d * DAY - 10 * 3600_000);
      runs.push({
        run_id: `i${i}-d${d}`,
        instance_id: `i${i}`,
        tool: 'pg_dump',
        kind: 'full',
        status: r < 0.03 ? 'failed' : 'success',
        started_at: started,
        finished_at: new Date(started.getTime() + 300_000),
        verified: true,
        size_bytes: 1 << 20,
      } as DbBackupRun);
    }
    const instance = { id: `i${i}`, slug: `i${i}`, createdAt: new Date(now - 500 * DAY).toISOString() };
    out.push({ instance: instance as Instance, runs });
  }
  return out;
}

function evaluate(data: ReturnType<typeof fleet>, now: number): number {
  let compliant = 0;
  // As the status endpoint does per client; the bench fleet is one client's zone and policy.
  const calendar = retentionCalendar(DEFAULT_POLICY, 'America/New_York', now);
  for (const { instance, runs } of data) {
    const s = instanceStatus({
      instance,
      runs,
      newestSuccess: runs.findLast((r) => r.status === 'success'),
      lastRestoreTest: undefined,
      policy: DEFAULT_POLICY,
      timeZone: 'America/New_York',
      nowMs: now,
      calendar,
    });
    if (s.retention.compliant) compliant++;
  }
  return compliant;
}

async function restoreBench() {
  const server = await startPg15();
  try {
    const conn = { host: '127.0.0.1', port: server.port, user: 'postgres' };
    const db = new pg.Client({ ...conn, database: 'postgres' });
    await db.connect();
    await db.query(`create table appointments (id int primary key, practice int, at timestamptz, note text);
      insert into appointments select g, g % 50, now() - g * interval '1 minute', md5(g::text)
      from generate_series(1, ${ROWS}) g;
      create index on appointments (practice, at);`);
    // create database refuses to run inside the implicit transaction of a multi-statement query
    await db.query('create database plain_restore');
    await db.end();
    const file = `${server.dir}/bench.dump`;
    const args = ['-h', '127.0.0.1', '-p', String(server.port), '-U', 'postgres'];
    await run('pg_dump', [...args, '-Fc', '-f', file, 'postgres']);
    const bytes = await fs.readFile(file);
    const t0 = performance.now();
    await run('pg_restore', [...args, '--exit-on-error', '--no-owner', '-d', 'plain_restore', file]);
    const plain = (performance.now() - t0) / 1000;
    const now = new Date().toISOString();
    const manifest = {
      version: 1 as const,
      file: 'bench.dump',
      client: 'bench',
      instance: 'bench',
      kind: 'full' as const,
      startedAt: now,
      finishedAt: now,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      tables: { 'public.appointments': ROWS },
    };
    const record = { runId: 'bench', client: 'bench', instance: 'bench', tool: 'pg_dump' as const };
    const result = await restoreTest(
      {
        manifest,
        path: file,
        record: {
          ...record,
          kind: 'full',
          startedAt: now,
          finishedAt: now,
          status: 'success',
          verified: true,
        },
      },
      { pgRestore: 'pg_restore', log: pino({ level: 'silent' }) },
    );
    if (!result.success) throw new Error(`restore test failed: ${result.detail}`);
    return {
      restore: result.durationSeconds,
      inner: result.pgRestoreSeconds ?? 0,
      plain,
      bytes: bytes.length,
    };
  } finally {
    await server.stop();
  }
}

async function main() {
  const now = Date.now();
  const data = fleet(now);
  const runs = data.reduce((n, x) => n + x.runs.length, 0);
  evaluate(data, now); // warm-up: JIT and luxon's zone cache
  const times: number[] = [];
  let compliant = 0;
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    compliant = evaluate(data, now);
    times.push(performance.now() - t0);
  }
  const evalMs = times.sort((a, b) => a - b)[2]!;
  console.log(
    `evaluation: ${INSTANCES} instances, ${runs} runs, ${compliant} compliant; runs ms ${times.map((t) => t.toFixed(0)).join(' ')}`,
  );
  const r = await restoreBench();
  console.log(
    `restore: archive ${(r.bytes / 1e6).toFixed(1)} MB, ${ROWS} rows; restore test ${r.restore.toFixed(2)} s ` +
      `(pg_restore inside it ${r.inner.toFixed(2)} s), plain pg_restore ${r.plain.toFixed(2)} s`,
  );
  console.log(
    `bench backup-status: instances=${INSTANCES} eval_ms=${evalMs.toFixed(1)} restore_s=${r.restore.toFixed(2)} ` +
      `pg_restore_s=${r.plain.toFixed(2)} ratio=${(r.restore / r.plain).toFixed(2)}`,
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
