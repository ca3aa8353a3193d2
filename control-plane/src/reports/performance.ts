/**
 * Concierge performance over a report's month from Prometheus's HTTP API: request latency p50/p95 and the
 * error rate of the client's concierge runtime, from exporters/concierge-telemetry's instruments: response
 * latency is concierge_ai_turn_duration_seconds (message in to reply ready), the error rate is
 * concierge_requests_total{outcome="error"} over all requests. Without PROMETHEUS_URL, or when
 * Prometheus has no such series, the report says "not available" rather than inventing a figure.
 */
import type { Performance } from './types.ts';
import { errorMessage } from '@concierge-ops/shared/errors';
import { instantVector } from '../prom-query.ts';

export interface PerformanceSource {
  forClient(slug: string, from: Date, to: Date): Promise<Performance>;
}

const LATENCY = 'concierge_ai_turn_duration_seconds';
const REQUESTS = 'concierge_requests_total';

export class PrometheusPerformance implements PerformanceSource {
  constructor(
    private readonly baseUrl: string | undefined,
    private readonly timeoutMs = 10_000,
  ) {}

  private async scalar(query: string, at: Date): Promise<number | null> {
    const v = (await instantVector(this.baseUrl!, query, at, this.timeoutMs))[0]?.value;
    return v !== undefined && Number.isFinite(v) ? v : null;
  }

  async forClient(slug: string, from: Date, to: Date): Promise<Performance> {
    if (!this.baseUrl) return { available: false, reason: 'PROMETHEUS_URL is not configured' };
    // Slugs are [a-z0-9-]: safe inside a PromQL string literal.
    const sel = `{client="${slug}"}`;
    const range = `${Math.max(60, Math.round((to.getTime() - from.getTime()) / 1000))}s`;
    const q = (p: number) =>
      `histogram_quantile(${p}, sum by (le) (increase(${LATENCY}_bucket${sel}[${range}])))`;
    try {
      const [p50, p95, total, errors] = await Promise.all([
        this.scalar(q(0.5), to),
        this.scalar(q(0.95), to),
        this.scalar(`sum(increase(${REQUESTS}${sel}[${range}]))`, to),
        this.scalar(`sum(increase(${REQUESTS}{client="${slug}",outcome="error"}[${range}]))`, to),
      ]);
      if (total === null || total === 0)
        return { available: false, reason: 'Prometheus holds no request data for this month' };
      return {
        available: true,
        source: 'prometheus',
        p50Seconds: p50,
        p95Seconds: p95,
        errorRate: (errors ?? 0) / total,
        requests: Math.round(total),
      };
    } catch (err) {
      return { available: false, reason: `Prometheus could not be queried (${errorMessage(err)})` };
    }
  }
}
