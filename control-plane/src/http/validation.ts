import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { Ajv, ErrorObject, Options, ValidateFunction } from 'ajv';
import { ValidationError, type FieldError } from './errors.ts';
import { OWN_FORMATS, formatTable } from './format-table.ts';
import {
  DATE_TIME_SHAPE,
  dateProblemOf,
  dateTimeProblemOf,
  dateTimeShapeProblemOf,
  monthProblemOf,
} from './formats.ts';

const require = createRequire(import.meta.url);

/** How every schema is compiled, here at run time and by the build (../generate-validators.ts). */
export const AJV_OPTIONS = {
  allErrors: true,
  verbose: true, // errors carry the bad value, so a format error can say what is wrong with it
  strict: true,
  useDefaults: true,
  coerceTypes: false,
  discriminator: true,
} as const satisfies Options;

/**
 * A new Ajv with the options and formats above (`code`: the build's options for standalone code). ajv's compiler
 * is loaded here, at the first call: a built control plane whose validators were all generated never loads it.
 */
export function newAjv(code?: Options['code']): Ajv {
  const { Ajv } = require('ajv') as { Ajv: new (options: Options) => Ajv };
  const addFormats = require('ajv-formats') as (ajv: Ajv) => Ajv;
  const ajv = new Ajv({ ...AJV_OPTIONS, ...(code ? { code } : {}) });
  addFormats(ajv);
  for (const [name, format] of Object.entries(OWN_FORMATS)) ajv.addFormat(name, format);
  return ajv;
}

/** A schema's name in the generated validators: a hash of its JSON, so a changed schema never meets old code. */
export function schemaKey(schema: object): string {
  return crypto.createHash('sha256').update(JSON.stringify(schema)).digest('base64url');
}

/**
 * The validators the build generated from every schema the control plane compiles (dist/http/validators.cjs,
 * written by ../generate-validators.ts), by schema key. None beside the sources: run through tsx, everything is
 * compiled here, at start, as before.
 */
const GENERATED = fileURLToPath(new URL('./validators.cjs', import.meta.url));
const generated: Readonly<Record<string, ValidateFunction>> = fs.existsSync(GENERATED)
  ? (require(GENERATED) as (formats: object) => Record<string, ValidateFunction>)(formatTable())
  : {};

/** Every schema compile() was given, by key: what the build generates validators for. */
const asked = new Map<string, object>();
/** The Ajv for schemas with no generated validator, made at the first one. */
const runtime: { ajv?: Ajv } = {};

/** Why a value fails one of the formats above, for the answer's errors[]. */
const PROBLEMS: Record<string, (s: string) => string | undefined> = {
  'date-time': dateTimeProblemOf,
  'date-time-shape': dateTimeShapeProblemOf,
  date: dateProblemOf,
  month: monthProblemOf,
};

function field(e: ErrorObject): string {
  if (e.keyword === 'required')
    return `${e.instancePath}/${(e.params as { missingProperty: string }).missingProperty}`;
  if (e.keyword === 'additionalProperties')
    return `${e.instancePath}/${(e.params as { additionalProperty: string }).additionalProperty}`;
  return e.instancePath;
}

/**
 * What a pattern asks for, in words: a person reads the message (the console shows it at the field), so
 * `must match pattern "^https?://"` is not an answer. Patterns not listed fall back to the schema's own words.
 */
const PATTERNS: Record<string, string> = {
  '^https?://': 'a URL that starts with http:// or https://',
  '^[a-z0-9][a-z0-9-]{0,62}$':
    'a name of 1 to 63 lower-case letters, digits and hyphens, starting with a letter or digit',
  '^[a-z0-9][a-z0-9-]{0,31}$':
    'a name of 1 to 32 lower-case letters, digits and hyphens, starting with a letter or digit',
  '^[a-z0-9][a-z0-9_-]{0,62}$':
    'a name of 1 to 63 lower-case letters, digits, hyphens and underscores, starting with a letter or digit',
  '^[a-z][a-z0-9-]{0,62}$':
    'a name of 1 to 63 lower-case letters, digits and hyphens, starting with a letter',
  '^[a-zA-Z_][a-zA-Z0-9_]{0,62}$':
    'a name of 1 to 63 letters, digits and underscores, not starting with a digit',
  '^([01][0-9]|2[0-3]):[0-5][0-9]$': 'a time of day as HH:MM, from 00:00 to 23:59',
  '^\\+[1-9][0-9]{6,14}$': 'a phone number in international form, like +15551234567',
  '^[1-9][0-9]{0,3}$': 'a whole number from 1 to 9999',
  '^[0-9]{1,4}$': 'a whole number of at most 4 digits',
  '^[0-9]{1,18}$': 'a whole number of at most 18 digits',
  '^INC-[0-9]{6,}$': 'an incident code like INC-000123',
  '^[A-Za-z0-9.:_-]+$': 'a host name or IP address',
  '^[a-z0-9][a-z0-9-]{0,62}/[a-z0-9][a-z0-9-]{0,62}$':
    'a client name and an instance name joined by /, like smile-dental/smile-prod',
};

