import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Logger } from 'pino';
import { restoreTest, type RestoreResult } from './restore.ts';
import { scanDumpFolder } from './sources/pgdump.ts';
import type { BackupRecord } from './sources/types.ts';
import { errorMessage } from '@concierge-ops/shared/errors';

const run = promisify(execFile);

export interface ResticRestoreOptions {
  readonly restic: string;
  readonly repository: string;
  readonly pgRestore: string;
  readonly log: Logger;
  /** The restic restore is killed past this; the pg_dump restore after it has its own bound. */
  readonly timeoutSeconds: number;
  readonly now?: () => number;
}

/** Every `*.manifest.json` under `dir`, at any depth (restic restores the backed-up paths in full). */
async function manifestsUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && e.name.endsWith('.manifest.json'))
    .map((e) => path.join(e.parentPath, e.name));
}

/**
 * Restores restic snapshot `record` (a run of tool restic: the client's pg_dump archives with their
 * manifests, tagged client= and instance=) into a temporary folder, then runs the same test as for a dump
 * folder on the newest archive of the record's instance inside it: its sha256 against its manifest, then
 * pg_restore into a throwaway PostgreSQL and every table's row count. The folder is removed afterwards.
 */
export async function resticRestoreTest(
  record: BackupRecord,
  opts: ResticRestoreOptions,
): Promise<RestoreResult> {
  const now = opts.now ?? Date.now;
  const t0 = now();
  const finish = (success: boolean, detail: string): RestoreResult => ({
    success,
    startedAt: new Date(t0).toISOString(),
    finishedAt: new Date(now()).toISOString(),
    durationSeconds: (now() - t0) / 1000,
    pgRestoreSeconds: null,
    detail,
  });
  const id = record.runId.replace(/^restic:/, '');
  // restic prints ids as 64 hex digits; anything else in a run id is not passed to a command line.
  if (!/^[a-f0-9]{8,64}$/.test(id))
    return finish(false, `not restored: ${record.runId} is not a restic snapshot`);
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'backup-restore-restic-'));
  const removeAtExit = () => rmSync(tmp, { recursive: true, force: true });
  process.on('exit', removeAtExit);
  try {
    try {
      // --no-lock: the test only reads, and must not wait on (or block) the backup job's lock.
      await run(opts.restic, ['--no-lock', '-r', opts.repository, 'restore', id, '--target', tmp], {
        timeout: opts.timeoutSeconds * 1000,
        killSignal: 'SIGKILL',
        maxBuffer: 16 << 20,
      });
    } catch (err) {
      const e = err as { killed?: boolean; stderr?: string };
      if (e.killed) return finish(false, `restic restore took longer than ${opts.timeoutSeconds} s`);
      const stderr = String(e.stderr ?? errorMessage(err)).trim();
      return finish(false, `restic restore failed: ${stderr.split('\n').slice(-3).join(' ')}`);
    }
    const dirs = [...new Set((await manifestsUnder(tmp)).map((m) => path.dirname(m)))];
    const archives = [];
    for (const dir of dirs) {
      try {
        archives.push(...(await scanDumpFolder(dir)));
      } catch (err) {
        return finish(false, `restored, but a manifest in the snapshot does not read: ${errorMessage(err)}`);
      }
    }
    const own = archives
      .filter((a) => a.manifest.instance === record.instance && a.manifest.client === record.client)
      .sort((a, b) => Date.parse(b.manifest.finishedAt) - Date.parse(a.manifest.finishedAt));
    if (own.length === 0)
      return finish(false, `restored, but the snapshot holds no pg_dump archive of ${record.instance}`);
    const inner = await restoreTest(own[0]!, { pgRestore: opts.pgRestore, log: opts.log, now });
    return {
      ...inner,
      startedAt: new Date(t0).toISOString(),
      durationSeconds: (now() - t0) / 1000,
      detail: `snapshot ${id.slice(0, 8)}, ${own[0]!.manifest.file}: ${inner.detail}`,
    };
  } finally {
    process.off('exit', removeAtExit);
    await rm(tmp, { recursive: true, force: true });
  }
}
