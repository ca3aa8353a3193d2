import { DateTime, Info, Settings, type Zone } from 'luxon';

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
export function dayNumber(year: number, month: number, day: number): number {
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

/** Day number of a `YYYY-MM-DD` date (NaN when it is not one). */
export function dayOf(isoDate: string): number {
  const [y, m, d] = isoDate.split('-').map(Number) as [number, number, number];
  return dayNumber(y, m, d);
}

/**
 * A converter from local day number and minutes after midnight to the instant, in `zone` (see `wallClock`),
 * or null for a zone luxon does not know. Build it once per expansion: it reads the zone's offset now.
 */
export function wallClockIn(zone: string): ((day: number, minutes: number) => Date) | null {
  const z = Info.normalizeZone(zone);
  if (!z.isValid) return null;
  const provisional = z.offset(Settings.now());
  return (day, minutes) => wallClock(z, provisional, day, minutes);
}

/** The local date of `at` in `zone` as a day number. */
function localDay(at: Date, zone: string): number {
  const l = DateTime.fromJSDate(at, { zone });
  return dayNumber(l.year, l.month, l.day);
}

/**
 * Local `HH:MM` on day number `day` as an instant, computed exactly as luxon's DateTime.fromObject does (its
 * fixOffset, from the zone's offset now as the first guess; a time skipped by a DST change moves forward, as
 * clocks do), but with one or two offset look-ups per occurrence instead of its four or more: each look-up is
 * an Intl call of microseconds, and this is the expansion's hot path.
 */
function wallClock(zone: Zone, provisional: number, day: number, minutes: number): Date {
  const local = day * DAY_MS + minutes * 60_000;
  const o = provisional;
  let guess = local - o * 60_000;
  const o2 = zone.offset(guess);
  if (o === o2) return new Date(guess);
  guess -= (o2 - o) * 60_000;
  const o3 = zone.offset(guess);
  if (o2 === o3) return new Date(guess);
  return new Date(local - Math.min(o2, o3) * 60_000);
}

/** Occurrences found, whether `limit` cut them short, and the candidate dates looked at to find them. */
export interface Expansion {
  ranges: Range[];
  truncated: boolean;
  steps: number;
}

const valid = (d: Date | null | undefined): d is Date => d instanceof Date && !Number.isNaN(d.getTime());

/**
 * Concrete occurrences of a window that overlap [from, to), clipped to them, in time order. Recurring windows
 * are expanded in the client's time zone: "Sunday 02:00 for 120 minutes" starts at 02:00 local time on both
 * sides of a DST change, and lasts 120 elapsed minutes. `until` (a local date) ends the series after that day.
 * The cost (`cost.steps`) is one step per candidate date (or month) from the first occurrence that can overlap
 * the range to the last: it jumps to the listed weekdays (or the nth weekday of each month), never walking day
 * by day, so ten thousand years cost no more than the occurrences in them, and a caller that stops pulling
 * stops the work.
 */
export function* generate(
  w: WindowSpec,
  zone: string,
  from: Date,
  to: Date,
  cost: { steps: number } = { steps: 0 },
): Generator<Range, void, undefined> {
  // An Invalid Date compares false with everything: it would never end a loop. Nothing overlaps it.
  if (!valid(from) || !valid(to) || !valid(w.start) || !(from < to)) return;
  const clip = (s: Date, e: Date): Range | null => {
    const cs = s < from ? from : s;
    const ce = e > to ? to : e;
    return cs < ce ? { start: cs, end: ce } : null;
  };
  const r = w.recurrence;
  if (!r) {
    const once = valid(w.end) ? clip(w.start, w.end) : null;
    if (once) yield once;
    return;
  }
  const until = r.until ? DateTime.fromISO(r.until, { zone }).endOf('day').toJSDate() : null;
  const seriesEnd = [w.end, until]
    .filter(valid)
    .reduce<Date | null>((a, b) => (a === null || b < a ? b : a), null);
  const durationMs = r.durationMinutes * 60_000;
  const lo = new Date(Math.max(from.getTime() - durationMs, w.start.getTime()));
  // hi is at most the series end: no occurrence starting at or after it counts.
  const hi = seriesEnd && seriesEnd < to ? seriesEnd : to;
  const clock = wallClockIn(zone);
  if (!(lo < hi) || !clock) return;
  const [hour, minute] = r.startTime.split(':').map(Number) as [number, number];
  // From the day before lo's local date: an occurrence that began late the day before may still overlap.
  const first = localDay(lo, zone) - 1;
  const last = localDay(hi, zone);
  const days = function* (): Generator<number> {
    if (r.freq === 'weekly') {
      // Each listed weekday's offset from `first`, in order, so candidates come out in time order.
      const offsets = [...new Set(r.byDay.map((d) => WEEKDAYS.indexOf(d) + 1))]
        .map((wd) => (wd - isoWeekday(first) + 7) % 7)
        .sort((a, b) => a - b);
      for (let week = first; week <= last; week += 7)
        for (const o of offsets) {
          cost.steps++;
          if (week + o <= last) yield week + o;
        }
    } else {
      const start = new Date(first * DAY_MS);
      let [year, month] = [start.getUTCFullYear(), start.getUTCMonth() + 1];
      while (dayNumber(year, month, 1) <= last) {
        cost.steps++;
        const d = nthWeekday(year, month, r.nth, r.weekday);
        if (d !== null && d >= first && d <= last) yield d;
        [year, month] = month === 12 ? [year + 1, 1] : [year, month + 1];
      }
    }
  };
  for (const day of days()) {
    const s = clock(day, hour * 60 + minute);
    if (!valid(s) || s < w.start) continue;
    // Candidates come in time order: once one starts at hi, none after it can count either.
    if (s >= hi) return;
    const o = clip(s, new Date(s.getTime() + durationMs));
    if (o) yield o;
  }
}

/** At most `limit` occurrences (see `generate`); `truncated` when there were more. */
export function expand(w: WindowSpec, zone: string, from: Date, to: Date, limit = Infinity): Expansion {
  const out: Expansion = { ranges: [], truncated: false, steps: 0 };
  for (const o of generate(w, zone, from, to, out)) {
    if (out.ranges.length >= limit) {
      out.truncated = true;
      break;
    }
    out.ranges.push(o);
  }
  return out;
}

/** Every occurrence of `w` overlapping [from, to): see `generate`; callers bound the range they ask for. */
export function occurrences(w: WindowSpec, zone: string, from: Date, to: Date): Range[] {
  return expand(w, zone, from, to).ranges;
}
