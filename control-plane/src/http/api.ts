import type { NextFunction, Request, Response, Router } from 'express';
import type { ValidateFunction } from 'ajv';
import { bearer, type Auth, type Role } from './auth.ts';
import { AppError, ForbiddenError, UnauthorizedError, ValidationError, sendProblem } from './errors.ts';
import { unstorable } from './unstorable.ts';
import { OPERATION_ID, openapiDocument } from './openapi.ts';
import { check, compile } from './validation.ts';
import './types.ts';

type Method = 'get' | 'post' | 'patch' | 'put' | 'delete';

export interface HandlerContext<B, Q> {
  req: Request;
  res: Response;
  auth: Auth;
  body: B;
  query: Q;
  params: Record<string, string>;
}

export interface RouteSpec<B = unknown, Q = Record<string, string>> {
  method: Method;
  /** Express path, e.g. `/api/v1/clients/:id`. */
  path: string;
  /**
   * The operation's stable name in the OpenAPI document (lower camel case, unique): generated clients call it by
   * this name, so renaming one breaks them (test/integration/openapi.test.ts lists them all).
   */
  operationId: string;
  summary: string;
  tag: string;
  /** Roles allowed to call; 'public' skips authentication, 'custom' leaves it to the handler. */
  roles: readonly Role[] | 'public' | 'custom';
  /** JSON Schema of the body; a route with one is a JSON route (another Content-Type gets 415). */
  body?: object;
  query?: object;
  /**
   * The handler repairs NUL and lone surrogates in the body itself, instead of the usual 400: for senders that
   * retry a refused body for ever (Alertmanager: one bad label would keep its whole group from paging).
   */
  repairsBody?: boolean;
  /** Status of a successful answer (default 200). */
  status?: number;
  responseSchema?: object;
  /** Media types of a successful answer the handler sends itself, when it is not JSON. */
  produces?: readonly string[];
  /** 4xx statuses the handler answers beyond those the Api gives (400, 401/403, 413/415, 404 with path ids). */
  problems?: readonly number[];
  /**
   * For reads auditors ask about (a client's reports, SLA, responders' contacts, the audit log, tokens): what
   * was read. Recorded with the caller once the handler succeeded, before a JSON answer leaves.
   */
  read?: (ctx: HandlerContext<B, Q>) => ReadRecord;
  /** Returns the JSON body to send, or undefined when it answered through `res` itself. */
  handler: (ctx: HandlerContext<B, Q>) => Promise<unknown> | unknown;
}

/** A recorded read: an audit record's action and target, and what else says what was read. */
export interface ReadRecord {
  action: string;
  targetType: string;
  targetId: string | null;
  detail?: Record<string, unknown>;
}

export type Authenticate = (token: string) => Promise<Auth | undefined>;
export type OnDenied = (reason: 'unauthenticated' | 'forbidden', req: Request) => void;
export type OnRead = (auth: Auth, requestId: string, read: ReadRecord) => Promise<void>;
/** A known token's request, before its role is checked (security/service.ts: a token seen from a new address). */
export type OnAuthenticated = (auth: Auth, req: Request) => Promise<void> | void;

interface Registered {
  spec: RouteSpec<unknown, unknown>;
  pattern: RegExp;
}

/** JSON pointer of one query parameter (RFC 6901 escapes `~` and `/`). */
const pointer = (name: string) => '/' + name.slice(0, 64).replace(/~/g, '~0').replace(/\//g, '~1');

/**
 * Every route names the query parameters it takes; any other is a 400 naming it, never silently ignored
 * (`GET /api/v1/clients?client=x` would otherwise answer every client, as if the filter had matched).
 */
function checkQuery<Q>(
  validate: ValidateFunction<Q> | undefined,
  known: ReadonlySet<string>,
  raw: object,
): Q {
  const unknown = Object.keys(raw).filter((k) => !known.has(k));
  if (unknown.length > 0) {
    const named = unknown.slice(0, 10);
    throw new ValidationError(
      `unknown query parameter ${named.map((n) => n.slice(0, 64)).join(', ')}` +
        (known.size > 0 ? `; this route takes ${[...known].join(', ')}` : '; this route takes none'),
      named.map((name) => ({ field: pointer(name), message: 'is not a known query parameter' })),
    );
  }
  return validate ? check(validate, { ...raw }, 'query string') : ({ ...raw } as Q);
}

function toPattern(path: string): RegExp {
  return new RegExp('^' + path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/:(\w+)/g, '[^/]+') + '/?$');
}

