import crypto from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from 'pino';
import type { Counter, Histogram } from 'prom-client';
import './types.ts';

const REQUEST_ID = /^[A-Za-z0-9._:-]{8,128}$/;

/** The two series it counts into (metrics/registry.ts makes them; http sits below metrics, which reads its roles). */
export interface RequestMetrics {
  httpRequests: Counter<'method' | 'route' | 'status'>;
  httpDuration: Histogram<'method' | 'route' | 'status'>;
}

/**
 * Gives each request an id (the caller's X-Request-Id when well-formed), logs one line when it ends and
 * counts it. The route label is the matched pattern, never the raw path, so it stays bounded; headers and
 * bodies are never logged, so tokens cannot leak into logs.
 */
export function requestLog(log: Logger, metrics: RequestMetrics) {
  return (req: Request, res: Response, next: NextFunction) => {
    const given = req.header('x-request-id');
    req.id = given && REQUEST_ID.test(given) ? given : crypto.randomUUID();
    res.setHeader('X-Request-Id', req.id);
    const start = process.hrtime.bigint();
    res.on('finish', () => {
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      const route = req.route?.path ? `${req.baseUrl}${req.route.path as string}` : 'unmatched';
      const labels = { method: req.method, route, status: String(res.statusCode) };
      metrics.httpRequests.inc(labels);
      metrics.httpDuration.observe(labels, seconds);
      const level = res.statusCode >= 500 ? 'error' : 'info';
      log[level](
        {
          requestId: req.id,
          method: req.method,
          route,
          status: res.statusCode,
          ms: Math.round(seconds * 1000),
          actor: req.auth ? `${req.auth.role}:${req.auth.tokenId.slice(0, 8)}` : undefined,
        },
        'request',
      );
    });
    next();
  };
}
