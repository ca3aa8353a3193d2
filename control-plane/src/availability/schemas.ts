/** JSON Schemas of the availability API: they validate requests and make up the OpenAPI document. */

const uuid = { type: 'string', format: 'uuid' };
const isoTime = { type: 'string', format: 'date-time', maxLength: 40 };
const serviceName = { type: 'string', pattern: '^[a-z0-9][a-z0-9_-]{0,62}$' };
const prober = { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,62}$' };

export const MAX_TRANSITIONS = 1000;

export const transitions = {
  type: 'object',
  additionalProperties: false,
  required: ['prober', 'transitions'],
  properties: {
    prober,
    transitions: {
      type: 'array',
      maxItems: MAX_TRANSITIONS,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['id', 'instanceId', 'service', 'state', 'at'],
        properties: {
          id: uuid,
          instanceId: uuid,
          service: serviceName,
          state: { enum: ['up', 'down', 'degraded'] },
          at: isoTime,
          reason: { type: 'string', maxLength: 500, default: '' },
        },
      },
    },
  },
} as const;

export const heartbeat = {
  type: 'object',
  additionalProperties: false,
  required: ['prober'],
  properties: { prober },
} as const;

export const correction = {
  type: 'object',
  additionalProperties: false,
  required: ['instance', 'service', 'state', 'start', 'end', 'reason'],
  properties: {
    instance: { type: 'string', minLength: 1, maxLength: 64, description: 'instance id or slug' },
    service: serviceName,
    state: { enum: ['down', 'degraded'] },
    start: isoTime,
    end: isoTime,
    reason: { type: 'string', minLength: 1, maxLength: 500 },
  },
} as const;

export const rangeQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { from: isoTime, to: isoTime },
} as const;
