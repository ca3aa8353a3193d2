/** JSON Schemas of the escalation policy API. */
import { hours, name, role, uuid } from '../oncall/schemas.ts';

const channelList = {
  type: 'array',
  maxItems: 6,
  uniqueItems: true,
  items: { enum: ['sms', 'voice', 'email', 'webhook', 'slack', 'teams'] },
} as const;
const channelMap = {
  type: 'object',
  additionalProperties: false,
  properties: { critical: channelList, warning: channelList, info: channelList },
} as const;

const level = {
  type: 'object',
  additionalProperties: false,
  required: ['delaySeconds', 'targets'],
  properties: {
    delaySeconds: {
      type: 'integer',
      minimum: 0,
      maximum: 7 * 86_400,
      description: 'after the incident opens',
    },
    targets: {
      type: 'object',
      additionalProperties: false,
      properties: {
        roles: { type: 'array', maxItems: 20, uniqueItems: true, items: role },
        responders: { type: 'array', maxItems: 50, uniqueItems: true, items: uuid },
        rotations: { type: 'array', maxItems: 20, uniqueItems: true, items: uuid },
      },
    },
    channels: {
      ...channelMap,
      description:
        'by severity; a severity left out keeps the default (critical sms+voice+email, warning sms+email, info email)',
    },
    hours: { ...hours, description: 'the level pages by `channels` only within these hours' },
    offHoursChannels: { ...channelMap, description: 'outside `hours`; without it the level is skipped then' },
  },
} as const;

export const policy = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'levels'],
  properties: {
    name,
    client: { type: 'string', minLength: 1, maxLength: 64, description: 'client id or slug' },
    severities: {
      type: 'array',
      minItems: 1,
      maxItems: 3,
      uniqueItems: true,
      items: { enum: ['critical', 'warning', 'info'] },
    },
    classes: {
      type: 'array',
      minItems: 1,
      maxItems: 5,
      uniqueItems: true,
      items: { enum: ['crisis', 'security', 'compliance', 'performance', 'availability'] },
      description: 'incident classes the policy applies to; chosen before a policy without classes',
    },
    repeatCount: {
      oneOf: [{ type: 'integer', minimum: 0, maximum: 100 }, { const: 'unlimited' }],
      description:
        'repeats of the whole ladder after its last level (default 0); unlimited: until acked or resolved',
    },
    repeatIntervalSeconds: { type: 'integer', minimum: 1, maximum: 86_400 },
    autoResolve: {
      type: 'boolean',
      description: 'an Alertmanager incident resolves itself when all its alerts have (default true)',
    },
    hours: { ...hours, description: 'the policy is chosen only within these hours' },
    levels: { type: 'array', minItems: 1, maxItems: 20, items: level },
  },
} as const;
