/** JSON Schemas of the heartbeat (push monitor) API. */

const name = {
  type: 'string',
  pattern: '^[a-z0-9][a-z0-9-]{0,62}$',
  description: 'unique per instance, e.g. nightly-export or backup-agent',
} as const;
const intervalSeconds = {
  type: 'integer',
  minimum: 60,
  maximum: 604_800,
  description: 'the job pushes at least this often (1 minute to 7 days)',
} as const;
const graceSeconds = {
  type: 'integer',
  minimum: 0,
  maximum: 86_400,
  description: 'how much later than the interval a push may come before it is missing (default 300)',
} as const;
const severity = {
  enum: ['critical', 'warning'],
  description: 'of the HeartbeatMissing alert (default warning)',
} as const;

export const create = {
  type: 'object',
  additionalProperties: false,
  required: ['instance', 'name', 'intervalSeconds'],
  properties: {
    instance: { type: 'string', minLength: 1, maxLength: 64, description: 'instance id or slug' },
    name,
    intervalSeconds,
    graceSeconds,
    severity,
  },
} as const;

export const update = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  properties: { intervalSeconds, graceSeconds, severity },
} as const;

export const listQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    instance: { type: 'string', minLength: 1, maxLength: 64 },
    limit: { type: 'string', pattern: '^[0-9]{1,4}$', description: 'at most 1000 (default 100)' },
  },
} as const;

/** Uptime Kuma's push parameters, so a job written for it works unchanged; only `status` is kept. */
export const pushQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    status: { enum: ['up', 'down'], description: 'default up; down reports a failed run at once' },
    msg: { type: 'string', maxLength: 1000, description: 'accepted and dropped: it may hold anything' },
    ping: { type: 'string', maxLength: 32, description: 'accepted and dropped' },
  },
} as const;

export const view = {
  type: 'object',
  required: [
    'id',
    'instance',
    'name',
    'intervalSeconds',
    'graceSeconds',
    'severity',
    'tokenPrefix',
    'state',
    'lastPushAt',
    'lastStatus',
    'createdBy',
    'createdAt',
  ],
  properties: {
    id: { type: 'string', format: 'uuid' },
    instance: {
      type: 'object',
      required: ['id', 'slug', 'client'],
      properties: { id: { type: 'string' }, slug: { type: 'string' }, client: { type: 'string' } },
    },
    name: { type: 'string' },
    intervalSeconds: { type: 'integer' },
    graceSeconds: { type: 'integer' },
    severity: { type: 'string' },
    tokenPrefix: { type: 'string' },
    state: {
      enum: ['waiting', 'up', 'down', 'missing'],
      description: 'waiting: no push yet and not overdue; missing: no push within interval + grace',
    },
    lastPushAt: { type: ['string', 'null'] },
    lastStatus: { type: ['string', 'null'] },
    createdBy: { type: 'string' },
    createdAt: { type: 'string' },
  },
} as const;

export const issued = {
  type: 'object',
  required: ['heartbeat', 'token', 'pushPath'],
  properties: {
    heartbeat: view,
    token: { type: 'string', description: 'in this answer only' },
    pushPath: { type: 'string', description: 'GET or POST it, on the control plane, to report in' },
  },
} as const;

export const list = { type: 'array', items: view } as const;

export interface CreateInput {
  instance: string;
  name: string;
  intervalSeconds: number;
  graceSeconds?: number;
  severity?: 'critical' | 'warning';
}
export type UpdateInput = Partial<Pick<CreateInput, 'intervalSeconds' | 'graceSeconds' | 'severity'>>;
export interface PushQuery {
  status?: 'up' | 'down';
}
