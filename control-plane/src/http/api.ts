import type { NextFunction, Request, Response, Router } from 'express';
import type { ValidateFunction } from 'ajv';
import { bearer, type Auth, type Role } from './auth.ts';
import { ForbiddenError, UnauthorizedError, sendProblem } from './errors.ts';
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
  summary: string;
  tag: string;
  /** Roles allowed to call; 'public' skips authentication, 'custom' leaves it to the handler. */
  roles: readonly Role[] | 'public' | 'custom';
  body?: object;
  query?: object;
  /** Status of a successful answer (default 200). */
  status?: number;
  responseSchema?: object;
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

interface Registered {
  spec: RouteSpec<unknown, unknown>;
  pattern: RegExp;
}

function toPattern(path: string): RegExp {
  return new RegExp('^' + path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/:(\w+)/g, '[^/]+') + '/?$');
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
  ) {}

  route<B = unknown, Q = Record<string, string>>(spec: RouteSpec<B, Q>): void {
    const body: ValidateFunction<B> | undefined = spec.body ? compile<B>(spec.body) : undefined;
    const query: ValidateFunction<Q> | undefined = spec.query ? compile<Q>(spec.query) : undefined;
    this.routes.push({ spec: spec as RouteSpec<unknown, unknown>, pattern: toPattern(spec.path) });
    this.router[spec.method](spec.path, async (req: Request, res: Response) => {
      const auth = await this.authorise(spec, req);
      const ctx: HandlerContext<B, Q> = {
        req,
        res,
        auth,
        params: req.params as Record<string, string>,
        query: query ? check(query, { ...(req.query as object) }, 'query string') : (req.query as Q),
        body: body ? check(body, req.body ?? undefined) : (req.body as B),
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
    const token = bearer(req.header('authorization'));
    const known = token ? await this.authenticate(token) : undefined;
    if (!known) {
      this.onDenied('unauthenticated', req);
      throw new UnauthorizedError();
    }
    // The request's own source goes with the caller into every audit record it writes. req.ip honours
    // X-Forwarded-For only from TRUSTED_PROXIES (app.ts); the user agent is bounded, as any header may be huge.
    const auth: Auth = {
      ...known,
      ip: req.ip ?? null,
      userAgent: req.get('user-agent')?.slice(0, 512) ?? null,
    };
    req.auth = auth;
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

  /** OpenAPI 3.1 document built from the same schemas that validate requests. */
  openapi(info: { title: string; version: string }): object {
    const paths: Record<string, Record<string, object>> = {};
    for (const { spec } of this.routes) {
      const p = spec.path.replace(/:(\w+)/g, '{$1}');
      const params = [...spec.path.matchAll(/:(\w+)/g)].map((m) => ({
        name: m[1],
        in: 'path',
        required: true,
        schema: { type: 'string' },
      }));
      const queryParams = Object.entries(
        (spec.query as { properties?: Record<string, object> } | undefined)?.properties ?? {},
      ).map(([name, schema]) => ({ name, in: 'query', required: false, schema }));
      const secured = Array.isArray(spec.roles);
      (paths[p] ??= {})[spec.method] = {
        summary: spec.summary,
        tags: [spec.tag],
        ...(secured ? { security: [{ bearer: [] }], 'x-roles': spec.roles } : {}),
        parameters: [...params, ...queryParams],
        ...(spec.body
          ? { requestBody: { required: true, content: { 'application/json': { schema: spec.body } } } }
          : {}),
        responses: {
          [String(spec.status ?? 200)]: {
            description: 'success',
            ...(spec.responseSchema
              ? { content: { 'application/json': { schema: spec.responseSchema } } }
              : {}),
          },
          ...(spec.body ? { '400': { $ref: '#/components/responses/Problem' } } : {}),
          ...(secured
            ? {
                '401': { $ref: '#/components/responses/Problem' },
                '403': { $ref: '#/components/responses/Problem' },
              }
            : {}),
        },
      };
    }
    return {
      openapi: '3.1.0',
      info,
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
}
