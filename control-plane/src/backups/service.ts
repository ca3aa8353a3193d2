import { isDeepStrictEqual } from 'node:util';
import { DateTime } from 'luxon';
import type { Pool } from '../db/pool.ts';
import { withTx } from '../db/pool.ts';
import type { AuditService } from '../audit/service.ts';
import type { FleetService } from '../fleet/service.ts';
import { actorName, type Auth } from '../http/auth.ts';
import { ConflictError, ValidationError, type FieldError } from '../http/errors.ts';
import {
  DEFAULT_POLICY,
  pitrWindow,
  retentionCalendar,
  type RetentionPolicy,
} from '@concierge-ops/shared/retention';
import { instanceStatus, type InstanceBackupStatus } from './status.ts';
import type { BackupRunInput, PolicyPatch, RestoreTestInput } from './schemas.ts';
import * as store from './store.ts';

export interface Reported<T> {
  /** False when the same report had already been accepted (a retry): nothing changed. */
  created: boolean;
  value: T;
}

const iso = (d: Date | null) => d?.toISOString() ?? null;
const date = (s: string | undefined) => (s === undefined ? null : new Date(s));

export function runView(r: store.DbBackupRun) {
  return {
    runId: r.run_id,
    instanceId: r.instance_id,
    tool: r.tool,
    kind: r.kind,
    status: r.status,
    startedAt: r.started_at.toISOString(),
    finishedAt: iso(r.finished_at),
    durationSeconds: r.finished_at ? (r.finished_at.getTime() - r.started_at.getTime()) / 1000 : null,
    sizeBytes: r.size_bytes,
    checksum: r.checksum,
    location: r.location,
    error: r.error,
    verified: r.verified,
    verifiedAt: iso(r.verified_at),
    walStart: iso(r.wal_start),
    walEnd: iso(r.wal_end),
    receivedAt: r.received_at.toISOString(),
  };
}

export function restoreTestView(t: store.DbRestoreTest) {
  return {
    testId: t.test_id,
    instanceId: t.instance_id,
    backupRunId: t.backup_run_id,
    startedAt: t.started_at.toISOString(),
    finishedAt: t.finished_at.toISOString(),
    success: t.success,
    durationSeconds: t.duration_seconds,
    detail: t.detail,
    receivedAt: t.received_at.toISOString(),
  };
}

/** Rules across fields that a JSON Schema cannot say; each names the field to fix. */
function checkRun(b: BackupRunInput): void {
  const errors: FieldError[] = [];
  const started = Date.parse(b.startedAt);
  if (b.status === 'running' && b.finishedAt !== undefined)
    errors.push({ field: '/finishedAt', message: 'must be absent while the run is running' });
  if (b.status !== 'running' && b.finishedAt === undefined)
    errors.push({ field: '/finishedAt', message: 'is required once the run has finished' });
  if (b.finishedAt !== undefined && Date.parse(b.finishedAt) < started)
    errors.push({ field: '/finishedAt', message: 'must not be before startedAt' });
  if (b.status === 'failed' && b.error === undefined)
    errors.push({ field: '/error', message: 'is required when status is failed' });
  if (b.verifiedAt !== undefined && (b.verified === undefined || b.verified === null))
    errors.push({ field: '/verifiedAt', message: 'needs verified (true or false)' });
  const wal = b.walStart !== undefined || b.walEnd !== undefined;
  if (wal && b.kind !== 'wal') errors.push({ field: '/walStart', message: 'only for kind wal' });
  if (b.kind === 'wal' && b.status === 'success' && (b.walStart === undefined || b.walEnd === undefined))
    errors.push({
      field: b.walStart ? '/walEnd' : '/walStart',
      message: 'is required for a successful wal run',
    });
  if (b.walStart && b.walEnd && Date.parse(b.walEnd) < Date.parse(b.walStart))
    errors.push({ field: '/walEnd', message: 'must not be before walStart' });
  if (errors.length) throw new ValidationError('backup run is invalid', errors);
}

/** Backup runs, restore tests and retention: what was backed up, whether it is intact and restorable. */
export class BackupService {
  constructor(
    private readonly pool: Pool,
    private readonly fleet: FleetService,
    private readonly audit: AuditService,
    private readonly now: () => number = Date.now,
  ) {}

