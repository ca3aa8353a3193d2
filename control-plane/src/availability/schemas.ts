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

/** The most stretches and intervals one history request may carry; a longer history comes in several. */
export const MAX_HISTORY_COVERAGE = 1000;
export const MAX_HISTORY_INTERVALS = 5000;

const stretch = {
  type: 'object',
  additionalProperties: false,
  required: ['start', 'end'],
  properties: { start: isoTime, end: isoTime },
} as const;

export const history = {
  type: 'object',
  additionalProperties: false,
  required: ['instance', 'source', 'coverage', 'intervals'],
  properties: {
    instance: { type: 'string', minLength: 1, maxLength: 64, description: 'instance id or slug' },
    source: {
      type: 'string',
      pattern: '^[A-Za-z0-9][A-Za-z0-9 _.,:/()-]{0,99}$',
      description: 'the earlier system, e.g. "uptime-kuma 2.0 (kuma.example.com)"',
    },
    coverage: {
      type: 'array',
      maxItems: MAX_HISTORY_COVERAGE,
      description: 'the periods the earlier system watched the instance',
      items: stretch,
    },
    intervals: {
      type: 'array',
      maxItems: MAX_HISTORY_INTERVALS,
      description: 'what it saw down or degraded, each inside the coverage',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['service', 'state', 'start', 'end'],
        properties: {
          service: serviceName,
          state: { enum: ['down', 'degraded'] },
          start: isoTime,
          end: isoTime,
          reason: { type: 'string', maxLength: 500, default: '' },
        },
      },
    },
  },
} as const;

const stretchList = { type: 'array', items: stretch } as const;

export const historyResponse = {
  type: 'object',
  required: ['instanceId', 'source', 'changed', 'coverageAdded', 'intervalsAdded'],
  properties: {
    instanceId: uuid,
    source: { type: 'string' },
    changed: { type: 'boolean', description: 'false: everything was imported before; nothing changed' },
    coverageAdded: stretchList,
    intervalsAdded: {
      type: 'array',
      items: {
        type: 'object',
        required: ['service', 'state', 'start', 'end'],
        properties: {
          service: { type: 'string' },
          state: { enum: ['down', 'degraded'] },
          start: isoTime,
          end: isoTime,
        },
      },
    },
  },
} as const;