/** JSON routes name the header a caller most often forgets (`curl -d` sends a form) instead of "must be object". */
function requireJson(req: Request): void {
  const hasBody =
    req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
  if (!hasBody || req.is(['application/json', '+json'])) return;
  const given = req.header('content-type');
  throw new AppError(
    'unsupported_media_type',
    given
      ? `Content-Type ${given.split(';')[0]!.trim()} is not accepted here: send JSON with Content-Type: application/json`
      : 'the request body has no Content-Type header: send JSON with Content-Type: application/json',
    415,
  );
}

/** A JSON route called with no body at all: say what to send rather than "must be object". */
function checkBody<B>(validate: ValidateFunction<B>, data: unknown): B {
  if (data === undefined && !validate(data))
    throw new ValidationError('request body is missing: send JSON with Content-Type: application/json', [
      { field: '', message: 'is required' },
    ]);
  return check(validate, data);
}

/**
 * NUL and lone surrogates anywhere in the path, query or body: 400 naming the field before any route sees them
 * (PostgreSQL refuses both, so they used to come back as 500). Headers need no walk: Node refuses NUL in them
 * and reads them as Latin-1, which has no surrogates; the only one kept (X-Request-Id) has its own pattern.
 */
function rejectUnstorable(req: Request, body: boolean): void {
  const errors = [
    ...unstorable(req.params).map((e) => ({
      ...e,
      message: `path parameter ${e.field.slice(1)} ${e.message}`,
    })),
    ...unstorable(req.query).map((e) => ({
      ...e,
      message: `query parameter ${e.field.slice(1)} ${e.message}`,
    })),
    ...(body ? unstorable(req.body) : []),
  ];
  if (errors.length > 0) throw new ValidationError('request holds text that cannot be stored', errors);
}

/**
 * Registers routes on an express router, validating body and query against their JSON Schemas, checking the
 * caller's role, and remembering each route for the OpenAPI document and for 405 answers.
 */
export class Api {
  private readonly routes: Registered[] = [];

  constructor(
    private readonly router: Router,
    private readonly authenticate: Authenticate,
    private readonly onDenied: OnDenied = () => undefined,
    private readonly onRead: OnRead = async () => undefined,
    private readonly onAuthenticated: OnAuthenticated = () => undefined,
  ) {}

  route<B = unknown, Q = Record<string, string>>(spec: RouteSpec<B, Q>): void {
    const body: ValidateFunction<B> | undefined = spec.body ? compile<B>(spec.body) : undefined;
    const query: ValidateFunction<Q> | undefined = spec.query ? compile<Q>(spec.query) : undefined;
    const querySchema = spec.query as { properties?: object; additionalProperties?: unknown } | undefined;
    // A query schema that let unknown parameters through would contradict checkQuery and the OpenAPI document.
    if (querySchema && querySchema.additionalProperties !== false)
      throw new Error(`${spec.method} ${spec.path}: its query schema needs additionalProperties: false`);
    const known = new Set(Object.keys(querySchema?.properties ?? {}));
    // Clients generated from the document call operations by these names: one name, one operation.
    if (!OPERATION_ID.test(spec.operationId))
      throw new Error(`${spec.method} ${spec.path}: operationId ${spec.operationId} is not lower camel case`);
    const twin = this.routes.find((r) => r.spec.operationId === spec.operationId);
    if (twin)
      throw new Error(
        `${spec.method} ${spec.path}: operationId ${spec.operationId} is already ${twin.spec.method} ${twin.spec.path}`,
      );
    this.routes.push({ spec: spec as RouteSpec<unknown, unknown>, pattern: toPattern(spec.path) });
    this.router[spec.method](spec.path, async (req: Request, res: Response) => {
      const auth = await this.authorise(spec, req);
      if (spec.body) requireJson(req);
      rejectUnstorable(req, !spec.repairsBody);
      const ctx: HandlerContext<B, Q> = {
        req,
        res,
        auth,
        params: req.params as Record<string, string>,
        query: checkQuery(query, known, req.query as object),
        body: body ? checkBody(body, req.body) : (req.body as B),
      };
      const recorded = spec.read ? this.recordBeforeAnswer(ctx, spec.read) : undefined;
      const result = await spec.handler(ctx);
      if (result !== undefined && !res.headersSent && !recorded?.answered())
        res.status(spec.status ?? 200).json(result);
      else if (!res.headersSent && !recorded?.answered()) res.status(spec.status ?? 204).end();
      await recorded?.done();
    });
  }

