/** JSON Schemas of the incidents API and of Alertmanager's webhook (version 4). */

const labelSet = {
  type: 'object',
  maxProperties: 64,
  propertyNames: { maxLength: 256 },
  additionalProperties: { type: 'string', maxLength: 4096 },
} as const;
const annotationSet = {
  type: 'object',
  maxProperties: 64,
  propertyNames: { maxLength: 256 },
  additionalProperties: { type: 'string', maxLength: 16384 },
} as const;
const time = { type: 'string', format: 'date-time', maxLength: 64 } as const;

const alert = {
  type: 'object',
  required: ['status', 'labels', 'annotations', 'startsAt', 'fingerprint'],
  properties: {
    status: { enum: ['firing', 'resolved'] },
    labels: {
      ...labelSet,
      required: ['alertname'],
      properties: { alertname: { type: 'string', minLength: 1, maxLength: 256 } },
    },
    annotations: annotationSet,
    startsAt: time,
    endsAt: time,
    generatorURL: { type: 'string', maxLength: 4096 },
    fingerprint: { type: 'string', pattern: '^[0-9a-zA-Z]{1,64}$' },
  },
} as const;

/** Unknown top-level fields are allowed: newer Alertmanagers add some, and an alert must never be lost. */
export const alertmanagerWebhook = {
  type: 'object',
  required: ['version', 'status', 'alerts', 'groupKey', 'receiver'],
  properties: {
    version: { const: '4' },
    receiver: { type: 'string', maxLength: 256 },
    status: { enum: ['firing', 'resolved'] },
    alerts: { type: 'array', minItems: 1, maxItems: 1000, items: alert },
    groupLabels: labelSet,
    commonLabels: labelSet,
    commonAnnotations: annotationSet,
    externalURL: { type: 'string', maxLength: 4096 },
    groupKey: { type: 'string', minLength: 1, maxLength: 4096 },
    truncatedAlerts: { type: 'integer', minimum: 0 },
  },
} as const;

export interface AlertmanagerAlert {
  status: 'firing' | 'resolved';
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt?: string;
  generatorURL?: string;
  fingerprint: string;
}
export interface AlertmanagerPayload {
  version: '4';
  receiver: string;
  status: 'firing' | 'resolved';
  alerts: AlertmanagerAlert[];
  groupLabels?: Record<string, string>;
  commonLabels?: Record<string, string>;
  commonAnnotations?: Record<string, string>;
  externalURL?: string;
  groupKey: string;
  truncatedAlerts?: number;
}

const severity = { enum: ['critical', 'warning', 'info'] } as const;
const text = (max: number) => ({ type: 'string', minLength: 1, maxLength: max }) as const;

export const openIncident = {
  type: 'object',
  additionalProperties: false,
  required: ['title', 'severity'],
  properties: {
    title: text(200),
    summary: { type: 'string', maxLength: 2000, default: '' },
    severity,
    client: { type: 'string', maxLength: 64 },
    instance: { type: 'string', maxLength: 64 },
    service: { type: 'string', maxLength: 64 },
    publicSummary: text(2000),
  },
} as const;
export interface OpenIncidentInput {
  title: string;
  summary: string;
  severity: 'critical' | 'warning' | 'info';
  client?: string;
  instance?: string;
  service?: string;
  publicSummary?: string;
}

export const transition = {
  type: 'object',
  additionalProperties: false,
  properties: { note: text(2000) },
} as const;

export const note = {
  type: 'object',
  additionalProperties: false,
  required: ['text'],
  properties: {
    text: text(4000),
    visibility: { enum: ['internal', 'public'], default: 'internal' },
  },
} as const;

/** The most incidents one list answer holds. */
export const MAX_LIST_LIMIT = 1000;

export const listQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    client: { type: 'string', maxLength: 64 },
    instance: { type: 'string', maxLength: 64 },
    status: { enum: ['open', 'acknowledged', 'resolved'] },
    severity,
    from: time,
    to: time,
    limit: {
      type: 'string',
      pattern: '^[1-9][0-9]{0,3}$',
      description: `incidents per answer, 1..${MAX_LIST_LIMIT} (default 100), newest first`,
    },
  },
} as const;
export interface ListQuery {
  client?: string;
  instance?: string;
  status?: string;
  severity?: string;
  from?: string;
  to?: string;
  limit?: string;
}

export const reassign = {
  type: 'object',
  additionalProperties: false,
  properties: {
    responder: { type: 'string', format: 'uuid', description: 'a responder id' },
    rotation: {
      type: 'string',
      minLength: 1,
      maxLength: 200,
      description: "a rotation's id or name: whoever is on call",
    },
    note: { type: 'string', maxLength: 2000 },
  },
} as const;

export const raiseSeverity = {
  type: 'object',
  additionalProperties: false,
  required: ['severity'],
  properties: {
    severity: { enum: ['warning', 'critical'] },
    note: { type: 'string', maxLength: 2000 },
  },
} as const;
