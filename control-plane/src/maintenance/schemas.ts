/** JSON Schemas of the maintenance-window API: they validate requests and make up the OpenAPI document. */
import { WEEKDAYS } from './recurrence.ts';

const isoTime = { type: 'string', format: 'date-time', maxLength: 40 };
const ref = { type: 'string', minLength: 1, maxLength: 64, description: 'id or slug' };
const common = {
  startTime: { type: 'string', pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$', description: 'local HH:MM' },
  durationMinutes: { type: 'integer', minimum: 1, maximum: 7 * 24 * 60 },
  until: { type: 'string', format: 'date', description: "last local date of the series (client's zone)" },
};

const recurrence = {
  type: 'object',
  discriminator: { propertyName: 'freq' },
  required: ['freq'],
  properties: { freq: { enum: ['weekly', 'monthly'] } },
  oneOf: [
    {
      additionalProperties: false,
      required: ['freq', 'byDay', 'startTime', 'durationMinutes'],
      properties: {
        freq: { const: 'weekly' },
        byDay: { type: 'array', minItems: 1, maxItems: 7, uniqueItems: true, items: { enum: [...WEEKDAYS] } },
        ...common,
      },
    },
    {
      additionalProperties: false,
      required: ['freq', 'nth', 'weekday', 'startTime', 'durationMinutes'],
      properties: {
        freq: { const: 'monthly' },
        nth: { enum: [1, 2, 3, 4, 5, -1], description: '-1 is the last' },
        weekday: { enum: [...WEEKDAYS] },
        ...common,
      },
    },
  ],
} as const;

export const createWindow = {
  type: 'object',
  additionalProperties: false,
  required: ['start', 'reason'],
  properties: {
    client: ref,
    instance: ref,
    start: { ...isoTime, description: 'one-off: its start; recurring: when the series begins' },
    end: {
      ...isoTime,
      description: 'one-off: its end (required); recurring: when the series ends (optional)',
    },
    reason: { type: 'string', minLength: 1, maxLength: 500 },
    recurrence,
  },
} as const;

export const listQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    client: { type: 'string', maxLength: 64 },
    from: isoTime,
    to: isoTime,
  },
} as const;
