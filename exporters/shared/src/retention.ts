import { DateTime } from 'luxon';

/** A client's retention promise. Defaults live in the migration (7 daily, 4 weekly, 12 monthly, 26 h, 7 d). */
export interface RetentionPolicy {
  keepDaily: number;
  keepWeekly: number;
  keepMonthly: number;
  maxFullAgeHours: number;
  restoreTestMaxAgeDays: number;
}

export const DEFAULT_POLICY: RetentionPolicy = Object.freeze({
  keepDaily: 7,
  keepWeekly: 4,
  keepMonthly: 12,
  maxFullAgeHours: 26,
  restoreTestMaxAgeDays: 7,
});

export interface SlotResult {
  required: number;
  /** Labels of the slots with no successful full backup, newest first: `2026-11-03`, `2026-W44`, `2026-10`. */
  missing: string[];
}

export interface RetentionResult {
  compliant: boolean;
  daily: SlotResult;
  weekly: SlotResult;
  monthly: SlotResult;
}

type Unit = 'day' | 'week' | 'month';
const LABEL: Record<Unit, string> = { day: 'yyyy-MM-dd', week: "kkkk-'W'WW", month: 'yyyy-MM' };

interface Period {
  label: string;
  start: number;
  end: number;
}

/** The current period (index 0) and the `n` before it, as epoch-ms bounds in the client's zone. */
function periods(unit: Unit, n: number, now: DateTime): Period[] {
  const out: Period[] = [];
  // ISO weeks start on Monday; luxon's startOf('week') follows ISO unless told otherwise.
  let start = now.startOf(unit);
  let end = start.plus({ [unit + 's']: 1 });
  for (let i = 0; i <= n; i++) {
    out.push({ label: start.toFormat(LABEL[unit]), start: start.toMillis(), end: end.toMillis() });
    end = start;
    start = start.minus({ [unit + 's']: 1 });
  }
  return out;
}

/** Index of the first element of sorted `xs` that is >= x. */
function lowerBound(xs: readonly number[], x: number): number {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (xs[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The periods a policy looks at, at one instant in one zone: shared by every instance of a client. */
export interface RetentionCalendar {
  day: { n: number; periods: Period[] };
  week: { n: number; periods: Period[] };
  month: { n: number; periods: Period[] };
}

export function retentionCalendar(
  policy: Pick<RetentionPolicy, 'keepDaily' | 'keepWeekly' | 'keepMonthly'>,
  timeZone: string,
  nowMs: number,
): RetentionCalendar {
  const now = DateTime.fromMillis(nowMs, { zone: timeZone });
  const of = (unit: Unit, n: number) => ({ n, periods: n === 0 ? [] : periods(unit, n, now) });
  return {
    day: of('day', policy.keepDaily),
    week: of('week', policy.keepWeekly),
    month: of('month', policy.keepMonthly),
  };
}

function slots(
  cal: { n: number; periods: Period[] },
  times: readonly number[],
  notBefore: number,
): SlotResult {
  const { n, periods: ps } = cal;
  if (n === 0) return { required: 0, missing: [] };
  const has = (p: Period) => {
    const i = lowerBound(times, p.start);
    return i < times.length && times[i]! < p.end;
  };
  // The current period is still under way: not holding its backup yet is no violation, so the N slots end
  // with it only once it has one, and otherwise with the period before.
  const chosen = has(ps[0]!) ? ps.slice(0, n) : ps.slice(1, n + 1);
  // Periods that ended before the instance existed cannot hold a backup of it.
  const missing = chosen.filter((p) => p.end > notBefore && !has(p)).map((p) => p.label);
  return { required: n, missing };
}

/**
 * Retention compliance, slot by slot, in the client's time zone: daily = the last N calendar days each hold a
 * successful full backup, weekly = the last N ISO weeks, monthly = the last N calendar months.
 * `successTimes` are epoch ms of successful full backups (any order). Pure: no clock, no I/O.
 */
export function evaluateRetention(
  successTimes: readonly number[],
  policy: Pick<RetentionPolicy, 'keepDaily' | 'keepWeekly' | 'keepMonthly'>,
  timeZone: string,
  nowMs: number,
  notBeforeMs = Number.NEGATIVE_INFINITY,
): RetentionResult {
  return evaluateOnCalendar(successTimes, retentionCalendar(policy, timeZone, nowMs), notBeforeMs);
}

/** evaluateRetention with the calendar computed once for many instances (the zone arithmetic is the cost). */
export function evaluateOnCalendar(
  successTimes: readonly number[],
  cal: RetentionCalendar,
  notBeforeMs = Number.NEGATIVE_INFINITY,
): RetentionResult {
  const times = [...successTimes].sort((a, b) => a - b);
  const daily = slots(cal.day, times, notBeforeMs);
  const weekly = slots(cal.week, times, notBeforeMs);
  const monthly = slots(cal.month, times, notBeforeMs);
  const compliant = daily.missing.length + weekly.missing.length + monthly.missing.length === 0;
  return { compliant, daily, weekly, monthly };
}

export interface WalRange {
  start: number;
  end: number;
}

export interface PitrWindow {
  earliest: string;
  latest: string;
  gaps: { from: string; to: string }[];
}

/**
 * Point-in-time recovery window from reported WAL ranges: earliest and latest recoverable instant, and the
 * gaps in continuity between them (a restore cannot reach a moment inside a gap). Null without WAL.
 */
export function pitrWindow(ranges: readonly WalRange[]): PitrWindow | null {
  if (ranges.length === 0) return null;
  const sorted = [...ranges].sort((a, b) => a.start - b.start);
  const gaps: { from: string; to: string }[] = [];
  let reach = sorted[0]!.end;
  for (const r of sorted.slice(1)) {
    if (r.start > reach)
      gaps.push({ from: new Date(reach).toISOString(), to: new Date(r.start).toISOString() });
    reach = Math.max(reach, r.end);
  }
  return { earliest: new Date(sorted[0]!.start).toISOString(), latest: new Date(reach).toISOString(), gaps };
}
