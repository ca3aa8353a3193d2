import { DateTime } from 'luxon';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Logger } from 'pino';
import type { SecurityConfig } from '../config.ts';
import type { Pool } from '../db/pool.ts';
import { ROLES } from '../http/auth.ts';
import type { AuditService, VerifyResult } from './service.ts';
import * as store from './store.ts';
import { errorMessage } from '@concierge-ops/shared/errors';

/** Action names are words from code (`token.create`); anything else (a forged row) is counted as "other". */
const ACTION = /^[a-z][a-z0-9_]{0,40}(\.[a-z][a-z0-9_]{0,40}){0,3}$/;
/** Distinct action label values at most: the code has about 50; a flood of forged names cannot grow /metrics. */
const MAX_ACTIONS = 200;
/** Records read per scrape at most (in batches): a backlog after a long pause is caught up over a few scrapes. */
const TAIL_BATCH = 20_000;
const TAIL_BATCHES = 5;
/** Listed per kind in the morning report; the count says how many more there were. */
const LIST_MAX = 50;

/** True when `at` lies outside the configured business hours (SECURITY_BUSINESS_HOURS/DAYS, SECURITY_TIME_ZONE). */
export function outsideBusinessHours(at: Date, c: SecurityConfig): boolean {
  const t = DateTime.fromJSDate(at, { zone: c.timeZone });
  if (!c.businessDays.includes(t.weekday)) return true;
  const minute = t.hour * 60 + t.minute;
  return minute < c.businessHours.startMinute || minute >= c.businessHours.endMinute;
}

export interface FlaggedItem {
  at: string;
  seq: number;
  actor: string;
  action: string;
  ip: string | null;
  /** One line for a person: what was flagged. */
  what: string;
}

/** What the morning report lists as suspicious access over its day, read from the audit log and its tables. */
export interface Flagged {
  deniedBursts: { count: number; items: FlaggedItem[] };
  newSources: { count: number; items: FlaggedItem[] };
  afterHoursAdmin: { count: number; items: FlaggedItem[]; hours: string };
  adminTokensCreated: { count: number; items: FlaggedItem[] };
  exports: { count: number; items: FlaggedItem[] };
  verifyFailures: { at: string; seq: number | null; reason: string }[];
  /** Checkpoints not written: the newest is older than twice the cadence (null: checkpoints are off). */
  checkpointsMissing: { newestAt: string | null; everySeconds: number } | null;
}

