/**
 * The formats every schema may name: ajv-formats' full set, with the date and time formats made stricter and the
 * project's own added. One table serves the Ajv that compiles at run time and the validators the build generated
 * (validation.ts), which look each format up in it by name: both must see the same entries.
 */
import { createRequire } from 'node:module';
import { IANAZone } from 'luxon';
import { dateProblemOf, dateTimeProblemOf, dateTimeShapeProblemOf, monthProblemOf } from './formats.ts';

/** A format as ajv takes it: a pattern, a test, or a test with the type it applies to. */
export type Format =
  RegExp | ((s: string) => boolean) | { type?: 'string'; validate: (s: string) => boolean };

// Stricter than ajv-formats' RFC 3339 ones, which pass year 0000, offsets like +23:59 and 23:59:60: these
// accept only what JavaScript and PostgreSQL both read as the same instant (formats.ts says why).
export const OWN_FORMATS: Readonly<Record<string, Format>> = {
  'date-time': { type: 'string', validate: (s: string) => dateTimeProblemOf(s) === undefined },
  date: { type: 'string', validate: (s: string) => dateProblemOf(s) === undefined },
  'date-time-shape': { type: 'string', validate: (s: string) => dateTimeShapeProblemOf(s) === undefined },
  month: { type: 'string', validate: (s: string) => monthProblemOf(s) === undefined },
  'iana-time-zone': {
    type: 'string',
    validate: (s: string) => s.length <= 64 && IANAZone.isValidZone(s) && s !== 'UTC+0',
  },
};

/**
 * Every format by name. ajv-formats' table is its own small module (patterns and tests, no ajv), so the generated
 * validators need neither ajv's compiler nor the ajv-formats plugin.
 */
export function formatTable(): Record<string, Format> {
  const require = createRequire(import.meta.url);
  const { fullFormats } = require('ajv-formats/dist/formats') as { fullFormats: Record<string, Format> };
  return { ...fullFormats, ...OWN_FORMATS };
}
