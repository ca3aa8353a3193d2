import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import type { Logger } from 'pino';
import type { RecordSource } from '../exporter.ts';
import { pgbackrestRestoreTest, type PgbackrestRestoreOptions } from '../restore-pgbackrest.ts';
import { resticRestoreTest } from '../restore-restic.ts';
import { parsePgbackrestInfo, type StanzaTarget } from './pgbackrest.ts';
import { parseResticSnapshots } from './restic.ts';

const run = promisify(execFile);

/**
 * `restic snapshots --json` against a repository (restic reads RESTIC_PASSWORD or RESTIC_PASSWORD_FILE from
 * the environment it inherits), or a file holding that output when the backup host writes it for us.
 */
export function resticSource(opts: {
  repository?: string;
  file?: string;
  restic?: string;
  /** With a repository: restore tests of its snapshots (restore-restic.ts). */
  restore?: { pgRestore: string; log: Logger; timeoutSeconds: number };
}): RecordSource {
  const { repository, restore } = opts;
  return {
    name: 'restic',
    ...(repository && restore
      ? {
          restoreTest: (record) =>
            resticRestoreTest(record, { ...restore, restic: opts.restic ?? 'restic', repository }),
        }
      : {}),
    async read() {
      const text = opts.file
        ? await readFile(opts.file, 'utf8')
        : (
            await run(opts.restic ?? 'restic', ['--no-lock', '-r', opts.repository!, 'snapshots', '--json'], {
              maxBuffer: 64 << 20,
            })
          ).stdout;
      return parseResticSnapshots(text, opts.repository ?? opts.file!).records;
    },
  };
}

/** `pgbackrest info --output=json` (all stanzas of the host's pgbackrest.conf), or a file holding it. */
export function pgbackrestSource(opts: {
  targets: ReadonlyMap<string, StanzaTarget>;
  file?: string;
  pgbackrest?: string;
  /** Restore tests of the newest set of each stanza (restore-pgbackrest.ts); not with `file`. */
  restore?: Omit<PgbackrestRestoreOptions, 'pgbackrest'>;
}): RecordSource {
  const { restore } = opts;
  return {
    name: 'pgbackrest',
    ...(restore && !opts.file
      ? {
          restoreTest: (record) =>
            pgbackrestRestoreTest(record, { ...restore, pgbackrest: opts.pgbackrest ?? 'pgbackrest' }),
        }
      : {}),
    async read() {
      const text = opts.file
        ? await readFile(opts.file, 'utf8')
        : (await run(opts.pgbackrest ?? 'pgbackrest', ['info', '--output=json'], { maxBuffer: 64 << 20 }))
            .stdout;
      return parsePgbackrestInfo(text, opts.targets).records;
    },
  };
}
