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

export async function dropTestDatabase(url: string): Promise<void> {
  const name = new URL(url).pathname.slice(1);
  await adminQuery(`drop database if exists ${name} with (force)`);
}
