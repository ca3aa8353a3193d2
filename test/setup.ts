/**
 * Mocha global setup: one PostgreSQL server for the whole run (embedded in a temporary folder, or the
 * server of DATABASE_URL), and a migrated template database that each test file clones.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '@concierge-ops/embedded-postgres';
import { migrate } from '../control-plane/src/db/migrate.ts';
import { TEMPLATE, adminQuery, databaseUrl } from './helpers/db.ts';

let embedded: EmbeddedDatabase | undefined;
let tmp: string | undefined;

export async function mochaGlobalSetup() {
  if (process.env.DATABASE_URL) {
    process.env.TEST_PG_ADMIN_URL = process.env.DATABASE_URL;
  } else {
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'cp-test-'));
    embedded = await startEmbeddedPostgres(tmp, pino({ level: 'silent' }));
    process.env.TEST_PG_ADMIN_URL = embedded.url;
  }
  // Tests must never see the developer's own database settings.
  delete process.env.DATABASE_URL;
  await adminQuery(`drop database if exists ${TEMPLATE} with (force)`);
  await adminQuery(`create database ${TEMPLATE}`);
  await migrate(databaseUrl(TEMPLATE));
}

export async function mochaGlobalTeardown() {
  await embedded?.stop();
  if (tmp) await fs.rm(tmp, { recursive: true, force: true });
}
