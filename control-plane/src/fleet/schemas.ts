/** JSON Schemas of the fleet API: they validate requests and make up the OpenAPI document. */
import {
  DNS_RECORD_TYPES,
  JSON_PATH_PATTERN,
  MAX_BODY_REGEX,
  MAX_JSON_PATH,
} from '@concierge-ops/shared/probes';
import { SCRAPE_JOBS } from './sd.ts';

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

const timeoutMs = { type: 'integer', minimum: 100, maximum: 60000, default: 5000 } as const;
const host = { type: 'string', minLength: 1, maxLength: 253, pattern: '^[A-Za-z0-9.:_-]+$' } as const;

const httpProbe = {
  additionalProperties: false,
  required: ['type', 'url'],
  properties: {
    type: { const: 'http' },
    url: httpUrl,
    expectStatus: { type: 'integer', minimum: 100, maximum: 599, default: 200 },
    timeoutMs,
    healthJson: { type: 'boolean', default: false, description: "body is the concierge's health JSON" },
    bodyRegex: {
      type: 'string',
      minLength: 1,
      maxLength: MAX_BODY_REGEX,
      description:
        'a JavaScript regular expression the body must match (searched, not anchored); refused when it nests ' +
        'unbounded repetition, e.g. (a+)+, and run under a time limit by the prober',
    },
    bodyJson: {
      type: 'object',
      additionalProperties: false,
      required: ['path', 'equals'],
      description: 'the body must be JSON and the value at `path` must equal `equals`',
      properties: {
        path: {
          type: 'string',
          maxLength: MAX_JSON_PATH,
          pattern: JSON_PATH_PATTERN,
          description: "a JSON path of `.name`, `[index]` and `['name']` steps, e.g. $.checks[0].status",
        },
        equals: {
          anyOf: [
            { type: 'string', maxLength: 256 },
            { type: 'number' },
            { type: 'boolean' },
            { type: 'null' },
          ],
          description: 'a string, number, boolean or null, compared exactly (200 is not "200")',
        },
      },
    },
    tlsExpiry: {
      type: 'object',
      additionalProperties: false,
      required: ['warningDays', 'criticalDays'],
      description:
        'https only: days before the certificate expires at which CertificateExpiring warns and turns critical ' +
        '(unset: 21 and 7)',
      properties: {
        warningDays: { type: 'integer', minimum: 1, maximum: 365 },
        criticalDays: { type: 'integer', minimum: 0, maximum: 364 },
      },
    },
  },
} as const;

const dnsProbe = {
  additionalProperties: false,
  required: ['type', 'name', 'recordType'],
  properties: {
    type: { const: 'dns' },
    name: {
      type: 'string',
      minLength: 1,
      maxLength: 253,
      pattern: '^[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9.])?$',
      description: 'the name to resolve',
    },
    recordType: { enum: [...DNS_RECORD_TYPES] },
    server: {
      type: 'string',
      minLength: 2,
      maxLength: 53,
      pattern: '^[0-9A-Fa-f:.\\[\\]]+$',
      description:
        "the DNS server to ask: an IP address, with :port (IPv6 as [addr]:port); unset: the prober host's",
    },
    expect: {
      type: 'string',
      minLength: 1,
      maxLength: 255,
      pattern: '^[^\\u0000-\\u001f\\u007f]*$',
      description:
        'an answer that must be among those returned (an address, a name, an MX exchange, a TXT string); unset: any answer',
    },
    timeoutMs,
  },
} as const;

const probe = {
  type: 'object',
  discriminator: { propertyName: 'type' },
  required: ['type'],
  properties: { type: { enum: ['http', 'tcp', 'dns'] } },
  oneOf: [
    httpProbe,
    {
      additionalProperties: false,
      required: ['type', 'host', 'port'],
      properties: {
        type: { const: 'tcp' },
        host,
        port: { type: 'integer', minimum: 1, maximum: 65535 },
        timeoutMs,
      },
    },
    dnsProbe,
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
  nodeExporterUrl: {
    ...httpUrl,
    description: "the instance host's node_exporter metrics endpoint (job node)",
  },
  postgresExporterUrl: {
    ...httpUrl,
    description: "the instance database's postgres_exporter metrics endpoint (job postgres)",
  },
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

/** In a PATCH, null removes an optional endpoint (the instance then has none, and service discovery drops it). */
const removable = <T extends object>(field: T) => ({ ...field, type: ['string', 'null'] }) as const;

export const updateInstance = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  properties: {
    ...instanceFields,
    metricsUrl: removable(instanceFields.metricsUrl),
    nodeExporterUrl: removable(instanceFields.nodeExporterUrl),
    postgresExporterUrl: removable(instanceFields.postgresExporterUrl),
  },
} as const;

export const clientListQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { status: { enum: ['active', 'decommissioned', 'all'] } },
} as const;

export const scrapeTargetsQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    job: {
      enum: [...SCRAPE_JOBS],
      description:
        "concierge (default): the runtimes' metricsUrl; node: nodeExporterUrl; postgres: postgresExporterUrl",
    },
  },
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
  required: [
    'id',
    'client',
    'slug',
    'environment',
    'baseUrl',
    'metricsUrl',
    'nodeExporterUrl',
    'postgresExporterUrl',
    'labels',
    'services',
    'status',
  ],
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
    nodeExporterUrl: { type: ['string', 'null'] },
    postgresExporterUrl: { type: ['string', 'null'] },
    labels: { type: 'object', additionalProperties: { type: 'string' } },
    services: {
      type: 'array',
      items: {
        type: 'object',
        required: ['name', 'kind', 'probe'],
        properties: {
          name: { type: 'string' },
          kind: { enum: SERVICE_KINDS },
          probe: {
            type: 'object',
            required: ['type'],
            properties: { type: { enum: ['http', 'tcp', 'dns'] } },
          },
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
