import { Counter, Histogram, Registry } from 'prom-client';
import { collectProcessMetrics } from '../../../exporters/shared/metrics.ts';

const HTTP_LABELS = ['method', 'route', 'status'] as const;
const DENIED_LABELS = ['reason'] as const;

/** The control plane's own Registry and the HTTP-level metrics every request updates. */
export function createMetrics() {
  const registry = new Registry();
  collectProcessMetrics(registry);
  return {
    registry,
    httpRequests: new Counter({
      name: 'concierge_ops_http_requests_total',
      help: 'HTTP requests answered, by route pattern and status code.',
      labelNames: HTTP_LABELS,
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: 'concierge_ops_http_request_duration_seconds',
      help: 'Time to answer an HTTP request, by route pattern.',
      labelNames: HTTP_LABELS,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    authDenied: new Counter({
      name: 'concierge_ops_auth_denied_total',
      help: 'Requests refused: reason unauthenticated (no or bad token) or forbidden (role may not act).',
      labelNames: DENIED_LABELS,
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
