/**
 * The OpenAPI 3.1 document, built from the same route definitions and JSON Schemas that validate requests
 * (http/api.ts), so the document cannot describe a route or a body other than the one the server checks.
 * Kept clean under Redocly's recommended rules (redocly.yaml, test/integration/openapi-lint.test.ts).
 */

/** What the document needs to know of one registered route (http/api.ts RouteSpec). */
export interface DocumentedRoute {
  method: string;
  path: string;
  operationId: string;
  summary: string;
  tag: string;
  roles: readonly string[] | 'public' | 'custom';
  body?: object;
  query?: object;
  status?: number;
  responseSchema?: object;
  produces?: readonly string[];
  problems?: readonly number[];
}

/** Lower camel case, as generated clients name their methods after it (openapi-fetch, openapi-typescript). */
export const OPERATION_ID = /^[a-z][A-Za-z0-9]{2,63}$/;

const problem = { $ref: '#/components/responses/Problem' };

/**
 * ajv's `discriminator` keyword (http/validation.ts) picks the `oneOf` branch by the `const` of one property, and
 * works on inline branches. OpenAPI's discriminator maps values to named schemas only, so on inline branches it
 * says nothing a client can use (Redocly: no-illogical-composition-keywords). The document leaves it out; each
 * branch's `const` still tells the variants apart.
 */
function withoutDiscriminator(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(withoutDiscriminator);
  if (!schema || typeof schema !== 'object') return schema;
  return Object.fromEntries(
    Object.entries(schema)
      .filter(([k]) => k !== 'discriminator')
      .map(([k, v]) => [k, withoutDiscriminator(v)]),
  );
}

/** The 4xx answers a route can give: those the Api itself gives, then those its handler names. */
function problems(route: DocumentedRoute): Record<string, object> {
  const statuses = new Set<number>([400]); // every route refuses an unknown query parameter or unstorable text
  if (Array.isArray(route.roles)) [401, 403].forEach((s) => statuses.add(s));
  if (route.body) [413, 415].forEach((s) => statuses.add(s)); // express.json's limit; a body that is not JSON
  if (/:\w+/.test(route.path)) statuses.add(404); // the id or slug in the path may name nothing
  for (const s of route.problems ?? []) statuses.add(s);
  return Object.fromEntries([...statuses].sort((a, b) => a - b).map((s) => [String(s), problem]));
}

function success(route: DocumentedRoute): Record<string, object> {
  const status = route.status ?? 200;
  if (status === 204) return { '204': { description: 'done; no body' } };
  const content = route.produces
    ? Object.fromEntries(route.produces.map((type) => [type, { schema: {} }]))
    : { 'application/json': { schema: withoutDiscriminator(route.responseSchema ?? {}) } };
  return { [String(status)]: { description: 'success', content } };
}

function operation(route: DocumentedRoute): object {
  const pathParams = [...route.path.matchAll(/:(\w+)/g)].map((m) => ({
    name: m[1],
    in: 'path',
    required: true,
    schema: { type: 'string' },
  }));
  const queryParams = Object.entries(
    (route.query as { properties?: Record<string, object> } | undefined)?.properties ?? {},
  ).map(([name, schema]) => ({ name, in: 'query', required: false, schema: withoutDiscriminator(schema) }));
  const secured = Array.isArray(route.roles);
  return {
    operationId: route.operationId,
    summary: route.summary,
    tags: [route.tag],
    // Public routes and those that check their own credential (Twilio's signature, a Faro app key, a signed
    // e-mail link) take no bearer token: `security: []` says so rather than leaving it unsaid.
    security: secured ? [{ bearer: [] }] : [],
    ...(secured ? { 'x-roles': route.roles } : {}),
    parameters: [...pathParams, ...queryParams],
    ...(route.body
      ? {
          requestBody: {
            required: true,
            content: { 'application/json': { schema: withoutDiscriminator(route.body) } },
          },
        }
      : {}),
    responses: { ...success(route), ...problems(route) },
  };
}

export function openapiDocument(
  routes: readonly DocumentedRoute[],
  info: { title: string; version: string },
) {
  const paths: Record<string, Record<string, object>> = {};
  for (const route of routes)
    (paths[route.path.replace(/:(\w+)/g, '{$1}')] ??= {})[route.method] = operation(route);
  return {
    openapi: '3.1.0',
    info,
    // Relative: the document is served by the control plane it describes, wherever that is reached.
    servers: [{ url: '/', description: 'the control plane serving this document' }],
    paths,
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      responses: {
        Problem: {
          description: 'RFC 9457 problem details',
          content: {
            'application/problem+json': {
              schema: {
                type: 'object',
                properties: {
                  type: { type: 'string' },
                  title: { type: 'string' },
                  status: { type: 'integer' },
                  detail: { type: 'string' },
                  errors: {
                    type: 'array',
                    items: {
                      type: 'object',
                      properties: { field: { type: 'string' }, message: { type: 'string' } },
                    },
                  },
                },
              },
            },
          },
        },
      },
    },
  };
}
