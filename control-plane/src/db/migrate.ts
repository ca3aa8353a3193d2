import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Logger as WorkerLogger, runMigrations } from 'graphile-worker';
import { runner } from 'node-pg-migrate';
import type { Logger } from 'pino';

export const MIGRATIONS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../migrations');

/**
 * Applies every pending migration. node-pg-migrate holds its advisory lock while it runs, so several replicas
 * starting at once migrate exactly once.
 */
export async function migrate(databaseUrl: string, log?: Logger): Promise<string[]> {
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
