import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { pino } from 'pino';
import {
  ensureDatabase,
  overSocket,
  startEmbeddedPostgres,
  type EmbeddedDatabase,
} from '@concierge-ops/embedded-postgres';
import { npmStart, reachableTempDir, type StartedControlPlane } from '../helpers/process.ts';

const TOKEN = 'cop_' + 'o'.repeat(43);
/** What a crash leaves in the output: an unhandled rejection or exception and its stack. */
const CRASH = /unhandled|uncaught|^\s+at \S.*:\d+:\d+\)?$/im;

/**
 * The lines of `output` that show a crash. graphile-worker prints a worker that exited with an error with
 * `console.trace` (a "Trace: ..." block: the error, its properties, graphile's own stack) beside its logged
 * "Worker exited with error", and the control plane replaces the lost worker: handled, so not a crash.
 */
function crashLines(output: string): string[] {
  const lines = output.split('\n');
  const crash: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i]!.startsWith('Trace: ')) {
      let end = i + 1;
      while (end < lines.length && /^(\s|\}$)/.test(lines[end]!)) end++;
      if (lines.slice(i, end).some((l) => /graphile-worker\/(dist|src)\/main\.[jt]s:/.test(l))) {
        i = end - 1;
        continue;
      }
    }
    if (CRASH.test(lines[i]!)) crash.push(lines[i]!);
  }
  return crash;
}

