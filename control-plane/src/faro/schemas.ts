/**
 * JSON Schemas of the Faro intake. `payload` is Faro's collector Payload (contracts/faro-collector.openapi.yaml,
 * grafana/faro spec/gen/faro.gen.yaml) made stricter: the same objects, fields and types, inlined (no $ref, so
 * it embeds in the OpenAPI document), with `meta` required, no unknown top-level keys, the session id rule the
 * contract states in prose, and bounds on every array, map and string. Nested objects still accept fields this
 * copy does not know, as the collector does, so a newer SDK's extra metadata is not refused.
 */

const str = (maxLength = 1024) => ({ type: 'string', maxLength }) as const;
const text = str(32_768);
const time = { type: 'string', format: 'date-time' } as const;
const stringMap = (maxProperties = 100) =>
  ({ type: 'object', maxProperties, additionalProperties: str(8192) }) as const;
const object = (properties: Record<string, object>, required?: string[]) => ({
  type: 'object',
  ...(required ? { required } : {}),
  properties,
});
const array = (items: object, maxItems = 1000) => ({ type: 'array', maxItems, items }) as const;

const traceContext = object({ trace_id: str(64), span_id: str(32) }, ['trace_id', 'span_id']);
const action = object({ name: str(), id: str(), parentId: str() });

const frame = object({
  colno: { type: 'integer' },
  filename: str(4096),
  function: str(),
  lineno: { type: 'integer' },
  module: str(),
});

const exception = object(
  {
    context: stringMap(),
    stacktrace: object({ frames: array(frame, 500) }),
    timestamp: time,
    trace: traceContext,
    type: str(),
    fatal: { type: 'boolean' },
    fingerprint: str(),
    value: text,
    action,
  },
  ['timestamp'],
);

const log = object(
  {
    context: stringMap(),
    level: { enum: ['trace', 'debug', 'info', 'warning', 'error'] },
    message: text,
    timestamp: time,
    trace: traceContext,
    action,
  },
  ['timestamp'],
);

const measurement = object({
  context: stringMap(),
  timestamp: time,
  trace: traceContext,
  type: str(256),
  values: { type: 'object', maxProperties: 100, additionalProperties: { type: 'number' } },
  action,
});

const event = object(
  {
    attributes: stringMap(),
    domain: str(256),
    name: str(256),
    timestamp: time,
    trace: traceContext,
    action,
  },
  ['name'],
);

const brand = object({ brand: str(), version: str() });

const meta = object({
  sdk: object({
    name: str(),
    version: str(),
    integrations: array(object({ name: str(), version: str() }), 100),
  }),
  app: object({
    bundleId: str(),
    gitHash: str(),
    environment: str(),
    installationId: str(),
    name: str(),
    namespace: str(),
    release: str(),
    version: str(),
  }),
  user: object({ username: str(), id: str(), email: str(), attributes: stringMap() }),
  session: object({
    // The contract's own rule for session ids (it states it in prose only).
    id: { type: 'string', pattern: '^[a-zA-Z0-9_.@:-]+$', maxLength: 128 },
    attributes: stringMap(),
    overrides: object({ serviceName: str(), geoLocationTrackingEnabled: { type: 'boolean' } }),
  }),
  page: object({ attributes: stringMap(), id: str(), url: str(8192) }),
  browser: object({
    name: str(),
    version: str(),
    os: str(),
    mobile: { type: 'boolean' },
    userAgent: str(2048),
    language: str(),
    brands: { oneOf: [str(2048), array(brand, 50)] },
    viewportWidth: str(32),
    viewportHeight: str(32),
  }),
  device: object({
    manufacturer: str(),
    model_identifier: str(),
    model_name: str(),
    brand: str(),
    is_physical: { type: 'boolean' },
    type: str(),
  }),
  os: object({ name: str(), version: str(), build_id: str(), detail: str() }),
  k6: object({ isK6Browser: { type: 'boolean' }, testRunId: str() }),
  view: object({ name: str() }),
  geo: object({
    continent_iso: str(),
    country_iso: str(),
    subdivision_iso: str(),
    city: str(),
    asn_org: str(),
    asn_id: str(),
  }),
});

export const payload = {
  type: 'object',
  additionalProperties: false,
  required: ['meta'],
  properties: {
    events: array(event),
    exceptions: array(exception),
    logs: array(log),
    measurements: array(measurement),
    meta,
    traces: { type: 'object', description: 'OTLP JSON traces (not turned into metrics here)' },
  },
} as const;

export interface FaroPayload {
  events?: { name: string; attributes?: Record<string, string> }[];
  exceptions?: { type?: string; value?: string; timestamp: string }[];
  logs?: unknown[];
  measurements?: { type?: string; values?: Record<string, number>; context?: Record<string, string> }[];
  meta: { page?: { url?: string }; session?: { id?: string } };
  traces?: object;
}

// ---- app key management ----

const origins = {
  type: 'array',
  minItems: 1,
  maxItems: 20,
  uniqueItems: true,
  items: { type: 'string', minLength: 8, maxLength: 300 },
  description: 'browser origins allowed to send, scheme://host[:port] (default: the instance baseUrl origin)',
} as const;
const pageRoutes = {
  type: 'array',
  minItems: 1,
  maxItems: 50,
  uniqueItems: true,
  items: { type: 'string', minLength: 1, maxLength: 200 },
  description:
    'route templates that become the page label, e.g. /chat, /appointments/:id, /help/* (default [/])',
} as const;

export const createKey = {
  type: 'object',
  additionalProperties: false,
  properties: { allowedOrigins: origins, pageRoutes },
} as const;

export const rotateKey = {
  type: 'object',
  additionalProperties: false,
  properties: {
    allowedOrigins: origins,
    pageRoutes,
    graceSeconds: {
      type: 'integer',
      minimum: 0,
      maximum: 7 * 86400,
      description:
        'how long the previous key keeps working (pages cached in browsers still carry it); default 0',
    },
  },
} as const;

export const updateKey = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  properties: { allowedOrigins: origins, pageRoutes },
} as const;

export interface KeyInput {
  allowedOrigins?: string[];
  pageRoutes?: string[];
}
export interface RotateInput extends KeyInput {
  graceSeconds?: number;
}

// Answers of the app key routes (faro/service.ts KeyView): the OpenAPI document's response schemas.
const keyViewProperties = {
  id: { type: 'string', format: 'uuid' },
  instance: {
    type: 'object',
    required: ['id', 'slug', 'client'],
    properties: { id: { type: 'string', format: 'uuid' }, slug: str(), client: str() },
  },
  prefix: str(),
  allowedOrigins: { type: 'array', items: str() },
  pageRoutes: { type: 'array', items: str() },
  createdBy: str(),
  createdAt: time,
  expiresAt: { type: ['string', 'null'], format: 'date-time' },
  current: { type: 'boolean' },
} as const;
const keyViewRequired = ['id', 'instance', 'prefix', 'allowedOrigins', 'pageRoutes', 'createdAt', 'current'];

export const keyList = {
  type: 'array',
  items: { type: 'object', required: keyViewRequired, properties: keyViewProperties },
} as const;

/** A new key: shown in this answer only, with the path a page posts its payloads to. */
export const issuedKey = {
  type: 'object',
  required: [...keyViewRequired, 'key', 'collectPath'],
  properties: { ...keyViewProperties, key: str(), collectPath: str() },
} as const;
