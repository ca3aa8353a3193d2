import type { Request, Response } from 'express';
import { DateTime } from 'luxon';
import { ValidationError } from '../http/errors.ts';
import { unstorable } from '../http/unstorable.ts';
import { fieldErrors, type Render } from './render.ts';

/** Times as people read them: "7 Dec 2026, 14:05 UTC", or in a client's or rotation's zone with its abbreviation. */
export function when(at: string | Date | null | undefined, zone = 'UTC'): string {
  if (at === null || at === undefined) return '';
  const d = typeof at === 'string' ? DateTime.fromISO(at, { zone }) : DateTime.fromJSDate(at, { zone });
  return d.isValid ? d.toFormat('d LLL yyyy, HH:mm ZZZZ') : String(at);
}

const escape = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** `<time datetime="...">7 Dec 2026, 14:05 UTC</time>` (escaped: safe to print raw in a template). */
export function timeTag(at: string | Date | null | undefined, zone = 'UTC'): string {
  if (at === null || at === undefined) return '';
  const iso = typeof at === 'string' ? at : at.toISOString();
  return `<time datetime="${escape(iso)}">${escape(when(at, zone))}</time>`;
}

/** A period: "3 Jan 2027, 02:00–04:00 EST" within one local day, else both ends in full; each end a <time>. */
export function spanTag(start: string, end: string | null, zone = 'UTC'): string {
  if (end === null) return `from ${timeTag(start, zone)}`;
  const a = DateTime.fromISO(start, { zone });
  const b = DateTime.fromISO(end, { zone });
  if (a.isValid && b.isValid && a.hasSame(b, 'day') && a.offsetNameShort === b.offsetNameShort)
    return `<time datetime="${escape(start)}">${escape(a.toFormat('d LLL yyyy, HH:mm'))}</time>–<time datetime="${escape(end)}">${escape(b.toFormat('HH:mm ZZZZ'))}</time>`;
  return `${timeTag(start, zone)} to ${timeTag(end, zone)}`;
}

/** "5 min", "2 h", "1 d 2 h": a delay or an age. */
export function duration(seconds: number): string {
  if (seconds < 60) return `${seconds} s`;
  const m = Math.round(seconds / 60);
  if (m < 120) return `${m} min`;
  const h = Math.round(m / 60);
  return h < 48 ? `${h} h` : `${Math.floor(h / 24)} d${h % 24 ? ` ${h % 24} h` : ''}`;
}

/** What the operations pages' templates use besides their data. */
export const fmt = { when, time: timeTag, span: spanTag, duration };

/** A form value as text, cut to `max` characters (the schema then says what is wrong with it). */
export const str = (v: unknown, max = 2048): string => (typeof v === 'string' ? v.slice(0, max).trim() : '');

/** A form value that may repeat (checkboxes) as a list of texts. */
export const list = (v: unknown, max = 64): string[] =>
  (Array.isArray(v) ? v : v === undefined ? [] : [v])
    .filter((x): x is string => typeof x === 'string' && x !== '')
    .slice(0, max)
    .map((x) => x.slice(0, 200));

/** A 400 naming every field (by JSON pointer) that holds NUL or a lone surrogate, as the API gives. */
export function refuseUnstorable(values: object): void {
  const bad = unstorable(values);
  if (bad.length > 0) throw new ValidationError('the form holds text that cannot be stored', bad);
}

/**
 * A `datetime-local` value (`2026-12-07T14:05`) read in `zone` as an ISO instant; anything else is passed on
 * as typed, so the API's schema names the field and says what is wrong with it.
 */
export function localToIso(value: string, zone: string): string {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/.test(value)) return value;
  const d = DateTime.fromISO(value, { zone });
  return d.isValid && d.year >= 1 ? d.toUTC().toISO({ suppressMilliseconds: true })! : value;
}

/** One query parameter as text (a repeated one reads as missing), at most `max` characters. */
export function queryParam(req: Request, name: string, max = 100): string | undefined {
  const v = req.query[name];
  return typeof v === 'string' && v !== '' ? v.slice(0, max) : undefined;
}

/**
 * Runs a form's action; an API error that names fields (4xx, not 404) is shown by `again` at those fields with
 * the values typed, anything else goes to the console's error page.
 */
export async function formAction(
  act: () => Promise<void>,
  again: (errors: Record<string, string>) => Promise<void>,
): Promise<void> {
  try {
    await act();
  } catch (err) {
    const bad = fieldErrors(err);
    if (!bad || (err as { httpStatus?: number }).httpStatus === 404) throw err;
    await again({ _form: bad.message, ...bad.fields });
  }
}

/** The renderer with the formatting helpers in every page's data. */
export const withFmt =
  (render: Render): Render =>
  (req: Request, res: Response, view: string, data: object = {}, status?: number) =>
    render(req, res, view, { fmt, ...data }, status);
