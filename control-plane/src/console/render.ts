import type { Request, Response } from 'express';
import type { Eta } from 'eta';
import { AppError, ValidationError } from '../http/errors.ts';
import { replaceUnstorable, unstorable } from '../http/unstorable.ts';

export type Render = (req: Request, res: Response, view: string, data?: object, status?: number) => void;

const TIME = new Intl.DateTimeFormat('en-GB', {
  day: 'numeric',
  month: 'short',
  year: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
  hourCycle: 'h23',
  timeZone: 'UTC',
});

/** TIME's month names ("Sept" in en-GB), taken from it once so that the fast path below writes the same text. */
const MONTHS = Array.from({ length: 12 }, (_, m) =>
  new Intl.DateTimeFormat('en-GB', { month: 'short', timeZone: 'UTC' }).format(Date.UTC(2000, m, 15)),
);
const two = (n: number) => (n < 10 ? '0' : '') + n;

/**
 * A time as people read it: "7 Dec 2026, 14:05 UTC" (templates put the exact instant in <time datetime>).
 * Years 1000-9999 are written directly, as TIME would write them (a list page writes 50 of them, and
 * Intl's format was two fifths of its rendering time); other years go through TIME itself.
 */
export function when(iso: string | Date | null | undefined): string {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const y = d.getUTCFullYear();
  if (y < 1000 || y > 9999) return `${TIME.format(d)} UTC`;
  return `${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${y}, ${two(d.getUTCHours())}:${two(d.getUTCMinutes())} UTC`;
}

/**
 * A field error as a sentence naming the field: the API's messages read after the field's name ("must be a
 * URL that starts with http:// or https://"), so "Base URL must be ...". One that does not gets a colon.
 */
export function sentence(field: string, message: string): string {
  const m = message.trim().replace(/\.$/, '');
  return /^(must|is|are|has|holds|may|cannot|does|name)\b/.test(m) ? `${field} ${m}.` : `${field}: ${m}.`;
}

/** What every template may use besides its data. */
export const helpers = { when, sentence };

export function renderer(eta: Eta): Render {
  return (req, res, view, data = {}, status = 200) => {
    const c = req.console;
    const html = eta.render(`./${view}`, {
      user: c && c.stage === 'full' ? { name: c.user.name, email: c.user.email, role: c.user.role } : null,
      csrf: c?.csrf ?? '',
      path: req.path,
      errors: {},
      values: {},
      ...helpers,
      ...data,
      // What the person typed comes back in the form; a NUL or lone surrogate in it comes back as U+FFFD.
      ...('values' in data ? { values: replaceUnstorable(data.values).value } : {}),
    });
    res.status(status).type('html').send(html);
  };
}

/** Field errors by form field name: the API's JSON pointer `/services/0/probe/url` becomes `services.0.probe.url`. */
export function fieldErrors(err: unknown): { message: string; fields: Record<string, string> } | undefined {
  if (!(err instanceof AppError) || err.httpStatus >= 500) return undefined;
  const fields: Record<string, string> = {};
  for (const e of err instanceof ValidationError || err.errors ? (err.errors ?? []) : []) {
    const name = e.field.replace(/^\//, '').replace(/\//g, '.') || '_form';
    fields[name] ??= e.message;
  }
  return { message: err.message, fields };
}

/**
 * A form's text that PostgreSQL cannot hold (NUL, a lone surrogate) as the API refuses it: a 400 naming each
 * field, thrown before any service runs, so it is shown at the field rather than failing in the database.
 */
export function refuseUnstorable(form: unknown): void {
  const bad = unstorable(form);
  if (bad.length > 0) throw new ValidationError('the form holds text that cannot be stored', bad);
}
