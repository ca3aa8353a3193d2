import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Logger as WorkerLogger, runMigrations } from 'graphile-worker';
import pg from 'pg';
import type { Logger } from 'pino';

export const MIGRATIONS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../migrations');

/**
 * Applies every pending migration. node-pg-migrate holds its advisory lock while it runs, so several replicas
 * starting at once migrate exactly once.
 */
export async function migrate(databaseUrl: string, log?: Logger): Promise<string[]> {
  // Every start but the first after an upgrade has nothing to apply. node-pg-migrate (20 MB and about a
  // second to load, with the TypeScript loader it bundles) is then left unloaded; whenever the applied list
  // is not exactly the folder's files in order, it takes its lock and decides, as it always did.
  if (await upToDate(databaseUrl)) return [];
  const { runner } = await import('node-pg-migrate');
  const applied = await runner({
    databaseUrl,
    dir: MIGRATIONS_DIR,
    direction: 'up',
    migrationsTable: 'pgmigrations',
    count: Infinity,
    checkOrder: true,
    log: (msg: string) => log?.debug({ migrate: msg }, 'migrate'),
  });
  return applied.map((m) => m.name);
}

/**
 * Whether the migrations node-pg-migrate has run (its table, in the order it reads them) are exactly the files
 * of MIGRATIONS_DIR in name order: then it would apply nothing. A missing table, a pending file or any other
 * difference answers false. Read without the advisory lock: a replica migrating meanwhile leaves a list
 * that is not complete, which answers false, and node-pg-migrate then waits for its lock.
 */
async function upToDate(databaseUrl: string): Promise<boolean> {
  const files = (await fs.readdir(MIGRATIONS_DIR))
    .filter((f) => f.endsWith('.sql'))
    .map((f) => f.slice(0, -'.sql'.length))
    .sort();
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const table = await client.query<{ t: string | null }>(`select to_regclass('public.pgmigrations') as t`);
    if (!table.rows[0]!.t) return false;
    const { rows } = await client.query<{ name: string }>(
      'select name from public.pgmigrations order by run_on, id',
    );
    return rows.length === files.length && rows.every((r, i) => r.name === files[i]);
  } finally {
    await client.end();
  }
}

/**
 * Creates or upgrades graphile-worker's schema, as the role that runs the migrations: the control plane's own
 * role then only reads and writes its tables (graphile-worker's start finds the schema current and changes
 * nothing).
 */
export async function migrateJobs(databaseUrl: string, log?: Logger): Promise<void> {
  const logger = new WorkerLogger(() => (level, message) => {
    if (level === 'error' || level === 'warning') log?.warn({ migrate: message }, 'job schema migration');
  });
  await runMigrations({ connectionString: databaseUrl, logger });
}