const FORMATS: Record<string, string> = {
  uri: 'a full URL, like https://clinic.example.com',
  email: 'an e-mail address, like name@example.com',
  uuid: 'an id (a UUID)',
  'date-time': 'a date and time like 2026-12-07T14:05:00Z',
  'date-time-shape': 'a date and time like 2026-12-07T14:05:00Z',
  date: 'a date like 2026-12-07',
  month: 'a month like 2026-12',
  'iana-time-zone': 'an IANA time zone name, like Europe/Berlin',
};

const TYPES: Record<string, string> = {
  string: 'text',
  number: 'a number',
  integer: 'a whole number',
  boolean: 'true or false',
  array: 'a list',
  object: 'an object',
  null: 'null',
};

const list = (xs: unknown[]) => xs.map((x) => JSON.stringify(x)).join(', ');
const plural = (n: number, one: string, many = one + 's') => `${n} ${n === 1 ? one : many}`;

/** The message of one field error: "must be ...", read after the field's name (the pointer names it). */
export function message(e: ErrorObject): string {
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'required':
      return 'is required';
    case 'additionalProperties':
      return 'is not a known field';
    case 'format': {
      const format = p.format as string;
      const problem = typeof e.data === 'string' ? PROBLEMS[format]?.(e.data) : undefined;
      // "Not the shape of a date-time" says again what the format's words say: only a finer reason is added.
      const why = problem === DATE_TIME_SHAPE ? undefined : problem;
      return `must be ${FORMATS[format] ?? `a valid ${format}`}${why ? `: ${why}` : ''}`;
    }
    case 'pattern': {
      const pattern = p.pattern as string;
      const described = (e.parentSchema as { description?: string } | undefined)?.description;
      return `must be ${PATTERNS[pattern] ?? (described ? `${described} (pattern ${pattern})` : `text of the form ${pattern}`)}`;
    }
    case 'type': {
      const types = String(p.type).split(',');
      return `must be ${types.map((t) => TYPES[t] ?? t).join(' or ')}`;
    }
    case 'minLength':
      return p.limit === 1
        ? 'must not be empty'
        : `must be at least ${plural(p.limit as number, 'character')} long`;
    case 'maxLength':
      return `must be at most ${plural(p.limit as number, 'character')} long`;
    case 'minItems':
      return `must list at least ${plural(p.limit as number, 'entry', 'entries')}`;
    case 'maxItems':
      return `must list at most ${plural(p.limit as number, 'entry', 'entries')}`;
    case 'minProperties':
      return p.limit === 1
        ? 'must change at least one field'
        : `must have at least ${p.limit as number} fields`;
    case 'maxProperties':
      return `must have at most ${p.limit as number} entries`;
    case 'uniqueItems':
      return 'must not list the same value twice';
    case 'enum':
      return `must be one of ${list(p.allowedValues as unknown[])}`;
    case 'const':
      return `must be ${JSON.stringify(p.allowedValue)}`;
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum': {
      const words = {
        minimum: 'at least',
        maximum: 'at most',
        exclusiveMinimum: 'above',
        exclusiveMaximum: 'below',
      };
      return `must be ${words[e.keyword]} ${p.limit as number}`;
    }
    default:
      return e.message ?? 'is invalid';
  }
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

/**
 * The validator of `schema`: the one the build generated for it when there is one (a built control plane), else
 * compiled now. Schemas are compiled once, at module load or route registration, and reused.
 */
export function compile<T>(schema: object): ValidateFunction<T> {
  const key = schemaKey(schema);
  asked.set(key, schema);
  const built = generated[key];
  if (built) return built as ValidateFunction<T>;
  runtime.ajv ??= newAjv();
  return runtime.ajv.compile<T>(schema);
}

/** The schemas compile() has been given so far, by key (the build's generator reads them). */
export function compiledSchemas(): ReadonlyMap<string, object> {
  return asked;
}

/** How many of the schemas compile() was given had no generated validator (0 in a current build). */
export function compiledAtRunTime(): number {
  return [...asked.keys()].filter((k) => !generated[k]).length;
}

/** Validates `data` (mutating defaults in) or throws a 400 naming every bad field. */
export function check<T>(validate: ValidateFunction<T>, data: unknown, what = 'request body'): T {
  if (validate(data)) return data;
  throw new ValidationError(`${what} is invalid`, toFieldErrors(validate.errors));
}
