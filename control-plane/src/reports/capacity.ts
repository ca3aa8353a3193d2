/**
 * The capacity of a client's instances over a report's month, from the recording rules of
 * prometheus/rules/capacity.yml: each resource's peak usage in the month and its days until full at the
 * 7-day trend as the period ends; each database's peak size and growth per day. Without PROMETHEUS_URL, when
 * Prometheus does not answer in time, or holds no such series, the report says the data is unavailable and
 * why: the report itself never fails for it.
 */
import { errorMessage } from '@concierge-ops/shared/errors';
import { instantVector, type Sample } from '../prom-query.ts';
import type { Capacity, CapacityDatabase, CapacityResource } from './types.ts';

export interface CapacitySource {
  /** `instances`: the slugs of the client's instances in the report (its own; nobody else's are asked for). */
  forClient(slug: string, instances: string[], from: Date, to: Date): Promise<Capacity>;
}

const USED = 'instance:capacity_used:ratio';
const DAYS = 'instance:capacity_days_until_full:days';
const DB_SIZE = 'instance:capacity_database_size:bytes';
const DB_GROWTH = 'instance:capacity_database_growth:bytes_per_day';
const SLUG = /^[a-z0-9][a-z0-9-]*$/;
const RESOURCES = ['cpu', 'memory', 'filesystem', 'postgres_connections'] as const;

const finite = (v: number | undefined) => (v !== undefined && Number.isFinite(v) ? v : null);
/** One key per series of a resource: instance, resource and mount point (or database). */
const key = (m: Record<string, string>, sub: string) =>
  `${m.instance}\u0000${m.resource ?? ''}\u0000${m[sub] ?? ''}`;

export class PrometheusCapacity implements CapacitySource {
  constructor(
    private readonly baseUrl: string | undefined,
    private readonly timeoutMs = 10_000,
  ) {}

  async forClient(slug: string, instances: string[], from: Date, to: Date): Promise<Capacity> {
    if (!this.baseUrl) return { available: false, reason: 'PROMETHEUS_URL is not configured' };
    if (instances.length === 0) return { available: false, reason: 'the client has no instances' };
    // Slugs are [a-z0-9-] (the fleet's schema; checked again here, as they go into PromQL): safe inside a
    // string literal and a regular expression. Both the client and its own instance slugs are matched, so
    // another client's series cannot enter the report.
    if (![slug, ...instances].every((s) => SLUG.test(s)))
      return {
        available: false,
        reason: 'a client or instance slug is not one Prometheus can be asked about',
      };
    const sel = `client="${slug}", instance=~"${instances.join('|')}"`;
    const range = `${Math.max(60, Math.round((to.getTime() - from.getTime()) / 1000))}s`;
    const q = (expr: string) => instantVector(this.baseUrl!, expr, to, this.timeoutMs);
    let peak: Sample[], days: Sample[], size: Sample[], growth: Sample[];
    try {
      [peak, days, size, growth] = await Promise.all([
        q(`max_over_time(${USED}{${sel}}[${range}])`),
        q(`${DAYS}{${sel}}`),
        q(`max_over_time(${DB_SIZE}{${sel}}[${range}])`),
        q(`${DB_GROWTH}{${sel}}`),
      ]);
    } catch (err) {
      return { available: false, reason: `Prometheus could not be queried (${errorMessage(err)})` };
    }
    if (peak.length === 0 && size.length === 0)
      return { available: false, reason: 'Prometheus holds no capacity data for these instances this month' };

    const daysOf = new Map(days.map((s) => [key(s.metric, 'mountpoint'), finite(s.value)]));
    const resources: CapacityResource[] = peak
      .filter((s) => (RESOURCES as readonly string[]).includes(s.metric.resource ?? ''))
      .map((s) => ({
        instance: s.metric.instance!,
        resource: s.metric.resource as CapacityResource['resource'],
        mountpoint: s.metric.mountpoint ?? null,
        peakUsedRatio: finite(s.value),
        daysUntilFull: daysOf.get(key(s.metric, 'mountpoint')) ?? null,
      }))
      .sort(
        (a, b) =>
          a.instance.localeCompare(b.instance) ||
          RESOURCES.indexOf(a.resource) - RESOURCES.indexOf(b.resource) ||
          (a.mountpoint ?? '').localeCompare(b.mountpoint ?? ''),
      );
    const growthOf = new Map(growth.map((s) => [key(s.metric, 'datname'), finite(s.value)]));
    const databases: CapacityDatabase[] = size
      .map((s) => ({
        instance: s.metric.instance!,
        database: s.metric.datname ?? '',
        peakBytes: finite(s.value),
        growthBytesPerDay: growthOf.get(key(s.metric, 'datname')) ?? null,
      }))
      .sort((a, b) => a.instance.localeCompare(b.instance) || a.database.localeCompare(b.database));
    return { available: true, source: 'prometheus', resources, databases };
  }
}