const hhmm = (m: number) =>
  `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;

/**
 * Watches the audit log for suspicious access: counts its records for /metrics (by action and role, admin
 * actions outside business hours, admin tokens created), verifies the chain as a job, and lists what was
 * flagged for the morning report. Counting reads the chain's new records at scrape time, after what it read
 * before, so it counts what was committed, whoever wrote it: every replica shows the same counts (alert on
 * `max without (instance)`), and a route that records (the export, reads) is counted with no code of its own.
 */
export class AuditWatch {
  private seq: number | undefined;
  private pass: Promise<void> | undefined;
  private readonly actions = new Set<string>();
  private readonly records: Counter<'action' | 'role'>;
  private readonly afterHours: Counter;
  private readonly adminTokens: Counter;

  constructor(
    private readonly pool: Pool,
    private readonly audit: AuditService,
    private readonly security: SecurityConfig,
    /** AUDIT_CHECKPOINT_EVERY_SECONDS where checkpoints are signed; undefined where they are off. */
    private readonly checkpointEverySeconds: number | undefined,
    registry: Registry,
    private readonly log: Logger,
  ) {
    const advance = () => this.advance();
    this.records = new Counter({
      name: 'concierge_ops_audit_records_total',
      help: 'Audit records committed since this process started, by action and by the caller role (system: jobs of the control plane; none: no caller recorded).',
      labelNames: ['action', 'role'],
      registers: [registry],
      collect: advance,
    });
    // Exported from 0, so the first export is an increase (see the AuditExported alert).
    this.records.inc({ action: 'audit.export', role: 'admin' }, 0);
    this.actions.add('audit.export');
    this.afterHours = new Counter({
      name: 'concierge_ops_audit_admin_actions_outside_business_total',
      help: 'Audit records written by an admin token outside SECURITY_BUSINESS_HOURS on SECURITY_BUSINESS_DAYS.',
      registers: [registry],
      collect: advance,
    });
    this.adminTokens = new Counter({
      name: 'concierge_ops_audit_admin_tokens_created_total',
      help: 'Tokens created with the admin role (token.create audit records).',
      registers: [registry],
      collect: advance,
    });
    const newest = () => this.newestVerification();
    new Gauge({
      name: 'concierge_ops_audit_verify_ok',
      help:
        'Whether the newest periodic verification of the audit chain and its checkpoints passed (1) or not (0); ' +
        '0 before the first too, when concierge_ops_audit_verify_timestamp_seconds is 0.',
      registers: [registry],
      async collect() {
        this.set((await newest())?.ok ? 1 : 0);
      },
    });
    new Gauge({
      name: 'concierge_ops_audit_verify_timestamp_seconds',
      help: 'When the newest periodic verification of the audit chain ran (Unix time); 0 before the first.',
      registers: [registry],
      async collect() {
        const v = await newest();
        this.set(v ? v.at.getTime() / 1000 : 0);
      },
    });
    if (checkpointEverySeconds !== undefined)
      new Gauge({
        name: 'concierge_ops_audit_checkpoint_interval_seconds',
        help: 'How often an audit checkpoint is due (AUDIT_CHECKPOINT_EVERY_SECONDS).',
        registers: [registry],
      }).set(checkpointEverySeconds);
  }

  /** One read of the newest verification per scrape, shared by its two gauges; undefined when unreadable. */
  private verification: Promise<store.DbVerification | undefined> | undefined;
  private newestVerification() {
    this.verification ??= store
      .newestVerification(this.pool)
      .catch(() => undefined)
      .finally(() => (this.verification = undefined));
    return this.verification;
  }

  /** Counts the records committed since the last call; the collects of one scrape (concurrent) share a pass. */
  advance(): Promise<void> {
    this.pass ??= this.read()
      .catch((err: unknown) =>
        this.log.warn({ err: errorMessage(err) }, 'audit: new records could not be counted for /metrics'),
      )
      .finally(() => (this.pass = undefined));
    return this.pass;
  }

  private async read(): Promise<void> {
    // A new process counts from the log's end: counters start at 0, and Prometheus's increase() spans restarts.
    if (this.seq === undefined) {
      this.seq = await store.lastSeq(this.pool);
      return;
    }
    for (let i = 0; i < TAIL_BATCHES; i++) {
      const groups = await store.tail(this.pool, this.seq, TAIL_BATCH);
      let read = 0;
      for (const g of groups) {
        read += g.n;
        this.seq = Math.max(this.seq, g.last);
        this.records.inc({ action: this.actionLabel(g.action), role: roleLabel(g.role) }, g.n);
        const late = g.admin_at.filter((at) => outsideBusinessHours(at, this.security)).length;
        if (late > 0) this.afterHours.inc(late);
        if (g.admin_tokens > 0) this.adminTokens.inc(g.admin_tokens);
      }
      if (read < TAIL_BATCH) return;
    }
  }

  private actionLabel(action: string): string {
    if (this.actions.has(action)) return action;
    if (!ACTION.test(action) || this.actions.size >= MAX_ACTIONS) return 'other';
    this.actions.add(action);
    return action;
  }

  /** Verifies the chain and its checkpoints, and keeps the result for /metrics and the morning report. */
  async verify(): Promise<VerifyResult> {
    const r = await this.audit.verify();
    await store.insertVerification(this.pool, r);
    return r;
  }

  /** What was flagged since `since`, from the audit log and the verification table; `newestCheckpointAt` from the file. */
  async flagged(since: Date, now: Date, newestCheckpointAt: string | null): Promise<Flagged> {
    await this.audit.flush();
    const rows = await store.flaggedSince(this.pool, since, 5000);
    const kinds = {
      deniedBursts: [] as FlaggedItem[],
      newSources: [] as FlaggedItem[],
      afterHoursAdmin: [] as FlaggedItem[],
      adminTokensCreated: [] as FlaggedItem[],
      exports: [] as FlaggedItem[],
    };
    for (const r of rows) {
      const base = { at: r.at.toISOString(), seq: r.seq, actor: r.actor, action: r.action, ip: r.ip };
      const after = (r.after ?? {}) as Record<string, unknown>;
      if (r.action === 'security.denied_burst')
        kinds.deniedBursts.push({
          ...base,
          ip: (after.source as string | null) ?? null,
          what:
            `${String(after.count)} denied requests within ${String(after.windowSeconds)} s ` +
            (after.by === 'token'
              ? `with token ${describeToken(after.token)}`
              : `from ${String(after.source)}`),
        });
      else if (r.action === 'token.new_source')
        kinds.newSources.push({
          ...base,
          what: `token ${r.token_name ?? '?'} (${r.role ?? '?'}, ${r.token_id?.slice(0, 8) ?? '?'}) used from new address ${r.ip ?? '?'}`,
        });
      else if (r.action === 'token.create' && after.role === 'admin')
        kinds.adminTokensCreated.push({
          ...base,
          what: `admin token ${String(after.name)} created by ${r.actor}`,
        });
      else if (r.action === 'audit.export')
        kinds.exports.push({ ...base, what: `audit log exported by ${r.actor}` });
      // Any admin action, the two above included, may also be after hours.
      if (r.role === 'admin' && r.action !== 'token.new_source' && outsideBusinessHours(r.at, this.security))
        kinds.afterHoursAdmin.push({ ...base, what: `${r.action} by ${r.actor}` });
    }
    const list = (items: FlaggedItem[]) => ({ count: items.length, items: items.slice(0, LIST_MAX) });
    const sec = this.security;
    const every = this.checkpointEverySeconds;
    const stale =
      every !== undefined &&
      (newestCheckpointAt === null || now.getTime() - Date.parse(newestCheckpointAt) > 2 * every * 1000);
    return {
      deniedBursts: list(kinds.deniedBursts),
      newSources: list(kinds.newSources),
      afterHoursAdmin: {
        ...list(kinds.afterHoursAdmin),
        hours: `${hhmm(sec.businessHours.startMinute)}-${hhmm(sec.businessHours.endMinute)} ${sec.timeZone}, ISO weekdays ${sec.businessDays.join(',')}`,
      },
      adminTokensCreated: list(kinds.adminTokensCreated),
      exports: list(kinds.exports),
      verifyFailures: (await store.failedVerificationsSince(this.pool, since)).map((v) => ({
        at: v.at.toISOString(),
        seq: v.first_broken?.seq ?? null,
        reason: v.first_broken?.reason ?? 'unknown',
      })),
      checkpointsMissing: stale ? { newestAt: newestCheckpointAt, everySeconds: every } : null,
    };
  }
}

function roleLabel(role: string | null): string {
  if (role === null) return 'none';
  // The control plane's own jobs (audit/service.ts systemJob): not a token role, but a bounded label of its own.
  if (role === 'system') return 'system';
  return (ROLES as readonly string[]).includes(role) ? role : 'other';
}

function describeToken(t: unknown): string {
  const o = (t ?? {}) as { id?: string; name?: string; role?: string };
  return `${o.name ?? '?'} (${o.role ?? '?'}, ${o.id?.slice(0, 8) ?? '?'})`;
}