/** Waits until `check` holds, polling; fails with `what` when it does not within `withinMs`. */
async function until(
  what: string | (() => string),
  withinMs: number,
  check: () => Promise<boolean> | boolean,
): Promise<void> {
  const end = Date.now() + withinMs;
  while (!(await check())) {
    if (Date.now() > end) assert.fail(`no ${typeof what === 'string' ? what : what()} within ${withinMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function get(url: string, token?: string) {
  const res = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  const text = await res.text();
  return { status: res.status, type: res.headers.get('content-type') ?? '', text };
}

/** Polls /readyz until it answers `status`; the control plane is never restarted meanwhile. */
async function readyzBecomes(cp: StartedControlPlane, status: number, withinMs: number): Promise<void> {
  const until = Date.now() + withinMs;
  let last = 0;
  while (Date.now() < until) {
    last = (await get(`${cp.url}/readyz`)).status;
    if (last === status) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  assert.fail(`/readyz still ${last}, not ${status}, after ${withinMs} ms:\n${cp.output()}`);
}

describe('control plane whose database goes away and comes back', function () {
  this.timeout(180_000);
  const log = pino({ level: 'silent' });
  let dir: string;
  let db: EmbeddedDatabase | undefined;
  let port: number;
  let appUrl: string;
  let cp: StartedControlPlane;
  const checkpoints = async () =>
    (await fs.readFile(path.join(dir, 'audit-checkpoints.jsonl'), 'utf8').catch(() => ''))
      .split('\n')
      .filter(Boolean).length;
  const times = (text: string) => cp.output().split(text).length - 1;

  /**
   * Stops the database while the job runner's one worker is mid-job: a lock on the audit chain holds the job
   * (the sweep and the checkpoint both chain the audit log), so the job ends with the outage and its end
   * cannot be recorded. Returns once graphile-worker says the worker exited.
   */
  async function stopMidJob(): Promise<void> {
    const exited = times('Worker exited with error');
    const holder = new pg.Client({ connectionString: appUrl });
    holder.on('error', () => undefined); // the outage ends this connection too
    await holder.connect();
    try {
      await holder.query('begin');
      await holder.query('lock table audit_log in access exclusive mode');
      await until('job waiting on the audit chain', 30_000, async () => {
        const { rows } = await holder.query<{ n: number }>(
          `select (select count(*) from graphile_worker.jobs
                    where locked_at is not null and task_identifier in ('outbox-sweep', 'audit-checkpoint'))
                * (select count(*) from pg_locks where relation = 'audit_log'::regclass and not granted) as n`,
        );
        return Number(rows[0]!.n) > 0;
      });
      await db!.stop();
      db = undefined;
    } finally {
      await holder.end().catch(() => undefined);
    }
    await until(
      'graphile-worker logging that its worker exited',
      30_000,
      () => times('Worker exited with error') > exited,
    );
  }

  before(async () => {
    // A server this test stops and starts again (on the same port and socket), as an operator or a crash would.
    dir = await reachableTempDir('cp-outage-');
    db = await startEmbeddedPostgres(dir, log);
    port = Number(new URL(db.url).port);
    // Through its unix socket, as `npm start` reaches its embedded server: gone, that is `connect ENOENT`.
    appUrl = await ensureDatabase(db.url, 'concierge_ops');
    const url = overSocket(appUrl, db.socketDir);
    const key = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' });
    cp = await npmStart({
      DATABASE_URL: url,
      DATA_DIR: dir,
      BOOTSTRAP_ADMIN_TOKEN: TOKEN,
      // One worker: a worker lost to the outage is then the whole job runner.
      WORKER_CONCURRENCY: '1',
      WORKER_POLL_INTERVAL_MS: '100',
      // A job observable from outside: a line in DATA_DIR/audit-checkpoints.jsonl every 10 s.
      AUDIT_SIGNING_KEY: key.toString(),
      AUDIT_CHECKPOINT_EVERY_SECONDS: '10',
    });
  });
  afterEach(function () {
    // A failed fetch says only ECONNREFUSED or ECONNRESET: the control plane's own output says why.
    if (this.currentTest?.state === 'failed')
      process.stderr.write(`control plane output (exit code ${cp.child.exitCode}):\n${cp.output()}\n`);
  });
  after(async () => {
    // SIGTERM, which npm passes on: a SIGKILL would end npm alone and leave the control plane running.
    if (cp.child.exitCode === null) {
      cp.child.kill('SIGTERM');
      await cp.exited;
    }
    await db?.stop();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('answers 503 while its database is away and is ready again on its own once it is back', async () => {
    assert.equal((await get(`${cp.url}/readyz`)).status, 200);
    await db!.stop();
    db = undefined;

    const ready = await get(`${cp.url}/readyz`);
    assert.equal(ready.status, 503);
    assert.match(ready.type, /^application\/problem\+json/);
    const list = await get(`${cp.url}/api/v1/clients`, TOKEN);
    assert.equal(list.status, 503, list.text);
    assert.match(list.type, /^application\/problem\+json/);
    assert.match(JSON.parse(list.text).detail, /database is not reachable/);
    const created = await fetch(`${cp.url}/api/v1/clients`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ slug: 'away', name: 'Away Practice', timeZone: 'Europe/London' }),
    });
    assert.equal(created.status, 503, await created.text());
    assert.equal(cp.child.exitCode, null, `the control plane exited:\n${cp.output()}`);

    db = await startEmbeddedPostgres(dir, log, port);
    await readyzBecomes(cp, 200, 30_000);
    assert.equal((await get(`${cp.url}/api/v1/clients`, TOKEN)).status, 200);
  });

  it('runs its jobs again once its database is back, also when the outage ended a job mid-run', async () => {
    await until('audit checkpoint written', 30_000, async () => (await checkpoints()) > 0);
    await stopMidJob();

    db = await startEmbeddedPostgres(dir, log, port);
    await readyzBecomes(cp, 200, 30_000);
    const before = await checkpoints();
    // Without a worker the checkpoint job (every 10 s) would never run again, though /readyz says 200.
    await until(
      () => `new audit checkpoint after the database came back:\n${cp.output()}`,
      60_000,
      async () => (await checkpoints()) > before,
    );
    assert.equal(cp.child.exitCode, null, `the control plane exited:\n${cp.output()}`);
  });

  it('stops cleanly on SIGTERM while its database is away', async () => {
    // Also while it is replacing a worker it lost, still waiting for the database (no restart during shutdown).
    const retries = times('job runner: restart failed');
    await stopMidJob();
    await readyzBecomes(cp, 503, 10_000);
    await until('restart attempt', 10_000, () => times('job runner: restart failed') > retries);
    const signalled = Date.now();
    cp.child.kill('SIGTERM');
    assert.equal(await cp.exited, 0, cp.output());
    // The retry's backoff does not hold the shutdown up (in-flight requests have 10 s; there are none).
    assert.ok(Date.now() - signalled < 8_000, `took ${Date.now() - signalled} ms to stop:\n${cp.output()}`);
    // The lines that show a crash, not the whole log (pg's errors are long).
    assert.deepEqual(
      crashLines(cp.output()).map((line) => line.slice(0, 400)),
      [],
    );
  });
});
