/** JSON Schemas of the fleet API: they validate requests and make up the OpenAPI document. */

const slug = {
  type: 'string',
  pattern: '^[a-z0-9][a-z0-9-]{0,62}$',
  description: 'lower-case letters, digits, -',
};
const httpUrl = { type: 'string', format: 'uri', pattern: '^https?://', maxLength: 2048 };
const email = { type: 'string', format: 'email', maxLength: 254 };

/** Most status contacts a client has: each update is one e-mail (and SMS) per contact. */
export const MAX_STATUS_CONTACTS = 20;

/** A clinic's person told of incidents and maintenance (docs/status-updates.md). */
export const statusContact = {
  type: 'object',
  additionalProperties: false,
  required: ['email'],
  properties: {
    email,
    name: { type: 'string', minLength: 1, maxLength: 100, pattern: '^[^\\u0000-\\u001f\\u007f]*$' },
    sms: { type: 'string', pattern: '^\\+[1-9][0-9]{6,14}$', description: 'E.164, e.g. +15551230001' },
  },
} as const;

const clientFields = {
  name: { type: 'string', minLength: 1, maxLength: 200 },
  timeZone: { type: 'string', format: 'iana-time-zone', description: 'IANA time zone, e.g. Europe/Berlin' },
  slaTarget: { type: 'number', exclusiveMinimum: 0, maximum: 1, description: 'monthly uptime target' },
  reportContacts: { type: 'array', items: email, maxItems: 20, uniqueItems: true },
  statusContacts: {
    type: 'array',
    items: statusContact,
    maxItems: MAX_STATUS_CONTACTS,
    description: 'told by e-mail (and SMS with `sms`) of incidents with a public summary and of maintenance',
  },
  slaServices: {
    type: ['array', 'null'],
    items: { type: 'string', pattern: '^[a-z0-9][a-z0-9_-]{0,62}$' },
    minItems: 1,
    maxItems: 50,
    uniqueItems: true,
    description: 'service names or kinds whose downtime counts in the SLA; null: backend and proxy',
  },
};

export const createClient = {
  type: 'object',
  additionalProperties: false,
  required: ['slug', 'name', 'timeZone'],
  properties: { slug, ...clientFields, slaTarget: { ...clientFields.slaTarget, default: 0.999 } },
} as const;

export const updateClient = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  properties: clientFields,
} as const;

const probe = {
  type: 'object',
  discriminator: { propertyName: 'type' },
  required: ['type'],
  properties: { type: { enum: ['http', 'tcp'] } },
  oneOf: [
    {
      additionalProperties: false,
      required: ['type', 'url'],
      properties: {
        type: { const: 'http' },
        url: httpUrl,
        expectStatus: { type: 'integer', minimum: 100, maximum: 599, default: 200 },
        timeoutMs: { type: 'integer', minimum: 100, maximum: 60000, default: 5000 },
        healthJson: { type: 'boolean', default: false, description: "body is the concierge's health JSON" },
      },
    },
    {
      additionalProperties: false,
      required: ['type', 'host', 'port'],
      properties: {
        type: { const: 'tcp' },
        host: { type: 'string', minLength: 1, maxLength: 253, pattern: '^[A-Za-z0-9.:_-]+$' },
        port: { type: 'integer', minimum: 1, maximum: 65535 },
        timeoutMs: { type: 'integer', minimum: 100, maximum: 60000, default: 5000 },
      },
    },
  ],
} as const;

export const SERVICE_KINDS = ['backend', 'database', 'frontend', 'proxy', 'dependency'] as const;

const service = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'kind', 'probe'],
  properties: {
    name: { type: 'string', pattern: '^[a-z0-9][a-z0-9_-]{0,62}$' },
    kind: { enum: [...SERVICE_KINDS] },
    probe,
  },
} as const;

const labels = {
  type: 'object',
  maxProperties: 20,
  propertyNames: { pattern: '^[a-zA-Z_][a-zA-Z0-9_]{0,62}$' },
  additionalProperties: { type: 'string', maxLength: 128 },
} as const;

