/** JSON Schemas of the responder, rotation and on-call API: they validate requests and make up the OpenAPI. */

export const uuid = { type: 'string', format: 'uuid' } as const;
const isoTime = { type: 'string', format: 'date-time', maxLength: 40 } as const;
export const hhmm = {
  type: 'string',
  pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$',
  description: 'local HH:MM',
} as const;
export const name = { type: 'string', minLength: 1, maxLength: 200 } as const;
export const role = {
  type: 'string',
  pattern: '^[a-z][a-z0-9-]{0,62}$',
  description: 'e.g. oncall-engineer, devops-lead, security-lead, cto',
} as const;
const phone = {
  type: ['string', 'null'],
  pattern: '^\\+[1-9][0-9]{6,14}$',
  description: 'E.164, e.g. +15551230001',
} as const;
const email = { type: ['string', 'null'], format: 'email', maxLength: 254 } as const;

const hookUrl = (what: string) =>
  ({
    type: ['string', 'null'],
    format: 'uri',
    pattern: '^https?://',
    maxLength: 2000,
    description: `${what}; answered masked, never in full`,
  }) as const;

const responderFields = {
  name,
  role,
  phone,
  email,
  active: { type: 'boolean' },
  webhookUrl: hookUrl('outbound webhook: pages POSTed as JSON, HMAC-SHA256 signed with webhookSecret'),
  webhookSecret: {
    type: ['string', 'null'],
    minLength: 16,
    maxLength: 200,
    description: 'signs webhook pages; never answered',
  },
  slackWebhookUrl: hookUrl('Slack incoming webhook URL'),
  teamsWebhookUrl: hookUrl('Microsoft Teams incoming webhook URL'),
} as const;

export const createResponder = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'role'],
  properties: responderFields,
} as const;

export const updateResponder = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  properties: responderFields,
} as const;

const rotationFields = {
  name,
  timeZone: { type: 'string', format: 'iana-time-zone', description: 'IANA time zone of the hand-offs' },
  handoff: { enum: ['daily', 'weekly'] },
  handoffTime: hhmm,
  startDate: {
    type: 'string',
    format: 'date',
    description: 'local date of the first shift (weekly: the hand-off weekday)',
  },
  members: {
    type: 'array',
    minItems: 1,
    maxItems: 100,
    items: uuid,
    description: 'responder ids in shift order',
  },
} as const;

export const createRotation = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'timeZone', 'handoff', 'handoffTime', 'startDate', 'members'],
  properties: rotationFields,
} as const;

export const updateRotation = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  properties: rotationFields,
} as const;

export const createOverride = {
  type: 'object',
  additionalProperties: false,
  required: ['responder', 'start', 'end'],
  properties: {
    responder: { ...uuid, description: 'the responder on call instead' },
    start: isoTime,
    end: isoTime,
    reason: { type: 'string', maxLength: 500 },
  },
} as const;

export const previewQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { from: isoTime, to: isoTime },
} as const;

export const nowQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { rotation: { type: 'string', minLength: 1, maxLength: 200, description: 'id or name' } },
} as const;

/** Local hours: days of the week and a time range in a zone (an end before the start wraps past midnight). */
export const hours = {
  type: 'object',
  additionalProperties: false,
  required: ['timeZone', 'days', 'start', 'end'],
  properties: {
    timeZone: { type: 'string', format: 'iana-time-zone' },
    days: {
      type: 'array',
      minItems: 1,
      maxItems: 7,
      uniqueItems: true,
      items: { enum: ['MO', 'TU', 'WE', 'TH', 'FR', 'SA', 'SU'] },
    },
    start: hhmm,
    end: hhmm,
  },
} as const;
