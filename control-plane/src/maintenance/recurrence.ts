import { DateTime } from 'luxon';

export const WEEKDAYS = ['MO', 'TU', 'WE', 'TH', 'FR', 'SA', 'SU'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

export type Recurrence =
  | { freq: 'weekly'; byDay: Weekday[]; startTime: string; durationMinutes: number; until?: string }
  | {
      freq: 'monthly';
      nth: number;
      weekday: Weekday;
      startTime: string;
      durationMinutes: number;
      until?: string;
    };

export interface WindowSpec {
  start: Date;
  /** One-off: the end. Recurring: the end of the series, or null for none. */
  end: Date | null;
  recurrence: Recurrence | null;
}

export interface Range {
  start: Date;
  end: Date;
}

const DAY_MS = 86_400_000;

/**
 * Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). Plain integers, not
 * Date.UTC, whose years 0-99 mean 1900-1999, and not luxon's `plus`, which costs microseconds a step.
 */
function dayNumber(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  return era * 146_097 + yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy - 719_468;
}

/** ISO weekday, 1 (Monday) to 7, of a day number: 1970-01-01 was a Thursday. */
const isoWeekday = (day: number) => ((((day + 3) % 7) + 7) % 7) + 1;

/** Day number of the `nth` `weekday` of a month (-1: the last), or null when it has none (no 5th Tuesday). */
function nthWeekday(year: number, month: number, nth: number, weekday: Weekday): number | null {
  const wd = WEEKDAYS.indexOf(weekday) + 1;
  const first = dayNumber(year, month, 1);
  const next = month === 12 ? dayNumber(year + 1, 1, 1) : dayNumber(year, month + 1, 1);
  if (nth > 0) {
    const d = first + ((wd - isoWeekday(first) + 7) % 7) + (nth - 1) * 7;
    return d < next ? d : null;
  }
  const last = next - 1;
  return last - ((isoWeekday(last) - wd + 7) % 7) - (-nth - 1) * 7;
}

/** The local date of `at` in `zone` as a day number. */
function localDay(at: Date, zone: string): number {
  const l = DateTime.fromJSDate(at, { zone });
  return dayNumber(l.year, l.month, l.day);
}

/** Local `HH:MM` on day number `day` in `zone`; a time skipped by a DST change moves forward, as clocks do. */
function at(day: number, hhmm: string, zone: string): Date {
  const [hour, minute] = hhmm.split(':').map(Number) as [number, number];
  const date = new Date(day * DAY_MS);
  return DateTime.fromObject(
    { year: date.getUTCFullYear(), month: date.getUTCMonth() + 1, day: date.getUTCDate(), hour, minute },
    { zone },
  ).toJSDate();
}

/** Occurrences found, whether `limit` cut them short, and the candidate dates looked at to find them. */
export interface Expansion {
  ranges: Range[];
  truncated: boolean;
  steps: number;
}

const valid = (d: Date | null | undefined): d is Date => d instanceof Date && !Number.isNaN(d.getTime());

/**
 * Concrete occurrences of a window that overlap [from, to), clipped to them, at most `limit` (then `truncated`).
 * Recurring windows are expanded in the client's time zone: "Sunday 02:00 for 120 minutes" starts at 02:00 local
 * time on both sides of a DST change, and lasts 120 elapsed minutes. `until` (a local date) ends the series
 * after that day. The cost (`steps`) is one step per candidate date (or month) from the first occurrence that can overlap the range
 * to the last: it jumps to the listed weekdays (or the nth weekday of each month), never walking day by day,
 * so ten thousand years cost no more than the occurrences in them, and `limit` stops it early.
 */
export function expand(w: WindowSpec, zone: string, from: Date, to: Date, limit = Infinity): Expansion {
  const out: Expansion = { ranges: [], truncated: false, steps: 0 };
  // An Invalid Date compares false with everything: it would never end a loop. Nothing overlaps it.
  if (!valid(from) || !valid(to) || !valid(w.start) || !(from < to)) return out;
  const push = (s: Date, e: Date): boolean => {
    const cs = s < from ? from : s;
    const ce = e > to ? to : e;
    if (cs >= ce) return true;
    if (out.ranges.length >= limit) {
      out.truncated = true;
      return false;
    }
    out.ranges.push({ start: cs, end: ce });
    return true;
  };
  const r = w.recurrence;
  if (!r) {
    if (valid(w.end)) push(w.start, w.end);
    return out;
  }
  const until = r.until ? DateTime.fromISO(r.until, { zone }).endOf('day').toJSDate() : null;
  const seriesEnd = [w.end, until]
    .filter(valid)
    .reduce<Date | null>((a, b) => (a === null || b < a ? b : a), null);
  const durationMs = r.durationMinutes * 60_000;
  const lo = new Date(Math.max(from.getTime() - durationMs, w.start.getTime()));
  const hi = seriesEnd && seriesEnd < to ? seriesEnd : to;
  if (!(lo < hi)) return out;
  /** One candidate date: false once the series or the range is over, or the limit is reached. */
  const add = (day: number): boolean => {
    const s = at(day, r.startTime, zone);
    if (!valid(s) || s < w.start) return true;
    // hi is at most the series end; candidates come in time order, so nothing later can overlap either.
    if (s >= hi) return false;
    return push(s, new Date(s.getTime() + durationMs));
  };
  // From the day before lo's local date: an occurrence that began late the day before may still overlap.
  const first = localDay(lo, zone) - 1;
  const last = localDay(hi, zone);
  if (r.freq === 'weekly') {
    // Each listed weekday's offset from `first`, in order, so candidates come out in time order.
    const offsets = [...new Set(r.byDay.map((d) => WEEKDAYS.indexOf(d) + 1))]
      .map((wd) => (wd - isoWeekday(first) + 7) % 7)
      .sort((a, b) => a - b);
    for (let week = first; week <= last; week += 7)
      for (const o of offsets) {
        out.steps++;
        if (week + o > last || !add(week + o)) return out;
      }
  } else {
    const start = new Date(first * DAY_MS);
    let [year, month] = [start.getUTCFullYear(), start.getUTCMonth() + 1];
    while (dayNumber(year, month, 1) <= last) {
      out.steps++;
      const d = nthWeekday(year, month, r.nth, r.weekday);
      if (d !== null && d >= first && d <= last && !add(d)) break;
      [year, month] = month === 12 ? [year + 1, 1] : [year, month + 1];
    }
  }
  return out;
}

/** Every occurrence of `w` overlapping [from, to): see `expand`; callers bound the range they ask for. */
export function occurrences(w: WindowSpec, zone: string, from: Date, to: Date): Range[] {
  return expand(w, zone, from, to).ranges;
}