const instanceFields = {
  environment: { type: 'string', pattern: '^[a-z0-9][a-z0-9-]{0,31}$' },
  baseUrl: httpUrl,
  metricsUrl: { ...httpUrl, description: "the concierge runtime's Prometheus pull endpoint" },
  labels,
  monitoredSince: {
    type: 'string',
    format: 'date-time',
    description: "when monitoring began: the instance's SLA period starts here (default: registration)",
  },
  services: { type: 'array', maxItems: 50, items: service },
};

export const createInstance = {
  type: 'object',
  additionalProperties: false,
  required: ['client', 'slug', 'environment', 'baseUrl', 'services'],
  properties: { client: { type: 'string', minLength: 1, maxLength: 64 }, slug, ...instanceFields },
} as const;

export const updateInstance = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  properties: instanceFields,
} as const;

export const clientListQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { status: { enum: ['active', 'decommissioned', 'all'] } },
} as const;

export const listQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    ...clientListQuery.properties,
    client: { type: 'string', maxLength: 64 },
    q: {
      type: 'string',
      maxLength: 100,
      description: "words in the instance's or client's name, the environment or the base URL",
    },
    limit: { type: 'string', pattern: '^[1-9][0-9]{0,3}$', description: '1..1000; unset: all of them' },
    after: {
      type: 'string',
      pattern: '^[a-z0-9][a-z0-9-]{0,62}/[a-z0-9][a-z0-9-]{0,62}$',
      description: "paging: the last instance's client/instance of the page before",
    },
  },
} as const;

// Answers (the OpenAPI document's response schemas, read by generated clients; fleet/types.ts Client, Instance).
const time = { type: 'string', format: 'date-time' } as const;
const nullableTime = { type: ['string', 'null'], format: 'date-time' } as const;
const lifecycle = { status: { enum: ['active', 'decommissioned'] }, decommissionedAt: nullableTime } as const;

export const client = {
  type: 'object',
  required: [
    'id',
    'slug',
    'name',
    'timeZone',
    'slaTarget',
    'reportContacts',
    'statusContacts',
    'slaServices',
    'status',
  ],
  properties: {
    id: { type: 'string', format: 'uuid' },
    slug: { type: 'string' },
    name: { type: 'string' },
    timeZone: { type: 'string' },
    slaTarget: { type: 'number' },
    reportContacts: { type: 'array', items: { type: 'string' } },
    statusContacts: {
      type: 'array',
      items: {
        type: 'object',
        required: ['email', 'unsubscribedAt'],
        properties: {
          email: { type: 'string' },
          name: { type: 'string' },
          sms: { type: 'string' },
          unsubscribedAt: { ...nullableTime, description: 'set once the contact used its unsubscribe link' },
        },
      },
    },
    slaServices: { type: ['array', 'null'], items: { type: 'string' } },
    ...lifecycle,
    createdAt: time,
    updatedAt: time,
  },
} as const;

export const instance = {
  type: 'object',
  required: ['id', 'client', 'slug', 'environment', 'baseUrl', 'metricsUrl', 'labels', 'services', 'status'],
  properties: {
    id: { type: 'string', format: 'uuid' },
    client: {
      type: 'object',
      required: ['id', 'slug'],
      properties: { id: { type: 'string', format: 'uuid' }, slug: { type: 'string' } },
    },
    slug: { type: 'string' },
    environment: { type: 'string' },
    baseUrl: { type: 'string' },
    metricsUrl: { type: ['string', 'null'] },
    labels: { type: 'object', additionalProperties: { type: 'string' } },
    services: {
      type: 'array',
      items: {
        type: 'object',
        required: ['name', 'kind', 'probe'],
        properties: {
          name: { type: 'string' },
          kind: { enum: SERVICE_KINDS },
          probe: { type: 'object', required: ['type'], properties: { type: { enum: ['http', 'tcp'] } } },
        },
      },
    },
    ...lifecycle,
    monitoredSince: time,
    createdAt: time,
    updatedAt: time,
  },
} as const;

export const clientList = { type: 'array', items: client } as const;
export const instanceList = { type: 'array', items: instance } as const;
