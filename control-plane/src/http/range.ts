/**
 * Bounds on what a caller may ask for in one request: time ranges (from/to) and list sizes (limit). Work a
 * request causes grows with the range it names, so every range has a largest span, said in the 400.
 */
import { ValidationError } from './errors.ts';

export const DAY_MS = 86_400_000;

const bad = (field: string, message: string, detail = 'query string is invalid') =>
  new ValidationError(detail, [{ field, message }]);

/**
 * A date-time the schema accepted, as a Date, or a 400 naming `field`. The schema's format check is the first
 * line; this one keeps a value it lets through that Date cannot hold (a leap second, year 0000) from becoming
 * an Invalid Date, which compares false with everything and so never ends a loop.
 */
export function parseTime(value: string, field: string): Date {
  const d = new Date(value);
  if (Number.isNaN(d.getTime()) || d < FIRST || d >= BEYOND)
    throw bad(field, 'must be a date-time from year 0001 to 9999 (no leap second, no year 0000)');
  return d;
}

/** Four-digit years from 0001: what ISO 8601 writes plainly and PostgreSQL stores (it has no year 0). */
const FIRST = new Date('0001-01-01T00:00:00Z');
const BEYOND = new Date('+010000-01-01T00:00:00Z');

/** 400 unless from < to and to - from is at most `maxDays` days; `field` is the end the caller gave. */
export function checkSpan(from: Date, to: Date, maxDays: number, field = '/to'): void {
  if (!(from < to)) throw bad(field, 'must be after from');
  if (to.getTime() - from.getTime() > maxDays * DAY_MS)
    throw bad(
      field,
      `must be at most ${maxDays} days after from, the largest span allowed; ask for shorter ranges`,
      `query string is invalid: a range may span at most ${maxDays} days`,
    );
}

export interface RangeRule {
  /** The largest span allowed, in days. */
  maxDays: number;
  /** The span when the caller gives one end or none. */
  defaultDays: number;
  /** The end that is "now" when not given: 'from' looks ahead (schedules), 'to' looks back (history). */
  anchor: 'from' | 'to';
}

/** An optional from/to pair: defaults per `rule`, each end parsed, the span checked against `rule.maxDays`. */
export function parseRange(
  q: { from?: string; to?: string },
  rule: RangeRule,
  now = new Date(),
): { from: Date; to: Date } {
  const span = rule.defaultDays * DAY_MS;
  let from = q.from === undefined ? undefined : parseTime(q.from, '/from');
  let to = q.to === undefined ? undefined : parseTime(q.to, '/to');
  if (rule.anchor === 'from') {
    from ??= now;
    to ??= new Date(from.getTime() + span);
  } else {
    to ??= now;
    from ??= new Date(to.getTime() - span);
  }
  checkSpan(from, to, rule.maxDays, q.to === undefined && q.from !== undefined ? '/from' : '/to');
  return { from, to };
}

/** An optional `limit` query value (digits, per its schema) within 1..max; above max is a 400 that says so. */
export function parseLimit(value: string | undefined, max: number, def: number, field = '/limit'): number {
  if (value === undefined) return def;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw bad(field, 'must be a whole number from 1');
  if (n > max) throw bad(field, `must be at most ${max}, the largest page allowed`);
  return n;
}
