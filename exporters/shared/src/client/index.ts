/**
 * A typed client of the control plane's API: openapi-fetch over the types generated from the OpenAPI document
 * (schema.ts, `npm run openapi:client`), so a path, parameter or body the server does not take fails to compile.
 * Self-contained (imports nothing else of the control plane): the CLIs, the demo and the tests use it.
 *
 *   const api = controlPlaneClient('http://127.0.0.1:8080', { token });
 *   const incidents = ok('listing incidents', await api.GET('/api/v1/incidents', { params: { query: { status: 'open' } } }));
 */
import createClient, { type Client } from 'openapi-fetch';
import type { components, paths } from './schema.ts';

export type { components, operations, paths } from './schema.ts';
export type ControlPlaneClient = Client<paths>;
/** The problem+json body of a 4xx or 5xx answer (RFC 9457), `errors[]` naming each bad field. */
export type Problem = components['responses']['Problem']['content']['application/problem+json'];

export interface ClientOptions {
  /** Bearer token; public routes need none. */
  token?: string;
  /** Abort a request after this long (default: no limit beyond fetch's own). */
  timeoutMs?: number;
}

export function controlPlaneClient(baseUrl: string, opts: ClientOptions = {}): ControlPlaneClient {
  const timeoutMs = opts.timeoutMs;
  return createClient<paths>({
    baseUrl: baseUrl.replace(/\/+$/, ''),
    headers: opts.token ? { authorization: `Bearer ${opts.token}` } : {},
    ...(timeoutMs ? { fetch: (req: Request) => fetch(req, { signal: AbortSignal.timeout(timeoutMs) }) } : {}),
  });
}

/** A 4xx or 5xx answer: its status and problem details, in a message that says what was being done. */
export class ApiError extends Error {
  constructor(
    what: string,
    readonly status: number,
    readonly problem: Problem | undefined,
  ) {
    super(`${what}: HTTP ${status}${problem?.detail ? ` ${problem.detail}` : ''}`);
  }
}

/** The answer's body when it succeeded; an ApiError naming `what` otherwise. */
export function ok<D>(what: string, r: { data?: D; error?: unknown; response: Response }): D {
  if (!r.response.ok) throw new ApiError(what, r.response.status, r.error as Problem | undefined);
  return r.data as D;
}
