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
/**
 * An alert's times: a value that is not a date-time at all is refused (that is not Alertmanager), but one that
 * has the shape and still cannot be stored (year 0000, offset +23:59, 23:59:60) is repaired by the ingest, since
 * a 400 would refuse the whole group at every Alertmanager retry (incidents/repair.ts).
 */
const alertTime = { type: 'string', format: 'date-time-shape', maxLength: 64 } as const;

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
    startsAt: alertTime,
    endsAt: alertTime,
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
export const incidentClass = {
  enum: ['crisis', 'security', 'compliance', 'performance', 'availability'],
  description: 'what kind of failure; escalation policies may select on it',
} as const;
const text = (max: number) => ({ type: 'string', minLength: 1, maxLength: max }) as const;

export const openIncident = {
  type: 'object',
  additionalProperties: false,
  required: ['title', 'severity'],
  properties: {
    title: text(200),
    summary: { type: 'string', maxLength: 2000, default: '' },
    severity,
    class: incidentClass,
    client: { type: 'string', maxLength: 64, description: "a client's id or slug" },
    instance: {
      type: 'string',
      maxLength: 64,
      description: "an instance's id or slug: the client's own (it names the client when none is given)",
    },
    service: {
      type: 'string',
      maxLength: 64,
      description: "a service's name: the instance's (or client's) own",
    },
    publicSummary: text(2000),
    failureBeganAt: {
      ...time,
      description: 'when the failure began, within the last 30 days (default: now, the opening)',
    },
  },
} as const;
export interface OpenIncidentInput {
  title: string;
  summary: string;
  severity: 'critical' | 'warning' | 'info';
  class?: 'crisis' | 'security' | 'compliance' | 'performance' | 'availability';
  client?: string;
  instance?: string;
  service?: string;
  publicSummary?: string;
  failureBeganAt?: string;
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

export const setClass = {
  type: 'object',
  additionalProperties: false,
  required: ['class'],
  properties: { class: incidentClass, note: { type: 'string', maxLength: 2000 } },
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

/** A reference to another object, as across the API: its id and its slug. */
const ref = {
  type: 'object',
  required: ['id', 'slug'],
  additionalProperties: false,
  properties: { id: { type: 'string', format: 'uuid' }, slug: { type: 'string' } },
} as const;
const nullable = (s: object) => ({ oneOf: [s, { type: 'null' }] });
const optionalTime = nullable({ type: 'string', format: 'date-time' });

/** Where an incident stands against one response target. */
const targetState = {
  type: 'object',
  additionalProperties: false,
  required: ['withinSeconds', 'dueAt', 'missed', 'missedAt'],
  properties: {
    withinSeconds: { type: 'integer', minimum: 1 },
    dueAt: { type: 'string', format: 'date-time' },
    missed: {
      type: 'boolean',
      description: 'the target passed before it was met (or while it is still awaited)',
    },
    missedAt: nullable({
      type: 'string',
      format: 'date-time',
      description: 'when it was missed (its due time)',
    }),
  },
} as const;

/** An incident as answered; `summary` (internal) is left out for client tokens. */
export const incidentResponse = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'code', 'client', 'unassigned', 'instance', 'service', 'severity', 'status', 'source'],
  properties: {
    id: { type: 'string', format: 'uuid' },
    code: { type: 'string', pattern: '^INC-[0-9]{6,}$' },
    client: nullable(ref),
    unassigned: { type: 'boolean' },
    instance: nullable(ref),
    service: nullable({ type: 'string', description: "a service's name, within the incident's instance" }),
    severity,
    status: { enum: ['open', 'acknowledged', 'resolved'] },
    class: nullable(incidentClass),
    urgency: nullable({ enum: ['emergency'], description: 'the whole ladder was paged at once, by voice' }),
    source: { enum: ['alertmanager', 'manual', 'deadman', 'drill'] },
    title: { type: 'string' },
    summary: { type: 'string', description: 'internal: staff only' },
    publicSummary: nullable({ type: 'string' }),
    openedAt: { type: 'string', format: 'date-time' },
    failureBeganAt: {
      type: 'string',
      format: 'date-time',
      description:
        "when the failure began: the alerts' earliest startsAt, or the time given to a hand-made one",
    },
    confirmedAt: {
      type: 'string',
      format: 'date-time',
      description: 'when the control plane confirmed the failure by opening the incident (openedAt)',
    },
    firstPageAt: nullable({
      type: 'string',
      format: 'date-time',
      description: 'when a provider first accepted one of its pages (Twilio API, SMTP server)',
    }),
    acknowledgedAt: optionalTime,
    acknowledgedBy: nullable({ type: 'string' }),
    resolvedAt: optionalTime,
    resolvedBy: nullable({ type: 'string' }),
    responseTargets: nullable({
      type: 'object',
      additionalProperties: false,
      required: ['acknowledge', 'resolve'],
      description:
        'time to acknowledge and to resolve from the opening, per severity and class (docs/incident-targets.md); null for a drill',
      properties: { acknowledge: targetState, resolve: targetState },
    }),
  },
} as const;

export const incidentList = { type: 'array', items: incidentResponse } as const;

export const timelineResponse = {
  type: 'array',
  items: {
    type: 'object',
    additionalProperties: false,
    required: ['at', 'kind', 'actor', 'detail', 'internal'],
    properties: {
      at: { type: 'string', format: 'date-time' },
      kind: { type: 'string' },
      actor: { type: 'string' },
      detail: { type: 'object' },
      internal: { type: 'boolean' },
    },
  },
} as const;
