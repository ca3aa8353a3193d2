import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { IANAZone } from 'luxon';
import { ValidationError, type FieldError } from './errors.ts';
import { dateProblemOf, dateTimeProblemOf, dateTimeShapeProblemOf, monthProblemOf } from './formats.ts';

// ajv-formats ships CommonJS; under ESM its default export sits one level down.
const addFormats =
  (addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ?? addFormatsModule;

/** The one Ajv instance: schemas are compiled once, at module load, and reused. */
export const ajv = new Ajv({
  allErrors: true,
  verbose: true, // errors carry the bad value, so a format error can say what is wrong with it
  strict: true,
  useDefaults: true,
  coerceTypes: false,
  discriminator: true,
});
(addFormats as unknown as (a: Ajv) => void)(ajv);
// Stricter than ajv-formats' RFC 3339 ones, which pass year 0000, offsets like +23:59 and 23:59:60: these
// accept only what JavaScript and PostgreSQL both read as the same instant (formats.ts says why).
ajv.addFormat('date-time', { type: 'string', validate: (s: string) => dateTimeProblemOf(s) === undefined });
ajv.addFormat('date', { type: 'string', validate: (s: string) => dateProblemOf(s) === undefined });
ajv.addFormat('date-time-shape', {
  type: 'string',
  validate: (s: string) => dateTimeShapeProblemOf(s) === undefined,
});
ajv.addFormat('month', { type: 'string', validate: (s: string) => monthProblemOf(s) === undefined });

/** Why a value fails one of the formats above, for the answer's errors[]. */
const PROBLEMS: Record<string, (s: string) => string | undefined> = {
  'date-time': dateTimeProblemOf,
  'date-time-shape': dateTimeShapeProblemOf,
  date: dateProblemOf,
  month: monthProblemOf,
};
ajv.addFormat('iana-time-zone', {
  type: 'string',
  validate: (s: string) => s.length <= 64 && IANAZone.isValidZone(s) && s !== 'UTC+0',
});

function field(e: ErrorObject): string {
  if (e.keyword === 'required')
    return `${e.instancePath}/${(e.params as { missingProperty: string }).missingProperty}`;
  if (e.keyword === 'additionalProperties')
    return `${e.instancePath}/${(e.params as { additionalProperty: string }).additionalProperty}`;
  return e.instancePath;
}

function message(e: ErrorObject): string {
  if (e.keyword === 'required') return 'is required';
  if (e.keyword === 'additionalProperties') return 'is not a known field';
  if (e.keyword === 'format') {
    const format = (e.params as { format: string }).format;
    const why = typeof e.data === 'string' ? PROBLEMS[format]?.(e.data) : undefined;
    return `must be a valid ${format}${why ? `: ${why}` : ''}`;
  }
  return e.message ?? 'is invalid';
}

/** One entry per bad field: oneOf/anyOf noise is dropped when a more precise error names the same field. */
export function toFieldErrors(errors: ErrorObject[] | null | undefined): FieldError[] {
  const out = new Map<string, FieldError>();
  for (const e of errors ?? []) {
    if (e.keyword === 'oneOf' || e.keyword === 'anyOf' || e.keyword === 'if') continue;
    const f = field(e);
    if (!out.has(f)) out.set(f, { field: f, message: message(e) });
  }
  if (out.size === 0 && errors?.length)
    out.set('', { field: '', message: errors[0]!.message ?? 'is invalid' });
  return [...out.values()];
}

export function compile<T>(schema: object): ValidateFunction<T> {
  return ajv.compile<T>(schema);
}

/** Validates `data` (mutating defaults in) or throws a 400 naming every bad field. */
export function check<T>(validate: ValidateFunction<T>, data: unknown, what = 'request body'): T {
  if (validate(data)) return data;
  throw new ValidationError(`${what} is invalid`, toFieldErrors(validate.errors));
}
