import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { chown, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Logger } from 'pino';
import type { RestoreResult } from './restore.ts';
import type { BackupRecord } from './sources/types.ts';
import { errorMessage } from '@concierge-ops/shared/errors';
import { freePort } from '@concierge-ops/shared/ports';

const run = promisify(execFile);

export interface PgbackrestRestoreOptions {
  readonly pgbackrest: string;
  /** Folder of the stanza's major version's server binaries (pg_ctl), e.g. /usr/lib/postgresql/15/bin. */
  readonly pgBin: string;
  /** `schema.table` names the restored database must hold. */
  readonly tables: readonly string[];
  /** The database they are in (default postgres). */
  readonly database?: string;
  readonly timeoutSeconds: number;
  readonly log: Logger;
  /** Run pgBackRest and the server as this user (the repository's owner; PostgreSQL refuses root). */
  readonly user?: { uid: number; gid: number };
  readonly now?: () => number;
}

const TABLE = /^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*$/;

/**
 * Restores pgBackRest backup set `record` (run id `pgbackrest:<stanza>:<label>`) into a temporary data
 * folder with `pgbackrest restore`, starts it with the stanza's server binaries (WAL replayed from the
 * repository to the end of the set, then promoted; never archiving into the repository), checks that it
 * answers and holds every expected table, and stops it. The folder is removed afterwards.
 */
export async function pgbackrestRestoreTest(
  record: BackupRecord,
  opts: PgbackrestRestoreOptions,
): Promise<RestoreResult> {
  const now = opts.now ?? Date.now;
  const t0 = now();
  const finish = (success: boolean, detail: string, toolSeconds: number | null = null): RestoreResult => ({
    success,
    startedAt: new Date(t0).toISOString(),
    finishedAt: new Date(now()).toISOString(),
    durationSeconds: (now() - t0) / 1000,
    pgRestoreSeconds: toolSeconds,
    detail,
  });
  const m = /^pgbackrest:([A-Za-z0-9_.-]+):([0-9A-Za-z_-]+)$/.exec(record.runId);
  if (!m) return finish(false, `not restored: ${record.runId} is not a pgBackRest backup set`);
  const [, stanza, label] = m as unknown as [string, string, string];
  const bad = opts.tables.filter((t) => !TABLE.test(t));
  if (bad.length) throw new Error(`not a schema.table name: ${bad.join(', ')}`);
  const deadline = t0 + opts.timeoutSeconds * 1000;
  const left = () => Math.max(1000, deadline - now());
  const as = opts.user ? { uid: opts.user.uid, gid: opts.user.gid } : {};
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'backup-restore-pgbackrest-'));
  const data = path.join(tmp, 'data');
  const removeAtExit = () => rmSync(tmp, { recursive: true, force: true });
  process.on('exit', removeAtExit);
  let started = false;
  const pgCtl = path.join(opts.pgBin, 'pg_ctl');
  try {
    if (opts.user) await chown(tmp, opts.user.uid, opts.user.gid);
    const r0 = now();
    try {
      // --type=immediate: consistent at the end of the set, then promoted; --archive-mode=off: the copy must
      // never push WAL into the production repository.
      await run(
        opts.pgbackrest,
        [
          `--stanza=${stanza}`,
          `--set=${label}`,
          `--pg1-path=${data}`,
          '--type=immediate',
          '--target-action=promote',
          '--archive-mode=off',
          '--log-level-console=error',
          'restore',
        ],
        { ...as, timeout: left(), killSignal: 'SIGKILL', maxBuffer: 16 << 20 },
      );
    } catch (err) {
      const e = err as { killed?: boolean; stderr?: string; stdout?: string };
      if (e.killed) return finish(false, `pgbackrest restore took longer than ${opts.timeoutSeconds} s`);
      const out = String(e.stderr || e.stdout || errorMessage(err)).trim();
      return finish(false, `pgbackrest restore failed: ${out.split('\n').slice(-3).join(' ')}`);
    }
    const restoreSeconds = (now() - r0) / 1000;
    const port = await freePort();
    // Our own pg_hba: the copy listens only on a socket in this 0700 folder, and the production server's
    // rules (passwords, other hosts) mean nothing here.
    const hba = path.join(tmp, 'pg_hba.conf');
    await writeFile(hba, 'local all all trust\n');
    if (opts.user) await chown(hba, opts.user.uid, opts.user.gid);
    try {
      started = true;
      await run(
        pgCtl,
        [
          '-D',
          data,
          '-l',
          path.join(tmp, 'server.log'),
          '-w',
          '-t',
          String(Math.ceil(left() / 1000)),
          '-o',
          `-p ${port} -k ${tmp} -c listen_addresses='' -c archive_mode=off -c hba_file=${hba}`,
          'start',
        ],
        { ...as, timeout: left(), killSignal: 'SIGKILL' },
      );
    } catch (err) {
      return finish(
        false,
        `restored, but the server did not start: ${errorMessage(err).split('\n')[0]}`,
        restoreSeconds,
      );
    }
    const { default: pg } = await import('pg');
    const client = new pg.Client({
      host: tmp,
      port,
      user: 'postgres',
      database: opts.database ?? 'postgres',
    });
    try {
      await client.connect();
      const missing: string[] = [];
      for (const t of opts.tables) {
        const [schema, name] = t.split('.') as [string, string];
        const found = await client.query('select 1 from pg_tables where schemaname = $1 and tablename = $2', [
          schema,
          name,
        ]);
        if (found.rowCount === 0) missing.push(t);
      }
      if (missing.length) return finish(false, `restored, but missing ${missing.join(', ')}`, restoreSeconds);
      return finish(
        true,
        `restored set ${label} of stanza ${stanza}; the server answers and holds ${opts.tables.length} expected tables`,
        restoreSeconds,
      );
    } catch (err) {
      return finish(false, `restored, but the server does not answer: ${errorMessage(err)}`, restoreSeconds);
    } finally {
      await client.end().catch(() => undefined);
    }
  } finally {
    if (started)
      await run(pgCtl, ['-D', data, '-m', 'immediate', '-w', 'stop'], { ...as, timeout: 60_000 }).catch(
        (err: unknown) => opts.log.warn({ err: errorMessage(err) }, 'restored server did not stop'),
      );
    process.off('exit', removeAtExit);
    await rm(tmp, { recursive: true, force: true });
  }
}
