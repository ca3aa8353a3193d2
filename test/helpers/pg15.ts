import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '@concierge-ops/shared/ports';
import { requireTool } from './tools.ts';
import { reachableTempDir } from './process.ts';

const run = promisify(execFile);
export const PG15_BIN = '/usr/lib/postgresql/15/bin';

export interface Pg15 {
  port: number;
  dir: string;
  /** Runs a shell command as the `postgres` system user (pgBackRest and the server need that user). */
  asPostgres(cmd: string): Promise<string>;
  stop(): Promise<void>;
}

const sh = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * A PostgreSQL 15 server from Debian's packages (pg_dump 15 refuses to dump the embedded 17), run by the
 * `postgres` system user with trust auth on loopback in a temporary folder. `extraConf(dir)` goes to postgresql.conf.
 */
export async function startPg15(extraConf: (dir: string) => string = () => ''): Promise<Pg15> {
  for (const bin of ['initdb', 'pg_ctl', 'postgres'])
    await fs.access(path.join(PG15_BIN, bin)).catch(() => {
      throw new Error(
        'PostgreSQL 15 is not installed: apt-get install -y --no-install-recommends postgresql-15',
      );
    });
  requireTool('pg_dump');
  const dir = await reachableTempDir('pg15-');
  const data = path.join(dir, 'data');
  const port = await freePort();
  const asPostgres = async (cmd: string) =>
    (await run('su', ['postgres', '-s', '/bin/sh', '-c', cmd], { maxBuffer: 64 << 20 })).stdout;
  await fs.chown(dir, ...(await postgresIds()));
  await asPostgres(`${PG15_BIN}/initdb -D ${sh(data)} -A trust -U postgres >/dev/null`);
  await fs.appendFile(
    path.join(data, 'postgresql.conf'),
    `\nlisten_addresses = '127.0.0.1'\nport = ${port}\nunix_socket_directories = ${sh(dir)}\n${extraConf(dir)}\n`,
  );
  await asPostgres(`${PG15_BIN}/pg_ctl -D ${sh(data)} -l ${sh(dir + '/log')} -w start >/dev/null`);
  return {
    port,
    dir,
    asPostgres,
    async stop() {
      await asPostgres(`${PG15_BIN}/pg_ctl -D ${sh(data)} -m fast -w stop >/dev/null`).catch(() => undefined);
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
}

async function postgresIds(): Promise<[number, number]> {
  const { stdout } = await run('id', ['-u', 'postgres']);
  const { stdout: g } = await run('id', ['-g', 'postgres']);
  return [Number(stdout.trim()), Number(g.trim())];
}
