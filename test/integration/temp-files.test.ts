import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fsSync from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { pino } from 'pino';
import { startEmbeddedPostgres } from '@concierge-ops/embedded-postgres';
import { startPg15 } from '../helpers/pg15.ts';
import { postgresPidsUnder, reachableTempDir } from '../helpers/process.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');

/** Pids of processes whose command line holds `text`. */
async function pidsRunning(text: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await fs.readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cmd = await fs.readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (cmd.includes(text)) pids.push(Number(entry));
  }
  return pids;
}

/** Runs `fn` with TMPDIR (what os.tmpdir() answers) set to an empty folder; returns what was created in it. */
async function inOwnTmpdir(fn: (tmp: string) => Promise<void>): Promise<string[]> {
  const tmp = await reachableTempDir('own-tmp-');
  const created = new Set<string>();
  // Watched, not listed afterwards: a file written and removed again was still readable while it existed.
  const watcher = fsSync.watch(tmp, (_event, name) => created.add(String(name)));
  const saved = process.env.TMPDIR;
  process.env.TMPDIR = tmp;
  try {
    await fn(tmp);
  } finally {
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
    await new Promise((r) => setTimeout(r, 100)); // let the last events arrive
    watcher.close();
    for (const name of await fs.readdir(tmp)) created.add(`${name} (still there)`);
    await fs.rm(tmp, { recursive: true, force: true });
  }
  return [...created];
}

describe('secrets and scratch folders of the embedded database', function () {
  this.timeout(120_000);

  it('initialises with the password in a 0600 file beside the data, writing nothing to the temporary folder', async () => {
    const dir = await reachableTempDir('embedded-init-');
    try {
      const created = await inOwnTmpdir(async () => {
        const db = await startEmbeddedPostgres(dir, pino({ level: 'silent' }));
        try {
          const c = new pg.Client({ connectionString: db.url });
          await c.connect();
          await c.end();
        } finally {
          await db.stop();
        }
      });
      assert.deepEqual(created, [], 'written to the temporary folder');
      assert.equal((await fs.stat(path.join(dir, 'postgres.password'))).mode & 0o777, 0o600);
      // No copy of the password for initdb, no owner file once stopped.
      assert.deepEqual((await fs.readdir(dir)).sort(), ['postgres', 'postgres.password']);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('narrows a password file found with a wider mode to 0600', async () => {
    const dir = await reachableTempDir('embedded-mode-');
    try {
      await fs.writeFile(path.join(dir, 'postgres.password'), 'kept-password\n', { mode: 0o644 });
      const db = await startEmbeddedPostgres(dir, pino({ level: 'silent' }));
      await db.stop();
      assert.equal((await fs.stat(path.join(dir, 'postgres.password'))).mode & 0o777, 0o600);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('a restore test stopped by SIGTERM leaves no scratch folder or server behind', async () => {
    const created = await inOwnTmpdir(async (tmp) => {
      // A pg_restore that takes its time: the signal arrives while the scratch server runs.
      const slow = path.join(tmp, 'slow-restore.sh');
      await fs.writeFile(slow, '#!/bin/sh\nsleep 60\n', { mode: 0o755 });
      const script = `
        import { restoreTest } from './exporters/backup-exporter/src/restore.ts';
        import { pino } from 'pino';
        const record = { runId: 'r', client: 'c', instance: 'i', tool: 'pg_dump', kind: 'full',
          startedAt: '2026-01-01T00:00:00Z', finishedAt: '2026-01-01T00:01:00Z', status: 'success', verified: true };
        await restoreTest({ path: '/dev/null', manifest: { tables: {} }, record },
          { pgRestore: ${JSON.stringify(slow)}, log: pino({ level: 'silent' }) });`;
      const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
        cwd: ROOT,
        env: { ...process.env, TMPDIR: tmp },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let err = '';
      child.stderr.on('data', (d) => (err += d));
      child.stdout.on('data', (d) => (err += d));
      const exited = new Promise((resolve) => child.on('exit', resolve));
      // Signalled once pg_restore runs: the scratch server is up and the restore under way.
      let scratch: string | undefined;
      for (let waited = 0; waited < 60_000 && !scratch; waited += 200) {
        await new Promise((r) => setTimeout(r, 200));
        const dir = (await fs.readdir(tmp)).find((n) => n.startsWith('backup-restore-test-'));
        if (dir && (await pidsRunning(`${slow}\0--exit-on-error`)).length > 0) scratch = path.join(tmp, dir);
      }
      assert.ok(scratch, `no restore under way:\n${err}`);
      assert.ok((await postgresPidsUnder(scratch)).length > 0);
      child.kill('SIGTERM');
      await exited;
      for (const pid of await pidsRunning(`${slow}\0--exit-on-error`)) process.kill(pid);
      assert.deepEqual(await postgresPidsUnder(scratch), [], `the scratch server is still running:\n${err}`);
      await fs.rm(slow);
    });
    // tsx (running the child) keeps its compile cache there; everything else is the restore test's.
    const ours = created.filter((n) => !n.startsWith('tsx-'));
    assert.deepEqual(
      ours.filter((n) => !n.startsWith('backup-restore-test-') && n !== 'slow-restore.sh'),
      [],
    );
    assert.deepEqual(
      ours.filter((n) => n.endsWith('(still there)')),
      [],
      'left in the temporary folder',
    );
  });

  it('the PostgreSQL 15 helper removes its folder when stopped', async () => {
    const server = await startPg15();
    assert.ok(fsSync.existsSync(server.dir));
    await server.stop();
    assert.equal(fsSync.existsSync(server.dir), false);
  });
});