  /** Records a run once per (instance, runId); a repeat of the same report is a no-op, a different one 409. */
  async reportRun(auth: Auth, body: BackupRunInput): Promise<Reported<ReturnType<typeof runView>>> {
    checkRun(body);
    // A scoped agent asking about another client's instance gets the same 404 as an unknown instance.
    const instance = await this.fleet.getInstance(auth, body.instance);
    const row = await store.insertRun(this.pool, {
      instance_id: instance.id,
      run_id: body.runId,
      tool: body.tool,
      kind: body.kind,
      started_at: new Date(body.startedAt),
      finished_at: date(body.finishedAt),
      status: body.status,
      size_bytes: body.sizeBytes ?? null,
      checksum: body.checksum ?? null,
      location: body.location ?? null,
      error: body.error ?? null,
      verified: body.verified ?? null,
      verified_at: date(body.verifiedAt),
      wal_start: date(body.walStart),
      wal_end: date(body.walEnd),
      report: body,
      reported_by: actorName(auth),
    });
    if (row) return { created: true, value: runView(row) };
    const existing = (await store.findRun(this.pool, instance.id, body.runId))!;
    if (!isDeepStrictEqual(existing.report, body))
      throw new ConflictError(`run ${body.runId} was already reported with different content`);
    return { created: false, value: runView(existing) };
  }

  async reportRestoreTest(auth: Auth, body: RestoreTestInput) {
    if (Date.parse(body.finishedAt) < Date.parse(body.startedAt))
      throw new ValidationError('restore test is invalid', [
        { field: '/finishedAt', message: 'must not be before startedAt' },
      ]);
    const instance = await this.fleet.getInstance(auth, body.instance);
    // The run a test restored must be this instance's own: a run id of another instance (another client's)
    // would otherwise show up in this client's backup evidence.
    if (body.backupRunId !== undefined && !(await store.findRun(this.pool, instance.id, body.backupRunId)))
      throw new ValidationError('restore test is invalid', [
        { field: '/backupRunId', message: `is not a reported backup run of instance ${instance.slug}` },
      ]);
    const row = await store.insertRestoreTest(this.pool, {
      instance_id: instance.id,
      test_id: body.testId,
      backup_run_id: body.backupRunId ?? null,
      started_at: new Date(body.startedAt),
      finished_at: new Date(body.finishedAt),
      success: body.success,
      duration_seconds:
        body.durationSeconds ?? (Date.parse(body.finishedAt) - Date.parse(body.startedAt)) / 1000,
      detail: body.detail ?? null,
      report: body,
      reported_by: actorName(auth),
    });
    if (row) return { created: true, value: restoreTestView(row) };
    const existing = (await store.findRestoreTest(this.pool, instance.id, body.testId))!;
    if (!isDeepStrictEqual(existing.report, body))
      throw new ConflictError(`restore test ${body.testId} was already reported with different content`);
    return { created: false, value: restoreTestView(existing) };
  }

  async history(auth: Auth, instanceIdOrSlug: string, limit = 100) {
    const instance = await this.fleet.getInstance(auth, instanceIdOrSlug);
    const [runs, tests] = await Promise.all([
      store.listRuns(this.pool, instance.id, limit),
      store.listRestoreTests(this.pool, instance.id, limit),
    ]);
    return {
      instance: { id: instance.id, slug: instance.slug, client: instance.client },
      runs: runs.map(runView),
      restoreTests: tests.map(restoreTestView),
    };
  }

  async policy(clientId: string): Promise<RetentionPolicy> {
    const p = await store.findPolicy(this.pool, clientId);
    if (!p) return { ...DEFAULT_POLICY };
    return {
      keepDaily: p.keep_daily,
      keepWeekly: p.keep_weekly,
      keepMonthly: p.keep_monthly,
      maxFullAgeHours: p.max_full_age_hours,
      restoreTestMaxAgeDays: p.restore_test_max_age_days,
    };
  }

  async setPolicy(auth: Auth, requestId: string, clientIdOrSlug: string, patch: PolicyPatch) {
    const client = await this.fleet.getClient(auth, clientIdOrSlug);
    const before = await this.policy(client.id);
    const after = { ...before, ...patch };
    await withTx(this.pool, async (tx) => {
      await store.upsertPolicy(tx, client.id, {
        keep_daily: after.keepDaily,
        keep_weekly: after.keepWeekly,
        keep_monthly: after.keepMonthly,
        max_full_age_hours: after.maxFullAgeHours,
        restore_test_max_age_days: after.restoreTestMaxAgeDays,
      });
      // Runs are not audited (they are the agents' telemetry); the promise they are judged against is.
      await this.audit.record(tx, auth, requestId, {
        action: 'backup_policy.update',
        targetType: 'client',
        targetId: client.id,
        before,
        after,
      });
    });
    return after;
  }

