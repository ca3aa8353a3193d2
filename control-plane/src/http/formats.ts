/**
 * The per-value rules for dates and times every route shares. A value these accept is one JavaScript's `Date`
 * and PostgreSQL both read, as the same instant: RFC 3339 syntax alone lets through year 0000 (PostgreSQL has
 * none), offsets like +23:59 (PostgreSQL stops at ±15:59) and the leap second 23:59:60 (`Date` gives
 * Invalid Date, PostgreSQL the next second), each of which once became a 500 somewhere downstream.
 */

const DATE = /^([0-9]{4})-([0-9]{2})-([0-9]{2})$/;
const DATE_TIME =
  /^([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt ]([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]{1,9})?(?:[Zz]|([+-])([0-9]{2}):([0-9]{2}))$/;

/** Year 0001 to 9999: the years both four-digit ISO 8601 and PostgreSQL's AD dates can hold. */
const EARLIEST = Date.parse('0001-01-01T00:00:00Z'); // not Date.UTC, which reads years 0-99 as 1900-1999
const LATEST = Date.UTC(9999, 11, 31, 23, 59, 59, 999);
/** The widest UTC offset in use anywhere (Pacific/Kiritimati, +14:00); anything wider is a typo or an attack. */
const MAX_OFFSET_MINUTES = 14 * 60;

function daysIn(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

function dateProblem(y: number, m: number, d: number): string | undefined {
  if (y < 1) return 'the year must be 0001 to 9999';
  if (m < 1 || m > 12) return 'the month must be 01 to 12';
  if (d < 1 || d > daysIn(y, m)) return `the day must be 01 to ${daysIn(y, m)} in that month`;
  return undefined;
}

/** Why `s` is not an acceptable `date` (YYYY-MM-DD, years 0001-9999), or undefined when it is. */
export function dateProblemOf(s: string): string | undefined {
  const m = DATE.exec(s);
  if (!m) return 'must be YYYY-MM-DD';
  return dateProblem(Number(m[1]), Number(m[2]), Number(m[3]));
}

/**
 * Why `s` is not an acceptable `date-time`, or undefined when it is: RFC 3339 with a time zone (Z or ±hh:mm),
 * years 0001-9999 both as written and in UTC, an offset within ±14:00, seconds 00-59. A leap second is refused
 * rather than rounded: nothing that sends times here (Alertmanager, the exporters, browsers) writes one, and a
 * 400 naming it is clearer than an instant one second away from what was sent.
 */
export const DATE_TIME_SHAPE = 'must be an RFC 3339 date-time with a time zone, e.g. 2026-03-01T09:30:00Z';

/** Only the shape of a date-time: for senders whose odd values are repaired rather than refused. */
export function dateTimeShapeProblemOf(s: string): string | undefined {
  return DATE_TIME.test(s) ? undefined : DATE_TIME_SHAPE;
}

export function dateTimeProblemOf(s: string): string | undefined {
  const m = DATE_TIME.exec(s);
  if (!m) return DATE_TIME_SHAPE;
  const bad = dateProblem(Number(m[1]), Number(m[2]), Number(m[3]));
  if (bad) return bad;
  const [h, min, sec] = [Number(m[4]), Number(m[5]), Number(m[6])];
  if (h > 23 || min > 59) return 'the time must be 00:00 to 23:59';
  if (sec === 60) return 'a leap second (:60) is not accepted; send :59 or the next second';
  if (sec > 59) return 'the seconds must be 00 to 59';
  if (m[8]) {
    const [oh, om] = [Number(m[9]), Number(m[10])];
    if (om > 59 || oh * 60 + om > MAX_OFFSET_MINUTES) return 'the UTC offset must be within -14:00 to +14:00';
  }
  const t = Date.parse(s);
  if (Number.isNaN(t)) return 'is not a date-time JavaScript can read';
  if (t < EARLIEST || t > LATEST) return 'must lie in the years 0001 to 9999 in UTC';
  return undefined;
}

/** `YYYY-MM` with a year 0001-9999, as the month routes (SLA, reports) take it. */
export const MONTH = /^(?!0000)[0-9]{4}-(0[1-9]|1[0-2])$/;

export function monthProblemOf(s: string): string | undefined {
  return MONTH.test(s) ? undefined : 'must be YYYY-MM with a year 0001 to 9999';
}
