import crypto from 'node:crypto';
import { DateTime } from 'luxon';
import type { Pool } from '../db/pool.ts';
import { ValidationError } from '../http/errors.ts';
import { MONTH } from '../http/formats.ts';
import type { Checkpoint } from './checkpoints.ts';
import * as rs from './report-store.ts';
import { FLAG_ACTIONS } from './store.ts';
import type { AuditService } from './service.ts';

/** One record as the report lists it. */
export interface ReportItem {
  seq: number;
  at: string;
  actor: string;
  tokenName: string | null;
  role: string | null;
  clientId: string | null;
  ip: string | null;
  action: string;
  target: string;
  detail: unknown;
}

/** What an auditor reads for a month, per provider (every record) or per client (its records only). */
export interface AuditReport {
  format: 'concierge-ops audit report v1';
  scope: { kind: 'provider' } | { kind: 'client'; id: string; slug: string; name: string };
  month: string;
  /** Calendar months in UTC: [from, to). `complete` is false while the month is under way. */
  period: { from: string; to: string; complete: boolean };
  generatedAt: string;
  access: {
    byActor: {
      actor: string;
      tokenId: string | null;
      tokenName: string | null;
      role: string | null;
      records: number;
      reads: number;
      changes: number;
    }[];
    byAction: { action: string; role: string | null; count: number }[];
    total: number;
  };
  changes: { count: number; items: ReportItem[] };
  denied: { bursts: number; items: ReportItem[] };
  exports: { count: number; items: ReportItem[] };
  reads: { count: number; items: ReportItem[] };
  flagged: { count: number; items: ReportItem[] };
  verification: {
    /** The whole chain and every checkpoint, checked when the report was made. */
    atGeneration: { ok: boolean; rows: number; firstBroken: unknown; verifiedThrough: unknown };
    /** The periodic verify job's runs during the month. */
    duringMonth: { runs: number; failed: number; newest: { at: string; ok: boolean } | null };
    /** The month's newest record in the whole chain, and the earliest signed checkpoint covering it. */
    lastSeq: number | null;
    checkpoint: Checkpoint | null;
  };
}

/** A YYYY-MM (years 0001-9999, the shared rule) not after the current UTC month: else a 400 naming `field`. */
export function checkAuditMonth(month: string, now: Date, field = '/month'): void {
  if (!MONTH.test(month))
    throw new ValidationError('month is invalid', [
      { field, message: 'must be YYYY-MM with a year 0001 to 9999' },
    ]);
  if (month > now.toISOString().slice(0, 7))
    throw new ValidationError('month is in the future', [
      { field, message: 'must not be after the current month (UTC)' },
    ]);
}

function item(r: rs.DbReportRecord): ReportItem {
  return {
    seq: Number(r.seq),
    at: r.at.toISOString(),
    actor: r.actor,
    tokenName: r.token_name,
    role: r.role,
    clientId: r.client_id,
    ip: r.ip,
    action: r.action,
    target: r.target_id === null ? r.target_type : `${r.target_type} ${r.target_id}`,
    detail: r.after,
  };
}

/** Composes a month's audit report from the audit log (SQL aggregates bounded by the month) and verification. */
export async function composeAuditReport(
  pool: Pool,
  audit: AuditService,
  scope: AuditReport['scope'],
  month: string,
  now: Date,
): Promise<AuditReport> {
  checkAuditMonth(month, now);
  const start = DateTime.fromISO(`${month}-01T00:00:00Z`, { zone: 'utc' });
  const s: rs.ReportScope = {
    from: start.toJSDate(),
    to: start.plus({ months: 1 }).toJSDate(),
    client: scope.kind === 'client' ? { id: scope.id, slug: scope.slug } : null,
  };
  // What is staged belongs to the month too: chain it before counting.
  await audit.flush();
  const [byActor, byAction, changes, denied, exports, reads, flagged, verified, runs, lastSeq] =
    await Promise.all([
      rs.accessByActor(pool, s),
      rs.countsByAction(pool, s),
      rs.records(pool, s, rs.CHANGE_ACTIONS),
      rs.records(pool, s, ['security.denied_burst']),
      rs.records(pool, s, ['audit.export']),
      rs.records(pool, s, rs.READ_ACTIONS),
      rs.records(pool, s, FLAG_ACTIONS, true),
      audit.verify(),
      rs.verifications(pool, s),
      rs.lastSeqBefore(pool, s.to),
    ]);
  const checkpoint = lastSeq === null ? null : await audit.checkpointCovering(lastSeq);
  return {
    format: 'concierge-ops audit report v1',
    scope,
    month,
    period: { from: s.from.toISOString(), to: s.to.toISOString(), complete: s.to <= now },
    generatedAt: now.toISOString(),
    access: {
      byActor: byActor.map((a) => ({
        actor: a.actor,
        tokenId: a.token_id,
        tokenName: a.token_name,
        role: a.role,
        records: a.records,
        reads: a.reads,
        changes: a.changes,
      })),
      byAction: byAction.map((a) => ({ action: a.action, role: a.role, count: a.n })),
      total: byAction.reduce((n, a) => n + a.n, 0),
    },
    changes: { count: changes.count, items: changes.items.map(item) },
    denied: { bursts: denied.count, items: denied.items.map(item) },
    exports: { count: exports.count, items: exports.items.map(item) },
    reads: { count: reads.count, items: reads.items.map(item) },
    flagged: { count: flagged.count, items: flagged.items.map(item) },
    verification: {
      atGeneration: {
        ok: verified.ok,
        rows: verified.rows,
        firstBroken: verified.firstBroken,
        verifiedThrough: verified.verifiedThrough,
      },
      duringMonth: {
        runs: runs.runs,
        failed: runs.failed,
        newest: runs.newest ? { at: runs.newest.at.toISOString(), ok: runs.newest.ok } : null,
      },
      lastSeq,
      checkpoint,
    },
  };
}

export const sha256 = (b: string | Buffer) => crypto.createHash('sha256').update(b).digest('hex');
