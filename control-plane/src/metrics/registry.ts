import { Counter, Histogram, Registry } from 'prom-client';
import { ROLES } from '../http/auth.ts';
import { collectProcessMetrics } from '@concierge-ops/shared/metrics';

const HTTP_LABELS = ['method', 'route', 'status'] as const;
const DENIED_LABELS = ['reason'] as const;
/** Which kind of key a burst of denied requests shared: one source address, or one token. */
const BURST_LABELS = ['by'] as const;
const ROLE_LABELS = ['role'] as const;

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
    deniedBursts: zeroed(
      new Counter({
        name: 'concierge_ops_auth_denied_bursts_total',
        help:
          'Bursts of denied requests (SECURITY_DENIED_BURST within SECURITY_DENIED_WINDOW_SECONDS) from one source ' +
          'address (by="source") or with one token (by="token"); each is a security.denied_burst audit record.',
        labelNames: BURST_LABELS,
        registers: [registry],
      }),
      BURST_LABELS[0],
      ['source', 'token'],
    ),
    newSources: zeroed(
      new Counter({
        name: 'concierge_ops_token_new_source_total',
        help: 'Tokens used from a source address they had never been used from, by role; each is a token.new_source audit record.',
        labelNames: ROLE_LABELS,
        registers: [registry],
      }),
      ROLE_LABELS[0],
      ROLES,
    ),
  };
}

/**
 * Every series of a counter exported from 0 on, so the first event is an increase Prometheus can see (a
 * series born at 1 has no increase).
 */
function zeroed<L extends string>(c: Counter<L>, label: L, values: readonly string[]): Counter<L> {
  for (const v of values) c.inc({ [label]: v } as Partial<Record<L, string>>, 0);
  return c;
}

export type Metrics = ReturnType<typeof createMetrics>;
