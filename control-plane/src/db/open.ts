import type { Logger } from 'pino';
import type pg from 'pg';
import type { Config } from '../config.ts';
import {
  ensureDatabase,
  overSocket,
  runningEmbedded,
  startEmbeddedPostgres,
  type EmbeddedDatabase,
} from './embedded.ts';
import { migrate } from './migrate.ts';
import { createPool } from './pool.ts';

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
 * Either way the migrations run before the pool is handed out. A folder another live process owns is refused
 * (DataDirInUseError), unless `shareRunning` (the CLIs): then this process uses that process's server as it is
 * (no migrations: they are its owner's), and leaves it running at close.
 */
export async function openDatabase(
  config: Config,
  log: Logger,
  opts: { shareRunning?: boolean } = {},
): Promise<Database> {
  let embedded: EmbeddedDatabase | undefined;
  let url = config.databaseUrl;
  const running = !url && opts.shareRunning ? await runningEmbedded(config.dataDir) : undefined;
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
  if (!url) {
    embedded = await startEmbeddedPostgres(config.dataDir, log, config.embeddedPgPort);
    url = await ensureDatabase(embedded.url, 'concierge_ops');
  }
  try {
    const applied = await migrate(url, log);
    if (applied.length > 0) log.info({ applied }, 'migrations applied');
  } catch (err) {
    await embedded?.stop();
    throw err;
  }
  // The embedded server's own connections go through its unix socket (cheaper than loopback TCP).
  if (embedded) url = overSocket(url, embedded.socketDir);
  const pool = createPool(url, log, config.databasePoolSize);
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
