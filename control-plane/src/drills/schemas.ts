/** JSON Schemas of the drills API: they validate requests and make up the OpenAPI document. */

const uuid = { type: 'string', format: 'uuid' } as const;
const time = { type: 'string', format: 'date-time' } as const;
const nullableTime = { type: ['string', 'null'], format: 'date-time' } as const;
const ref = {
  type: 'string',
  minLength: 1,
  maxLength: 200,
  description: 'id or name (slug for an instance)',
} as const;
const severity = {
  enum: ['critical', 'warning', 'info'],
  description: 'the severity the drill pages with (default warning: SMS and e-mail)',
} as const;
const kind = {
  enum: ['instance', 'policy', 'rotation'],
  description:
    'instance: a synthetic alert for the instance through Alertmanager (or the webhook handling); ' +
    'policy: its levels paged in turn; rotation: whoever is on call in it now',
} as const;

export const MAX_LIST_LIMIT = 100;

const target = {
  kind,
  instance: ref,
  policy: ref,
  rotation: ref,
  severity,
} as const;

export const startDrill = {
  type: 'object',
  additionalProperties: false,
  required: ['kind'],
  properties: target,
} as const;

export interface DrillTarget {
  kind: 'instance' | 'policy' | 'rotation';
  instance?: string;
  policy?: string;
  rotation?: string;
  severity?: 'critical' | 'warning' | 'info';
}

export const listQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    limit: { type: 'string', pattern: '^[0-9]{1,4}$', description: `1..${MAX_LIST_LIMIT}, default 50` },
    before: {
      ...time,
      description: 'only drills started before this time (the next page: the last startedAt)',
    },
  },
} as const;
export interface ListQuery {
  limit?: string;
  before?: string;
}

export const createSchedule = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'kind', 'every', 'firstRunAt'],
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 200 },
    ...target,
    every: { enum: ['day', 'week', 'month'], description: 'how often the drill runs' },
    count: {
      type: 'integer',
      minimum: 1,
      maximum: 366,
      description: 'every `count` days, weeks or months (1)',
    },
    firstRunAt: { ...time, description: 'the first run; later ones follow at the same time of day' },
  },
} as const;
export interface ScheduleInput extends DrillTarget {
  name: string;
  every: 'day' | 'week' | 'month';
  count?: number;
  firstRunAt: string;
}

const idName = {
  type: ['object', 'null'],
  additionalProperties: false,
  required: ['id', 'name'],
  properties: { id: uuid, name: { type: 'string' } },
} as const;

const drillTimes = {
  type: 'object',
  additionalProperties: false,
  required: ['startedAt', 'detectedAt', 'incidentOpenedAt', 'firstPageAt', 'acknowledgedAt', 'endedAt'],
  properties: {
    startedAt: time,
    detectedAt: { ...nullableTime, description: "the drill's alert reached the control plane" },
    incidentOpenedAt: nullableTime,
    firstPageAt: { ...nullableTime, description: 'a provider first accepted one of its pages' },
    acknowledgedAt: nullableTime,
    endedAt: nullableTime,
  },
} as const;

const drillProps = {
  id: uuid,
  kind,
  status: {
    enum: ['waiting', 'running', 'ended', 'failed'],
    description: 'waiting: its alert has not reached the control plane yet; failed: it could not be started',
  },
  severity,
  via: { enum: ['alertmanager', 'direct', 'escalation'] },
  instance: idName,
  policy: idName,
  rotation: idName,
  scheduleId: { type: ['string', 'null'], format: 'uuid' },
  startedBy: { type: 'string' },
  error: { type: ['string', 'null'] },
  incident: { type: ['string', 'null'], description: "the drill's incident code" },
  acknowledgedBy: { type: ['string', 'null'] },
  times: drillTimes,
  seconds: {
    type: 'object',
    additionalProperties: false,
    required: ['toDetect', 'toFirstPage', 'toAcknowledge'],
    properties: {
      toDetect: { type: ['number', 'null'] },
      toFirstPage: { type: ['number', 'null'] },
      toAcknowledge: { type: ['number', 'null'] },
    },
  },
} as const;

export const drillSummary = {
  type: 'object',
  additionalProperties: false,
  required: Object.keys(drillProps),
  properties: drillProps,
} as const;

const page = {
  type: 'object',
  additionalProperties: false,
  required: ['responder', 'channel', 'status', 'acceptedAt', 'error'],
  properties: {
    responder: { type: 'string' },
    channel: { enum: ['sms', 'voice', 'email'] },
    status: { type: 'string' },
    acceptedAt: { ...nullableTime, description: 'the provider accepted the page' },
    error: { type: ['string', 'null'] },
  },
} as const;

export const drillReport = {
  type: 'object',
  additionalProperties: false,
  required: [...Object.keys(drillProps), 'levels', 'unreachable'],
  properties: {
    ...drillProps,
    levels: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['level', 'repeat', 'pagedAt', 'acceptedAt', 'acknowledged', 'pages'],
        properties: {
          level: { type: 'integer', description: '0: a rotation paged at once' },
          repeat: { type: 'integer' },
          pagedAt: time,
          acceptedAt: nullableTime,
          acknowledged: {
            type: 'boolean',
            description: 'the acknowledgement came while this level was paged',
          },
          pages: { type: 'array', items: page },
        },
      },
    },
    unreachable: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['responder', 'level', 'reason'],
        properties: {
          responder: { type: 'string' },
          level: { type: 'integer' },
          reason: { enum: ['every page failed', 'no acknowledgement'] },
        },
      },
    },
  },
} as const;

export const drillList = {
  type: 'object',
  additionalProperties: false,
  required: ['drills'],
  properties: { drills: { type: 'array', items: drillSummary } },
} as const;

const scheduleProps = {
  id: uuid,
  name: { type: 'string' },
  kind,
  instance: idName,
  policy: idName,
  rotation: idName,
  severity,
  every: { enum: ['day', 'week', 'month'] },
  count: { type: 'integer' },
  nextRunAt: time,
  createdBy: { type: 'string' },
} as const;

export const schedule = {
  type: 'object',
  additionalProperties: false,
  required: Object.keys(scheduleProps),
  properties: scheduleProps,
} as const;

export const scheduleList = {
  type: 'object',
  additionalProperties: false,
  required: ['schedules'],
  properties: { schedules: { type: 'array', items: schedule } },
} as const;
