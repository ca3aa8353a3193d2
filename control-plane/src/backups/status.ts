import type { Instance } from '../fleet/types.ts';
import {
  evaluateOnCalendar,
  retentionCalendar,
  type RetentionCalendar,
  pitrWindow,
  type PitrWindow,
  type RetentionPolicy,
  type RetentionResult,
} from '@concierge-ops/shared/retention';
import type { DbBackupRun, DbRestoreTest } from './store.ts';

export interface InstanceBackupStatus {
  instance: { id: string; slug: string };
  newestSuccess: {
    runId: string;
    tool: string;
    kind: string;
    finishedAt: string;
    ageSeconds: number;
    sizeBytes: number | null;
    verified: boolean | null;
  } | null;
  newestRun: { runId: string; status: string; startedAt: string; error: string | null } | null;
  fullBackupFresh: boolean;
  lastRestoreTest: { testId: string; startedAt: string; success: boolean; durationSeconds: number } | null;
  restoreTestRecent: boolean;
  retention: RetentionResult;
  pitr: PitrWindow | null;
  compliant: boolean;
  /** One line per broken promise, for reports and humans. */
  problems: string[];
}

/** The backup status of one instance from its rows. Pure: the clock comes in as `nowMs`. */
export function instanceStatus(a: {
  instance: Instance;
  runs: readonly DbBackupRun[];
  newestSuccess: DbBackupRun | undefined;
  lastRestoreTest: DbRestoreTest | undefined;
  policy: RetentionPolicy;
  timeZone: string;
  nowMs: number;
  /** Pass one calendar for all instances of a client: it is the same for each of them. */
  calendar?: RetentionCalendar;
}): InstanceBackupStatus {
  const { runs, policy, nowMs } = a;
  // Only a verified-or-unchecked full backup counts for retention: one known to be corrupt holds no slot.
  const fulls = runs.filter((r) => r.kind === 'full' && r.status === 'success' && r.verified !== false);
  const fullTimes = fulls.map((r) => r.finished_at!.getTime());
  // Slots before the instance existed are not owed; backups imported from before its registration still count.
  const firstRun = runs.length ? runs[0]!.started_at.getTime() : Number.POSITIVE_INFINITY;
  const notBefore = Math.min(Date.parse(a.instance.createdAt), firstRun);
  const retention = evaluateOnCalendar(
    fullTimes,
    a.calendar ?? retentionCalendar(policy, a.timeZone, nowMs),
    notBefore,
  );
  const newestFull = fullTimes.length ? Math.max(...fullTimes) : undefined;
  const fullBackupFresh = newestFull !== undefined && nowMs - newestFull <= policy.maxFullAgeHours * 3600_000;
  const t = a.lastRestoreTest;
  const restoreTestRecent =
    t !== undefined &&
    t.success &&
    nowMs - t.finished_at.getTime() <= policy.restoreTestMaxAgeDays * 86400_000;
  const wal = runs
    .filter((r) => r.kind === 'wal' && r.status === 'success' && r.wal_start && r.wal_end)
    .map((r) => ({ start: r.wal_start!.getTime(), end: r.wal_end!.getTime() }));
  const s = a.newestSuccess;
  const last = runs.length ? runs[runs.length - 1]! : undefined;

  const problems: string[] = [];
  if (!fullBackupFresh) problems.push(`no successful full backup in the last ${policy.maxFullAgeHours} h`);
  if (s && s.verified === false) problems.push(`newest backup ${s.run_id} failed verification`);
  if (!t) problems.push('no restore test on record');
  else if (!t.success) problems.push(`restore test ${t.test_id} failed`);
  else if (!restoreTestRecent)
    problems.push(`no restore test in the last ${policy.restoreTestMaxAgeDays} days`);
  for (const [name, r] of Object.entries({
    daily: retention.daily,
    weekly: retention.weekly,
    monthly: retention.monthly,
  }))
    if (r.missing.length) problems.push(`${name} slots missing: ${r.missing.join(', ')}`);

  return {
    instance: { id: a.instance.id, slug: a.instance.slug },
    newestSuccess: s
      ? {
          runId: s.run_id,
          tool: s.tool,
          kind: s.kind,
          finishedAt: s.finished_at!.toISOString(),
          ageSeconds: Math.round((nowMs - s.finished_at!.getTime()) / 1000),
          sizeBytes: s.size_bytes,
          verified: s.verified,
        }
      : null,
    newestRun: last
      ? {
          runId: last.run_id,
          status: last.status,
          startedAt: last.started_at.toISOString(),
          error: last.error,
        }
      : null,
    fullBackupFresh,
    lastRestoreTest: t
      ? {
          testId: t.test_id,
          startedAt: t.started_at.toISOString(),
          success: t.success,
          durationSeconds: t.duration_seconds,
        }
      : null,
    restoreTestRecent,
    retention,
    pitr: pitrWindow(wal),
    compliant: problems.length === 0 && (!s || s.verified !== false),
    problems,
  };
}