  /**
   * A period's backup evidence for a report: per instance, each calendar day of [from, to) in the client's zone
   * (the daily retention slots) with its full backups, verification results, the newest restore test finished
   * by `to`, and the PITR window that the period's WAL covers. A day is held by a successful full backup not
   * known to be corrupt; days before the instance (or its first backup) existed are not owed.
   */
  async evidence(auth: Auth, clientIdOrSlug: string, from: Date, to: Date) {
    const client = await this.fleet.getClient(auth, clientIdOrSlug);
    const instances = (await this.fleet.listInstances(auth, { client: client.id, status: 'all' })).filter(
      (i) => i.decommissionedAt === null || new Date(i.decommissionedAt) > from,
    );
    const ids = instances.map((i) => i.id);
    const [runs, tests, firsts] = await Promise.all([
      store.runsBetween(this.pool, ids, from, to),
      store.latestRestoreTestsBefore(this.pool, ids, to),
      store.firstRuns(this.pool, ids),
    ]);
    const days: { label: string; start: number; end: number }[] = [];
    for (let d = DateTime.fromJSDate(from, { zone: client.timeZone }); d.toMillis() < to.getTime();) {
      const next = d.plus({ days: 1 }).startOf('day');
      days.push({
        label: d.toFormat('yyyy-MM-dd'),
        start: d.toMillis(),
        end: Math.min(next.toMillis(), +to),
      });
      d = next;
    }
    return instances.map((i) => {
      const mine = runs.filter((r) => r.instance_id === i.id);
      const first = firsts.find((f) => f.instance_id === i.id)?.first.getTime() ?? Infinity;
      const notBefore = Math.min(Date.parse(i.createdAt), first);
      const fulls = mine.filter((r) => r.kind === 'full');
      const slots = days
        .filter((d) => d.end > notBefore)
        .map((d) => {
          const inDay = fulls.filter((r) => {
            const t = (r.finished_at ?? r.started_at).getTime();
            return t >= d.start && t < d.end;
          });
          const ok = inDay.filter((r) => r.status === 'success');
          return {
            day: d.label,
            fullBackups: ok.length,
            verified: ok.filter((r) => r.verified === true).length,
            failedVerification: ok.filter((r) => r.verified === false).length,
            failedRuns: inDay.filter((r) => r.status === 'failed').length,
            held: ok.some((r) => r.verified !== false),
          };
        });
      const t = tests.find((x) => x.instance_id === i.id);
      const wal = mine
        .filter((r) => r.kind === 'wal' && r.status === 'success' && r.wal_start && r.wal_end)
        .map((r) => ({
          start: Math.max(r.wal_start!.getTime(), +from),
          end: Math.min(r.wal_end!.getTime(), +to),
        }))
        .filter((r) => r.start <= r.end);
      return {
        instance: { id: i.id, slug: i.slug },
        runs: {
          total: mine.length,
          success: mine.filter((r) => r.status === 'success').length,
          failed: mine.filter((r) => r.status === 'failed').length,
        },
        verification: {
          verified: mine.filter((r) => r.verified === true).length,
          failed: mine.filter((r) => r.verified === false).length,
          unchecked: mine.filter((r) => r.status === 'success' && r.verified === null).length,
        },
        slots,
        missedSlots: slots.filter((s) => !s.held).map((s) => s.day),
        latestRestoreTest: t
          ? {
              testId: t.test_id,
              startedAt: t.started_at.toISOString(),
              finishedAt: t.finished_at.toISOString(),
              success: t.success,
              durationSeconds: t.duration_seconds,
            }
          : null,
        pitr: pitrWindow(wal),
      };
    });
  }

  /** Per instance of the client: newest success, verification, restore test, retention, PITR window. */
  async clientStatus(auth: Auth, clientIdOrSlug: string) {
    const client = await this.fleet.getClient(auth, clientIdOrSlug);
    const instances = await this.fleet.listInstances(auth, { client: client.id });
    const policy = await this.policy(client.id);
    const nowMs = this.now();
    const ids = instances.map((i) => i.id);
    // 13 months back covers 12 monthly slots plus the month under way.
    const since = new Date(nowMs - (policy.keepMonthly + 1) * 31 * 86400_000);
    const [runs, newest, tests] = await Promise.all([
      store.runsSince(this.pool, ids, since),
      store.newestSuccess(this.pool, ids),
      store.latestRestoreTests(this.pool, ids),
    ]);
    const byInstance = new Map<string, store.DbBackupRun[]>();
    for (const r of runs) byInstance.set(r.instance_id, [...(byInstance.get(r.instance_id) ?? []), r]);
    const calendar = retentionCalendar(policy, client.timeZone, nowMs);
    const out: InstanceBackupStatus[] = instances.map((i) =>
      instanceStatus({
        instance: i,
        runs: byInstance.get(i.id) ?? [],
        newestSuccess: newest.find((r) => r.instance_id === i.id),
        lastRestoreTest: tests.find((t) => t.instance_id === i.id),
        policy,
        timeZone: client.timeZone,
        nowMs,
        calendar,
      }),
    );
    return {
      client: { id: client.id, slug: client.slug, timeZone: client.timeZone },
      policy,
      evaluatedAt: new Date(nowMs).toISOString(),
      compliant: out.every((s) => s.compliant),
      instances: out,
    };
  }
}
