/**
 * A deadline per request: one that has not answered within the time allowed gets a 503 problem+json and its
 * connection closed, instead of holding the caller (and a socket) for as long as the work takes. The work
 * itself is bounded elsewhere (ranges, limits); this is the backstop for what waits, such as a slow query.
 */
import type http from 'node:http';
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from 'pino';
import { sendProblem } from './errors.ts';

export function deadline(timeoutMs: number, log: Logger) {
  return (req: Request, res: Response, next: NextFunction) => {
    const timer = setTimeout(() => {
      if (res.headersSent) return;
      log.warn({ requestId: req.id, method: req.method, path: req.path, timeoutMs }, 'request timed out');
      // The handler may still finish: its answer is dropped (see errorHandler and Api.route's headersSent).
      res.setHeader('Connection', 'close');
      res.setHeader('Retry-After', '5');
      sendProblem(
        res,
        503,
        `the request did not complete within ${timeoutMs / 1000} s; retry later or ask for less`,
      );
    }, timeoutMs);
    // Unref'd: a pending deadline must not keep a stopping process alive.
    timer.unref();
    const clear = () => clearTimeout(timer);
    res.once('finish', clear);
    res.once('close', clear);
    next();
  };
}

/**
 * Node's own limits on receiving a request: its headers within headersTimeout and all of it within
 * requestTimeout, so a client that sends slowly cannot hold a socket open forever.
 */
export function applyServerTimeouts(server: http.Server, timeoutMs: number): void {
  server.requestTimeout = timeoutMs;
  server.headersTimeout = Math.min(server.headersTimeout, timeoutMs);
}
