import type { Logger } from 'pino';
import pg from 'pg';
import type { Config } from '../config.ts';
import {
  ensureDatabase,
  overSocket,
  runningEmbedded,
  startEmbeddedPostgres,
  type EmbeddedDatabase,
} from '@concierge-ops/embedded-postgres';
import { migrate, migrateJobs } from './migrate.ts';
import { createPool } from './pool.ts';
import {
  adoptDatabase,
  APP_ROLE,
  asRole,
  ensureLoginRoles,
  grantAppRole,
  OWNER_ROLE,
  rolePassword,
  warnIfPrivileged,
} from './roles.ts';

export interface Database {
  readonly pool: pg.Pool;
  /** The URL the pool connects to (holds a password: never log it). */
  readonly url: string;
  readonly embedded: EmbeddedDatabase | undefined;
  /** The process whose embedded server this one uses (opened with `shareRunning`), if any. */
  readonly sharedWith: number | undefined;
  close(): Promise<void>;
}

/**
 * DATABASE_URL when set; otherwise an embedded PostgreSQL under DATA_DIR with a `concierge_ops` database.
 * Either way the migrations run before the pool is handed out, as the owner role (the embedded default's
 * OWNER_ROLE, or MIGRATION_DATABASE_URL's), and the pool connects as the app role (APP_ROLE, or DATABASE_URL's),
 * which is then granted what it needs and no more (see roles.ts). A folder another live process owns is refused
 * (DataDirInUseError), unless `shareRunning` (the CLIs): then this process uses that process's server as it is
 * (no migrations: they are its owner's), and leaves it running at close.
 */
export async function openDatabase(
  config: Config,
  log: Logger,
  opts: {
    shareRunning?: boolean;
    /** Run as the owner role once the app role has its grants (main.ts: the audit retention, audit/retention.ts). */
    asOwner?: (owner: pg.Client) => Promise<void>;
  } = {},
): Promise<Database> {
  const running =
    !config.databaseUrl && opts.shareRunning ? await runningEmbedded(config.dataDir) : undefined;
  if (running) {
    const u = new URL(running.url);
    u.pathname = '/concierge_ops';
    const pool = createPool(overSocket(u.toString(), running.socketDir), log, 2);
    return {
      pool,
      url: u.toString(),
      embedded: undefined,
      sharedWith: running.ownerPid,
      close: () => pool.end(),
    };
  }
  let embedded: EmbeddedDatabase | undefined;
  let url: string;
  let ownerUrl: string;
  try {
    if (config.databaseUrl) {
      url = config.databaseUrl;
      ownerUrl = config.migrationDatabaseUrl ?? url;
    } else {
      embedded = await startEmbeddedPostgres(config.dataDir, log, config.embeddedPgPort);
      const passwords = {
        [OWNER_ROLE]: await rolePassword(config.dataDir, OWNER_ROLE),
        [APP_ROLE]: await rolePassword(config.dataDir, APP_ROLE),
      };
      await ensureLoginRoles(embedded.url, passwords);
      const superDb = await ensureDatabase(embedded.url, 'concierge_ops', OWNER_ROLE);
      // A folder from before the role split: everything there is the superuser's until moved.
      const moved = await adoptDatabase(superDb, OWNER_ROLE);
      if (moved > 0)
        log.info({ objects: moved, owner: OWNER_ROLE }, 'database objects handed to the owner role');
      // The embedded server's own connections go through its unix socket (cheaper than loopback TCP).
      const local = overSocket(superDb, embedded.socketDir);
      ownerUrl = asRole(local, OWNER_ROLE, passwords[OWNER_ROLE]);
      url = asRole(local, APP_ROLE, passwords[APP_ROLE]);
    }
    const applied = await migrate(ownerUrl, log);
    if (applied.length > 0) log.info({ applied }, 'migrations applied');
    // The job schema too, before the first webhook adds an escalation job in its transaction.
    await migrateJobs(ownerUrl, log);
  } catch (err) {
    await embedded?.stop();
    throw err;
  }
  const pool = createPool(url, log, config.databasePoolSize);
  try {
    if (ownerUrl !== url) {
      const { rows } = await pool.query<{ role: string }>('select current_user as role');
      await grantAppRole(ownerUrl, rows[0]!.role);
    }
    if (opts.asOwner) await asOwner(ownerUrl, opts.asOwner);
    await warnIfPrivileged(pool, log);
  } catch (err) {
    await pool.end();
    await embedded?.stop();
    throw err;
  }
  return {
    pool,
    url,
    embedded,
    sharedWith: undefined,
    async close() {
      await pool.end();
      await embedded?.stop();
    },
  };
}

async function asOwner(ownerUrl: string, fn: (owner: pg.Client) => Promise<void>): Promise<void> {
  const c = new pg.Client({ connectionString: ownerUrl });
  await c.connect();
  try {
    await fn(c);
  } finally {
    await c.end();
  }
}
