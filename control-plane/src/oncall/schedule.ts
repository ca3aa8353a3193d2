import { DateTime } from 'luxon';
import { WEEKDAYS, dayOf, wallClockIn, type Weekday } from '../maintenance/recurrence.ts';

/** A rotation as the schedule needs it: members in order, shifts of a day or a week from a local date. */
export interface RotationSpec {
  timeZone: string;
  handoff: 'daily' | 'weekly';
  /** Local HH:MM of every hand-off. */
  handoffTime: string;
  /** Local YYYY-MM-DD of the first shift (weekly: its weekday is the hand-off day). */
  startDate: string;
  members: string[];
}

export interface OverrideSpec {
  id: string;
  responderId: string;
  start: Date;
  end: Date;
  createdAt: Date;
}

export interface Shift {
  start: Date;
  end: Date;
  responderId: string;
  /** The override that puts this responder on call, or null for the rotation's own shift. */
  overrideId: string | null;
}

/** Local hours: {timeZone, days, start, end}; start > end wraps past midnight (22:00-06:00). */
export interface Hours {
  timeZone: string;
  days: Weekday[];
  start: string;
  end: string;
}

const minutes = (hhmm: string) => {
  const [h, m] = hhmm.split(':').map(Number) as [number, number];
  return h * 60 + m;
};

/**
 * The start of shift `n` (0 = the first): the hand-off time on its local date; a skipped time moves forward.
 * `clock` (from wallClockIn) saves reading the zone's offset now on every call of a loop.
 */
export function shiftStart(r: RotationSpec, n: number, clock = wallClockIn(r.timeZone)): Date {
  const day = dayOf(r.startDate) + n * (r.handoff === 'weekly' ? 7 : 1);
  return clock ? clock(day, minutes(r.handoffTime)) : new Date(NaN);
}

/** The shift index that covers `at` (negative before the rotation begins; NaN when `at` is not a time). */
function shiftIndex(r: RotationSpec, at: Date, clock = wallClockIn(r.timeZone)): number {
  const first = shiftStart(r, 0, clock).getTime();
  const period = (r.handoff === 'weekly' ? 7 : 1) * 86_400_000;
  // Elapsed time is off by at most the DST hours crossed; the loops settle it.
  let n = Math.floor((at.getTime() - first) / period);
  if (Number.isNaN(n)) return n;
  while (shiftStart(r, n + 1, clock).getTime() <= at.getTime()) n++;
  while (shiftStart(r, n, clock).getTime() > at.getTime()) n--;
  return n;
}

/** The rotation's own member on call at `at` (overrides aside), or null before its first shift. */
export function memberAt(r: RotationSpec, at: Date): Shift | null {
  const n = shiftIndex(r, at);
  if (n < 0) return null;
  return {
    start: shiftStart(r, n),
    end: shiftStart(r, n + 1),
    responderId: r.members[n % r.members.length]!,
    overrideId: null,
  };
}

/** The override in force at `at`: of those covering it, the one created last. */
function overrideAt(overrides: OverrideSpec[], at: Date): OverrideSpec | undefined {
  let best: OverrideSpec | undefined;
  for (const o of overrides)
    if (o.start <= at && at < o.end && (!best || o.createdAt >= best.createdAt)) best = o;
  return best;
}

/**
 * Who is on call at `at`, by override or by rotation, or null (before the first shift, with no override):
 * `start` is when that shift or override began, `end` when the person on call next changes (looked for over
 * the next 15 days; beyond, the end of the shift or override).
 */
export function onCallAt(r: RotationSpec, overrides: OverrideSpec[], at: Date): Shift | null {
  const horizon = new Date(at.getTime() + 15 * 86_400_000);
  const now = schedule(r, overrides, at, horizon)[0];
  if (!now || now.start.getTime() !== at.getTime()) return null;
  const o = now.overrideId ? overrides.find((x) => x.id === now.overrideId)! : undefined;
  const own = o ? { start: o.start, end: o.end } : memberAt(r, at)!;
  return { ...now, start: own.start, end: now.end.getTime() === horizon.getTime() ? own.end : now.end };
}

