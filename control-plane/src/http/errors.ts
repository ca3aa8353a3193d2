import type { ErrorRequestHandler, Response } from 'express';
import type { Logger } from 'pino';

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
  constructor(message = 'a valid bearer token is required') {
    super('unauthorized', message, 401);
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

/** PostgreSQL SQLSTATEs that are the caller's fault, mapped once here. */
function fromPg(err: { code?: string; constraint?: string; detail?: string }): AppError | undefined {
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
    default:
      return undefined;
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
    // A streamed answer (an audit export) failed midway: no problem+json can follow, so the stream is cut and
    // the reader holds a file without its end (an export's integrity block comes last).
    if (res.headersSent) {
      log.warn({ err: (err as Error).message, requestId: req.id }, 'streamed answer cut off');
      res.destroy();
      return;
    }
    const bodyErr = err as { type?: string; status?: number };
    if (bodyErr.type === 'entity.too.large') return sendProblem(res, 413, 'request body is too large');
    if (bodyErr.type === 'entity.parse.failed')
      return sendProblem(res, 400, 'request body is not valid JSON');
    if (bodyErr.type === 'encoding.unsupported' || bodyErr.type === 'charset.unsupported')
      return sendProblem(res, 415, 'unsupported body encoding');
    const appErr = err instanceof AppError ? err : fromPg(err as object);
    if (appErr) {
      return sendProblem(res, appErr.httpStatus, appErr.message, {
        code: appErr.code,
        ...(appErr.errors ? { errors: appErr.errors } : {}),
      });
    }
    if (typeof bodyErr.status === 'number' && bodyErr.status >= 400 && bodyErr.status < 500) {
      return sendProblem(res, bodyErr.status, 'bad request');
    }
    log.error({ err, requestId: req.id }, 'unhandled error');
    return sendProblem(res, 500, 'internal error; see the server log for request ' + req.id);
  };
}