  /**
   * Holds a successful answer (whether the handler returns it or sends a file itself) until the read is
   * recorded, so no report, PDF or contact list leaves unrecorded; if recording fails, the caller gets a 500
   * instead. Answers that are errors (4xx, 5xx) are not reads and pass at once.
   */
  private recordBeforeAnswer<B, Q>(ctx: HandlerContext<B, Q>, read: NonNullable<RouteSpec<B, Q>['read']>) {
    const { res } = ctx;
    const send = res.send.bind(res);
    let recording: Promise<void> | undefined;
    res.send = ((body?: unknown) => {
      if (recording || res.statusCode >= 400) return send(body);
      recording = this.onRead(ctx.auth, ctx.req.id, read(ctx)).then(() => void send(body));
      return res;
    }) as typeof res.send;
    return { answered: () => recording !== undefined, done: () => recording };
  }

  private async authorise(spec: RouteSpec<unknown, unknown> | RouteSpec<never, never>, req: Request) {
    if (spec.roles === 'public' || spec.roles === 'custom') return undefined as unknown as Auth;
    const header = req.header('authorization');
    const token = bearer(header);
    const known = token ? await this.authenticate(token) : undefined;
    if (!known) {
      this.onDenied('unauthenticated', req);
      if (header === undefined) throw new UnauthorizedError();
      throw new UnauthorizedError('the bearer token is unknown, revoked or malformed', 'invalid_token');
    }
    // The request's own source goes with the caller into every audit record it writes. req.ip honours
    // X-Forwarded-For only from TRUSTED_PROXIES (app.ts); the user agent is bounded, as any header may be huge.
    const auth: Auth = {
      ...known,
      ip: req.ip ?? null,
      userAgent: req.get('user-agent')?.slice(0, 512) ?? null,
    };
    req.auth = auth;
    await this.onAuthenticated(auth, req);
    if (!spec.roles.includes(auth.role)) {
      this.onDenied('forbidden', req);
      throw new ForbiddenError(`role ${auth.role} may not ${spec.method.toUpperCase()} ${spec.path}`);
    }
    return auth;
  }

  /** For paths that exist with other methods: 405 with Allow; otherwise falls through to 404. */
  methodNotAllowed() {
    return (req: Request, res: Response, next: NextFunction) => {
      const allowed = this.routes
        .filter((r) => r.pattern.test(req.path))
        .map((r) => r.spec.method.toUpperCase());
      if (allowed.length === 0) return next();
      res.setHeader('Allow', [...new Set(allowed)].join(', '));
      return sendProblem(
        res,
        405,
        `${req.method} is not allowed here; use ${[...new Set(allowed)].join(', ')}`,
      );
    };
  }

  /** OpenAPI 3.1 document built from the same schemas that validate requests (http/openapi.ts). */
  openapi(info: { title: string; version: string }): object {
    return openapiDocument(
      this.routes.map((r) => r.spec),
      info,
    );
  }
}
