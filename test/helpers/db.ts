import crypto from 'node:crypto';
import pg from 'pg';

/** Admin URL of the test PostgreSQL server, set by test/setup.ts (embedded, or DATABASE_URL). */
export function adminUrl(): string {
  const url = process.env.TEST_PG_ADMIN_URL;
  if (!url) throw new Error('TEST_PG_ADMIN_URL is unset: run the tests through mocha (test/setup.ts)');
  return url;
}

export const TEMPLATE = 'cp_template';

export function databaseUrl(name: string): string {
  const u = new URL(adminUrl());
  u.pathname = `/${name}`;
  return u.toString();
}

export async function adminQuery(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl() });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** A new database cloned from the migrated template: each test file gets its own, so tests stay isolated. */
export async function createTestDatabase(template: string | null = TEMPLATE): Promise<string> {
  const name = `t_${crypto.randomBytes(6).toString('hex')}`;
  await adminQuery(`create database ${name}${template ? ` template ${template}` : ''}`);
  return databaseUrl(name);
}

/**
 * Drops a test database once nothing is connected to it any more. pg's `pool.end()` resolves when it has asked
 * its clients to end, before the server has closed their sessions; dropping `with (force)` at that moment
 * terminates those sessions (57P01) and the clients see an error after their end. So this waits (up to 5 s) for
 * the sessions to go, and forces only what is still there after that.
 */
export async function dropTestDatabase(url: string): Promise<void> {
  const name = new URL(url).pathname.slice(1);
  const client = new pg.Client({ connectionString: adminUrl() });
  await client.connect();
  try {
    for (let waited = 0; waited < 5000; waited += 25) {
      const { rows } = await client.query<{ n: number }>(
        'select count(*)::int as n from pg_stat_activity where datname = $1',
        [name],
      );
      if (rows[0]!.n === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    await client.query(`drop database if exists ${name} with (force)`);
  } finally {
    await client.end();
  }
}
