import path from 'node:path';
import { fileURLToPath } from 'node:url';
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
