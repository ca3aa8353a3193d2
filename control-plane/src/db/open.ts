import type { Logger } from 'pino';
import type pg from 'pg';
import type { Config } from '../config.ts';
import { ensureDatabase, overSocket, startEmbeddedPostgres, type EmbeddedDatabase } from './embedded.ts';
import { migrate } from './migrate.ts';
import { createPool } from './pool.ts';

export interface Database {
  readonly pool: pg.Pool;
  /** The URL the pool connects to (holds a password: never log it). */
  readonly url: string;
  readonly embedded: EmbeddedDatabase | undefined;
  close(): Promise<void>;
}

/**
 * DATABASE_URL when set; otherwise an embedded PostgreSQL under DATA_DIR with a `concierge_ops` database.
 * Either way the migrations run before the pool is handed out.
 */
export async function openDatabase(config: Config, log: Logger): Promise<Database> {
  let embedded: EmbeddedDatabase | undefined;
  let url = config.databaseUrl;
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
    async close() {
      await pool.end();
      await embedded?.stop();
    },
  };
}
