import { Counter, Histogram, type Registry } from 'prom-client';

// client and instance are slugs from the app key's row; page is bounded by labels.ts; nothing else.
const PAGE_LABELS = ['client', 'instance', 'page'] as const;
const ERROR_LABELS = ['client', 'instance', 'page', 'type'] as const;
const INSTANCE_LABELS = ['client', 'instance'] as const;

/**
 * Web vitals as Google rates them (web.dev/articles/vitals): each histogram has a bucket edge exactly at the
 * "good" and "poor" thresholds, so the share of good page loads is a ratio of two buckets, not an estimate.
 */
export const VITALS = {
  lcp: {
    name: 'concierge_ops_web_vitals_lcp_seconds',
    help: 'Largest Contentful Paint of patient-facing pages (good <= 2.5 s, poor > 4 s).',
    buckets: [0.5, 1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10, 15, 20],
    scale: 1 / 1000,
  },
  fcp: {
    name: 'concierge_ops_web_vitals_fcp_seconds',
    help: 'First Contentful Paint of patient-facing pages (good <= 1.8 s, poor > 3 s).',
    buckets: [0.25, 0.5, 0.75, 1, 1.25, 1.5, 1.8, 2.4, 3, 4, 5, 7.5, 10],
    scale: 1 / 1000,
  },
  ttfb: {
    name: 'concierge_ops_web_vitals_ttfb_seconds',
    help: 'Time To First Byte of patient-facing pages (good <= 0.8 s, poor > 1.8 s).',
    buckets: [0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1, 1.4, 1.8, 2.5, 4, 6, 10],
    scale: 1 / 1000,
  },
  inp: {
    name: 'concierge_ops_web_vitals_inp_seconds',
    help: 'Interaction to Next Paint of patient-facing pages (good <= 200 ms, poor > 500 ms).',
    buckets: [0.025, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2, 5],
    scale: 1 / 1000,
  },
  cls: {
    name: 'concierge_ops_web_vitals_cls',
    help: 'Cumulative Layout Shift of patient-facing pages, unitless (good <= 0.1, poor > 0.25).',
    buckets: [0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.35, 0.5, 0.75, 1, 2],
    scale: 1,
  },
} as const;
export type Vital = keyof typeof VITALS;

/**
 * The Faro intake's metrics, registered on the control plane's registry. Refusals need no counter of their own:
 * concierge_ops_http_requests_total{route="/api/v1/faro/collect/:appKey"} counts them by status (401 unknown
 * key, 403 origin, 413 size, 415 media type, 429 rate limit, 400 schema), and they name no client.
 */
export function createFaroMetrics(registry: Registry) {
  const vitals = Object.fromEntries(
    Object.entries(VITALS).map(([key, v]) => [
      key,
      new Histogram({
        name: v.name,
        help: v.help,
        labelNames: PAGE_LABELS,
        buckets: [...v.buckets],
        registers: [registry],
      }),
    ]),
  ) as Record<Vital, Histogram<(typeof PAGE_LABELS)[number]>>;
  return {
    vitals,
    errors: new Counter({
      name: 'concierge_ops_web_errors_total',
      help: 'JavaScript errors reported by patient-facing pages, by page and error type (built-in names or other).',
      labelNames: ERROR_LABELS,
      registers: [registry],
    }),
    sessions: new Counter({
      name: 'concierge_ops_web_sessions_total',
      help: 'Browser sessions started on patient-facing pages (Faro session_start events).',
      labelNames: INSTANCE_LABELS,
      registers: [registry],
    }),
    payloads: new Counter({
      name: 'concierge_ops_faro_payloads_total',
      help: 'Faro payloads accepted from patient-facing pages.',
      labelNames: INSTANCE_LABELS,
      registers: [registry],
    }),
  };
}

export type FaroMetrics = ReturnType<typeof createFaroMetrics>;