/**
 * Who is on call over [from, to): consecutive spans, each with one responder, cut at hand-offs and at the
 * edges of overrides, merged where the same person stays on by the same means, and clipped to [from, to).
 */
export function schedule(r: RotationSpec, overrides: OverrideSpec[], from: Date, to: Date): Shift[] {
  // NaN (an Invalid Date, such as a leap second parsed by Date) compares false with everything: written as
  // "not before", a loop on it would never end. Nothing is scheduled over a range that is not one.
  if (!(from.getTime() < to.getTime())) return [];
  const clock = wallClockIn(r.timeZone);
  const n0 = shiftIndex(r, from, clock);
  if (Number.isNaN(n0)) return [];
  // Each shift's start is computed once, from the one covering `from` to the first at or after `to`.
  const starts: { n: number; t: number }[] = [];
  for (let n = Math.max(0, n0); ; n++) {
    const t = shiftStart(r, n, clock).getTime();
    if (Number.isNaN(t)) return [];
    starts.push({ n, t });
    if (t >= to.getTime()) break;
  }
  const relevant = overrides.filter((o) => o.start < to && o.end > from);
  const cuts = new Set<number>([from.getTime(), to.getTime()]);
  for (const s of starts) if (s.t > from.getTime() && s.t < to.getTime()) cuts.add(s.t);
  for (const o of relevant) {
    if (o.start > from) cuts.add(o.start.getTime());
    if (o.end < to) cuts.add(o.end.getTime());
  }
  const points = [...cuts].sort((a, b) => a - b);
  const out: Shift[] = [];
  let k = 0;
  for (let i = 0; i + 1 < points.length; i++) {
    const start = new Date(points[i]!);
    // Points and shift starts are both in time order: the shift covering this point only moves forward.
    while (k + 1 < starts.length && starts[k + 1]!.t <= points[i]!) k++;
    const shift = starts[k]!.t <= points[i]! ? starts[k]! : undefined;
    const o = overrideAt(relevant, start);
    const responderId = o?.responderId ?? (shift && r.members[shift.n % r.members.length]);
    if (!responderId) continue;
    const span: Shift = { start, end: new Date(points[i + 1]!), responderId, overrideId: o?.id ?? null };
    const last = out[out.length - 1];
    if (
      last &&
      last.end.getTime() === span.start.getTime() &&
      last.responderId === span.responderId &&
      last.overrideId === span.overrideId
    )
      last.end = span.end;
    else out.push(span);
  }
  return out;
}

/** The weekday name (MO..SU) of the rotation's hand-off, for a weekly one. */
export function handoffDay(r: RotationSpec): Weekday {
  return WEEKDAYS[DateTime.fromISO(r.startDate, { zone: r.timeZone }).weekday - 1]!;
}

/** True when `at` falls within `h` (local days and times in its zone; an end before the start wraps). */
export function withinHours(h: Hours, at: Date): boolean {
  const local = DateTime.fromJSDate(at, { zone: h.timeZone });
  const t = local.hour * 60 + local.minute;
  const day = WEEKDAYS[local.weekday - 1]!;
  const start = minutes(h.start);
  const end = minutes(h.end);
  if (start < end) return h.days.includes(day) && t >= start && t < end;
  // Overnight: the evening part belongs to the listed day, the morning part to the day before.
  const yesterday = WEEKDAYS[(local.weekday + 5) % 7]!;
  return (h.days.includes(day) && t >= start) || (h.days.includes(yesterday) && t < end);
}

/** True when `zone` is an IANA time zone luxon knows. */
export function validZone(zone: string): boolean {
  return DateTime.local().setZone(zone).isValid;
}
