import pg from 'pg';
import type { Logger } from 'pino';

export type Pool = pg.Pool;
export type Tx = pg.PoolClient;
export type Queryable = pg.Pool | pg.PoolClient | pg.Client;

// timestamptz as Date, bigint counts as numbers (they stay far below 2^53 here).
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));
pg.types.setTypeParser(pg.types.builtins.NUMERIC, (v) => Number(v));

export function createPool(connectionString: string, log: Logger, max: number): pg.Pool {
  const pool = new pg.Pool({ connectionString, max, application_name: 'concierge-ops' });
  // An idle client losing its connection must not crash the process; the next query reconnects.
  pool.on('error', (err) => log.warn({ err: err.message }, 'idle database connection failed'));
  // Nor one that is checked out (a transaction, graphile-worker's LISTEN): pg emits 'error' on the client as well
  // as failing its query, and an 'error' no one listens to ends the process. The failed query is its caller's to
  // handle; graphile-worker adds a listener like this only to clients made while a runner of its is up.
  pool.on('connect', (client) =>
    client.on('error', (err) => log.debug({ err: err.message }, 'database connection in use failed')),
  );
  return pool;
}

const RETRYABLE = new Set(['40001', '40P01']);

/**
 * SQLSTATEs of a server that is going away or not there yet (admin/crash shutdown, starting up, out of
 * connections); class 08 (connection exceptions) is matched as a whole.
 */
const UNAVAILABLE = new Set(['57P01', '57P02', '57P03', '53300']);
/** What pg and the socket say when the connection could not be made or was lost. */
const LOST =
  /Connection terminated|not queryable|timeout exceeded when trying to connect|connect (ECONNREFUSED|ENOENT)/;

/**
 * True when `err` says the database cannot be reached now (stopped, restarting, unreachable) rather than that
 * the statement was wrong: the request may succeed later, so it is a 503, not a 500.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  const e = err as { code?: unknown; syscall?: unknown; message?: unknown } | null;
  if (!e || typeof e !== 'object') return false;
  const code = typeof e.code === 'string' ? e.code : '';
  if (UNAVAILABLE.has(code) || /^08/.test(code)) return true;
  if (e.syscall === 'connect' || ['ECONNRESET', 'EPIPE'].includes(code)) return true;
  return typeof e.message === 'string' && LOST.test(e.message);
}

/**
 * Runs `fn` in one transaction: commit on success, rollback on error. Serialization failures and deadlocks
 * (40001, 40P01) are retried a few times because PostgreSQL asks the client to.
 */
export async function withTx<T>(pool: pg.Pool, fn: (tx: pg.PoolClient) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const tx = await pool.connect();
    try {
      await tx.query('begin');
      const result = await fn(tx);
      await tx.query('commit');
      return result;
    } catch (err) {
      await tx.query('rollback').catch(() => undefined);
      const code = (err as { code?: string }).code;
      if (code && RETRYABLE.has(code) && attempt < 5) continue;
      throw err;
    } finally {
      tx.release();
    }
  }
}

/** A uuid as PostgreSQL writes it: `{id or name}` path parameters test with it before querying an id column. */
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
