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

/** The date (in `zone`) on which `r` occurs in the month of `month`, or null (no 5th Tuesday). */
function nthWeekday(month: DateTime, nth: number, weekday: Weekday): DateTime | null {
  const wd = WEEKDAYS.indexOf(weekday) + 1;
  if (nth > 0) {
    const first = month.startOf('month');
    const d = first.plus({ days: ((wd - first.weekday + 7) % 7) + (nth - 1) * 7 });
    return d.month === month.month ? d : null;
  }
  const last = month.endOf('month').startOf('day');
  return last.minus({ days: ((last.weekday - wd + 7) % 7) + (-nth - 1) * 7 });
}

/** `date` at local `HH:MM` in `zone`; a time skipped by a DST change moves forward, as wall clocks do. */
function at(date: DateTime, hhmm: string, zone: string): DateTime {
  const [hour, minute] = hhmm.split(':').map(Number) as [number, number];
  return DateTime.fromObject({ year: date.year, month: date.month, day: date.day, hour, minute }, { zone });
}

/**
 * Concrete occurrences of a window that overlap [from, to), clipped to them. Recurring windows are expanded in
 * the client's time zone: "Sunday 02:00 for 120 minutes" starts at 02:00 local time on both sides of a DST
 * change, and lasts 120 elapsed minutes. `until` (a local date) ends the series after that day.
 */
export function occurrences(w: WindowSpec, zone: string, from: Date, to: Date): Range[] {
  const out: Range[] = [];
  const push = (s: Date, e: Date) => {
    const cs = s < from ? from : s;
    const ce = e > to ? to : e;
    if (cs < ce) out.push({ start: cs, end: ce });
  };
  const r = w.recurrence;
  if (!r) {
    if (w.end) push(w.start, w.end);
    return out;
  }
  const seriesEnd = [w.end, r.until ? DateTime.fromISO(r.until, { zone }).endOf('day').toJSDate() : null]
    .filter((d): d is Date => d !== null)
    .reduce<Date | null>((a, b) => (a === null || b < a ? b : a), null);
  const durationMs = r.durationMinutes * 60_000;
  const lo = new Date(Math.max(from.getTime() - durationMs, w.start.getTime()));
  const hi = seriesEnd && seriesEnd < to ? seriesEnd : to;
  if (lo >= hi) return out;
  const add = (startLocal: DateTime) => {
    const s = startLocal.toJSDate();
    if (s < w.start || (seriesEnd && s >= seriesEnd) || s >= hi) return;
    push(s, new Date(s.getTime() + durationMs));
  };
  const first = DateTime.fromJSDate(lo, { zone }).startOf('day').minus({ days: 1 });
  const last = DateTime.fromJSDate(hi, { zone }).endOf('day');
  if (r.freq === 'weekly') {
    const days = new Set(r.byDay.map((d) => WEEKDAYS.indexOf(d) + 1));
    for (let d = first; d <= last; d = d.plus({ days: 1 }))
      if (days.has(d.weekday)) add(at(d, r.startTime, zone));
  } else {
    for (let m = first.startOf('month'); m <= last; m = m.plus({ months: 1 })) {
      const d = nthWeekday(m, r.nth, r.weekday);
      if (d) add(at(d, r.startTime, zone));
    }
  }
  return out;
}
