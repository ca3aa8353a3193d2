/**
 * The control plane as a child process for the attack suites (test/integration/api-fuzz, api-matrix): a request
 * that blocks the event loop (an unbounded range, a runaway recurrence) must not block the test that sent it,
 * so the test can give up on it, kill this process and start another on the same database.
 * No workers: nothing changes rows behind the test's back between its before and after snapshots.
 */
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import pg from 'pg';
import { loadConfig } from '../../../control-plane/src/config.ts';
import { createContext } from '../../../control-plane/src/context.ts';
import { createApp } from '../../../control-plane/src/app.ts';

const config = loadConfig({
  DATABASE_URL: process.env.ATTACK_DATABASE_URL ?? '',
  BOOTSTRAP_ADMIN_TOKEN: process.env.ATTACK_ADMIN_TOKEN ?? '',
  LOG_LEVEL: 'error',
  PORT: '0',
  // The attacks send denied requests by the thousand on purpose: a burst record in the audit log would be the
  // control plane noticing, not the refused request changing something, so bursts are out of reach here
  // (test/integration/security-alerts.test.ts covers them).
  SECURITY_DENIED_BURST: '100000',
});
// Errors go to stdout as JSON lines: the test finds a 500's cause there by its request id.
const log = pino({ level: config.logLevel });
const pool = new pg.Pool({ connectionString: config.databaseUrl, max: 10 });
const ctx = createContext(config, log, pool);
await ctx.tokens.bootstrap(config.bootstrapAdminToken);
await ctx.paging.workers.migrate();
const server: http.Server = await new Promise((resolve) => {
  const s = createApp(ctx).listen(0, '127.0.0.1', () => resolve(s));
});
process.stdout.write(`attack target on http://127.0.0.1:${(server.address() as AddressInfo).port}\n`);
