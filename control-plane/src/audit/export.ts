import type { Writable } from 'node:stream';
import type { Pool } from '../db/pool.ts';
import type { Auth } from '../http/auth.ts';
import { parseRange } from '../http/range.ts';
import { exportWriter, type ExportFormat, type ExportIntegrity } from './export-formats.ts';
import type { AuditService } from './service.ts';
import * as store from './store.ts';

export interface ExportQuery {
  from?: string;
  to?: string;
  actor?: string;
  client?: string;
  action?: string;
  format?: ExportFormat;
}

/** At most a year (and a leap day) per export: a longer history is several files, each checked on its own. */
const MAX_SPAN_DAYS = 366;
const DEFAULT_SPAN_DAYS = 31;
/**
 * Seqs read per statement. 1,000 records of a few hundred bytes each keep each statement short, and what waits
 * for a slow reader small. Memory stays flat because no record outlives its own row: pg hands rows over one at
 * a time (store.exportWindow) and the writers hold at most CHUNK characters before writing (export-formats.ts).
 * Holding each window's rows and its text (one string of some 700 KiB) instead, the control plane's resident
 * memory grew 103-136 MiB over a million records, in a sawtooth of full collections; row by row, 7-17 MiB
 * (bench:audit, docs/audit.md).
 */
const WINDOW = 1000;

/** The query's range and filters, checked with the rule every range-taking route uses: a 400 names the field. */
export function exportFilter(q: ExportQuery, now = new Date()): store.ExportFilter {
  // Looks back from now; a longer history is exported in parts.
  const { from, to } = parseRange(
    q,
    { maxDays: MAX_SPAN_DAYS, defaultDays: DEFAULT_SPAN_DAYS, anchor: 'to' },
    now,
  );
  return {
    from,
    to,
    actor: q.actor ?? null,
    client: q.client ?? null,
    action: q.action ?? null,
  };
}

/**
 * Streams the records in the filter's range to `out` in constant memory (keyset pagination on seq, a window at
 * a time, waiting for the reader between windows), then the integrity block; records the export itself, with
 * its filters and how many records left, also when the reader went away midway.
 */
export async function runExport(
  pool: Pool,
  audit: AuditService,
  by: { auth: Auth; requestId: string },
  f: store.ExportFilter,
  format: ExportFormat,
  out: Writable,
): Promise<void> {
  await audit.flush();
  const head = await store.head(pool);
  const through = head?.seq ?? 0;
  // The newest checkpoint must cover the newest record exported: sign one now when none does yet, so an
  // unfiltered export up to now ends exactly at a signed hash.
  let checkpoint = (await audit.newestCheckpoint()) ?? null;
  if (audit.canSign && (!checkpoint || checkpoint.seq < through)) checkpoint = await audit.checkpoint();
  const filters = {
    from: f.from.toISOString(),
    to: f.to.toISOString(),
    actor: f.actor,
    client: f.client,
    action: f.action,
  };
  const writer = exportWriter(format, out, `Audit log ${filters.from} to ${filters.to}`);
  let rows = 0;
  // Set by `take` below, as rows arrive (a cast, so that TypeScript does not take them for always null).
  let first = null as ExportIntegrity['first'];
  let last = null as ExportIntegrity['last'];
  const recordExport = (finished: boolean) =>
    audit.record(pool, by.auth, by.requestId, {
      action: 'audit.export',
      targetType: 'audit',
      targetId: null,
      after: { format, filters, rows, firstSeq: first?.seq ?? null, lastSeq: last?.seq ?? null, finished },
    });
  let recorded = false;
  try {
    const range = await store.seqRange(pool, f, through);
    const take = (r: store.DbExportRow) => {
      first ??= { seq: r.seq, prevHash: r.prev_hash, hash: r.hash };
      last = { seq: r.seq, hash: r.hash };
      rows++;
      writer.row(r);
    };
    for (let after = range ? range.first - 1 : 0; range && after < range.last; after += WINDOW) {
      // A window at a time, then wait for the reader: at most a window's text waits in memory for it.
      if ((await store.exportWindow(pool, f, after, Math.min(after + WINDOW, range.last), take)) > 0)
        await writer.flush();
    }
    // Recorded before the file's end goes out, so whoever holds a whole export finds it in the log.
    await recordExport(true);
    recorded = true;
    await writer.finish({
      format: 'concierge-ops audit export v1',
      filters,
      through,
      complete: f.actor === null && f.client === null && f.action === null,
      rows,
      first,
      last,
      checkpoint: checkpoint && (!last || checkpoint.seq >= last.seq) ? checkpoint : null,
    });
  } finally {
    // The reader went away, or the database failed, midway: what left is recorded all the same.
    if (!recorded) await recordExport(false);
  }
}
