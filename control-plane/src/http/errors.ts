import type { ErrorRequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import { isDatabaseUnavailable } from '../db/pool.ts';
import { errorMessage } from '@concierge-ops/shared/errors';

export interface FieldError {
  /** JSON pointer of the bad field, e.g. `/services/0/probe/url`; `` for the whole body. */
  field: string;
  message: string;
}

export class AppError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly httpStatus: number,
    options?: { cause?: unknown; errors?: FieldError[] },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.errors = options?.errors;
  }
  readonly errors: FieldError[] | undefined;
}

export class ValidationError extends AppError {
  constructor(message: string, errors: FieldError[]) {
    super('validation', message, 400, { errors });
  }
}
export class NotFoundError extends AppError {
  constructor(what: string) {
    super('not_found', `${what} not found`, 404);
  }
}
export class ConflictError extends AppError {
  constructor(message: string, cause?: unknown) {
    super('conflict', message, 409, { cause });
  }
}
export class UnauthorizedError extends AppError {
  /**
   * The `WWW-Authenticate` challenge (RFC 6750): a client that sent no token learns the scheme; one whose token
   * was refused learns it was the token (`invalid_token`), so it stops retrying with it.
   */
  readonly challenge: string;
  constructor(message = 'a valid bearer token is required', error?: 'invalid_token') {
    super('unauthorized', message, 401);
    this.challenge = `Bearer realm="concierge-ops"${error ? `, error="${error}"` : ''}`;
  }
}
export class ForbiddenError extends AppError {
  constructor(message = 'this token may not do that') {
    super('forbidden', message, 403);
  }
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** Data exceptions PostgreSQL raises for a value it refuses, in words that name no internals. */
const REFUSED: Record<string, string> = {
  '22001': 'a text is too long to be stored',
  '22003': 'a number is out of range',
  '22007': 'a date or time is not in a form that can be stored',
  '22008': 'a date or time is out of range',
  '22021': 'a text holds a character that cannot be stored (NUL)',
  '22P02': 'a value is not of the expected type',
  '22P05': 'a text holds a character that cannot be stored (a lone surrogate)',
};

/** PostgreSQL SQLSTATEs that are the caller's fault, mapped once here. */
export function fromPg(err: { code?: string; constraint?: string; detail?: string }): AppError | undefined {
  switch (err.code) {
    case '23505':
      return new ConflictError(`already exists (${err.constraint ?? 'unique constraint'})`, err);
    case '23P01':
      return new ConflictError(
        `overlaps an existing entry (${err.constraint ?? 'exclusion constraint'})`,
        err,
      );
    case '23503':
      return new ConflictError(`refers to something that does not exist or is still in use`, err);
    // A safety net behind validation at the edge: a value PostgreSQL refuses is the caller's, never a 500.
    case '23514':
      return new AppError('validation', 'a value is outside what may be stored', 400, {
        cause: err,
        errors: [{ field: '', message: `violates ${err.constraint ?? 'a check constraint'}` }],
      });
    default: {
      const why = err.code ? REFUSED[err.code] : undefined;
      return why
        ? new AppError('validation', 'a value cannot be stored', 400, {
            cause: err,
            errors: [{ field: '', message: why }],
          })
        : undefined;
    }
  }
}

export function sendProblem(
  res: Response,
  status: number,
  detail: string,
  extra: Record<string, unknown> = {},
) {
  res
    .status(status)
    .type('application/problem+json')
    .json({
      type: 'about:blank',
      title: TITLES[status] ?? 'Error',
      status,
      detail,
      ...extra,
    });
}

/** Turns any thrown error into application/problem+json; unknown errors become a 500 with no internals. */
export function errorHandler(log: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    // Something was already answered: a deadline's 503, or a streamed answer (an audit export) that failed
    // midway. No problem+json can follow, so the connection is cut; an export's reader then holds a file
    // without its end (its integrity block comes last).
    if (res.headersSent) {
      log.warn({ err: (err as Error).message, requestId: req.id }, 'error after the answer was sent');
      if (!res.writableEnded) res.destroy();
      return;
    }
    const bodyErr = err as { type?: string; status?: number };
    if (bodyErr.type === 'entity.too.large') return sendProblem(res, 413, 'request body is too large');
    if (bodyErr.type === 'entity.parse.failed')
      return sendProblem(res, 400, 'request body is not valid JSON');
    if (bodyErr.type === 'encoding.unsupported' || bodyErr.type === 'charset.unsupported')
      return sendProblem(res, 415, 'unsupported body encoding');
    const appErr = err instanceof AppError ? err : fromPg(err as object);
    // Mapped from the database, a 400 means validation at the edge missed something: worth a look.
    if (appErr && !(err instanceof AppError) && appErr.httpStatus === 400)
      log.warn({ err, requestId: req.id }, 'database refused a value that passed validation');
    if (appErr) {
      if (appErr instanceof UnauthorizedError) res.setHeader('WWW-Authenticate', appErr.challenge);
      return sendProblem(res, appErr.httpStatus, appErr.message, {
        code: appErr.code,
        ...(appErr.errors ? { errors: appErr.errors } : {}),
      });
    }
    if (isDatabaseUnavailable(err)) {
      log.warn({ err: errorMessage(err), requestId: req.id }, 'database unavailable');
      res.setHeader('Retry-After', '5');
      return sendProblem(res, 503, 'the database is not reachable; try again shortly', {
        code: 'database_unavailable',
      });
    }
    if (typeof bodyErr.status === 'number' && bodyErr.status >= 400 && bodyErr.status < 500) {
      return sendProblem(res, bodyErr.status, 'bad request');
    }
    log.error({ err, requestId: req.id }, 'unhandled error');
    return sendProblem(res, 500, 'internal error; see the server log for request ' + req.id);
  };
}
