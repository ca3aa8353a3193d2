import { DateTime } from 'luxon';
import type { CreditTier } from '../config.ts';
import type { Pool } from '../db/pool.ts';
import type { FleetService } from '../fleet/service.ts';
import type { Client, Instance } from '../fleet/types.ts';
import type { Auth } from '../http/auth.ts';
import { ValidationError } from '../http/errors.ts';
import { checkSpan, parseTime } from '../http/range.ts';
import type { MaintenanceService } from '../maintenance/service.ts';
import { decisionView, type CreditDecision } from './decisions.ts';
import * as store from './store.ts';

export const DEFAULT_SLA_SERVICES = ['backend', 'proxy'];

export interface SlaQuery {
  month?: string;
  from?: string;
  to?: string;
}

export interface SlaFigures {
  from: string;
  to: string;
  periodSeconds: number;
  downtimeSeconds: number;
  maintenanceSeconds: number;
  unknownSeconds: number;
  degradedSeconds: number;
  measuredSeconds: number;
  /** measured / (period - maintenance): how much of the time that counts was watched; null without such time */
  measuredShare: number | null;
  /** true below the deployment's minimum measured share: no result (met) and no automatic credit */
  insufficientData: boolean;
  uptime: number | null;
  noData: boolean;
  target: number;
  met: boolean | null;
  errorBudgetSeconds: number;
  errorBudgetUsedSeconds: number;
  errorBudgetRemainingSeconds: number;
  /** percent of the monthly fee credited, per the deployment's tiers; null without data */
  credit: number | null;
}

/** The longest from..to one SLA request may cover: a year, leap day included. */
export const MAX_SLA_DAYS = 366;

const bad = (field: string, message: string) =>
  new ValidationError('query string is invalid', [{ field, message }]);

/**
 * The period asked for, in the client's time zone: `month=YYYY-MM`, or `from`/`to` (at most MAX_SLA_DAYS), or
 * by default the current calendar month. The end is clipped to now: time not yet lived is neither up nor unknown.
 */
export function period(q: SlaQuery, zone: string, now = new Date()): { from: Date; to: Date } {
  let from: Date;
  let to: Date;
  if (q.month !== undefined) {
    if (q.from !== undefined || q.to !== undefined) throw bad('/month', 'give month or from/to, not both');
    const start = DateTime.fromFormat(q.month, 'yyyy-MM', { zone });
    // PostgreSQL has no year 0: month 0000-01 would reach it as a date it cannot store.
    if (!start.isValid || start.year < 1) throw bad('/month', 'must be YYYY-MM from 0001-01');
    [from, to] = [start.toJSDate(), start.plus({ months: 1 }).toJSDate()];
  } else if (q.from !== undefined || q.to !== undefined) {
    if (q.from === undefined) throw bad('/from', 'is required with to');
    from = parseTime(q.from, '/from');
    to = q.to === undefined ? now : parseTime(q.to, '/to');
    if (to <= from) throw bad('/to', 'must be after from');
    checkSpan(from, to, MAX_SLA_DAYS, q.to === undefined ? '/from' : '/to');
  } else {
    const start = DateTime.fromJSDate(now, { zone }).startOf('month');
    [from, to] = [start.toJSDate(), start.plus({ months: 1 }).toJSDate()];
  }
  if (to > now) to = now < from ? from : now;
  return { from, to };
}

/** The credit due: the highest tier whose threshold the uptime fell below (0 when none). */
export function creditFor(
  uptime: number | null,
  target: number,
  tiers: readonly CreditTier[],
): number | null {
  if (uptime === null) return null;
  for (const t of tiers) if (uptime < (t.below === 'target' ? target : t.below)) return t.percent;
  return 0;
}

/** Monthly uptime per instance and client, maintenance and unknown time excluded, exact to the second. */
export class SlaService {
  constructor(
    private readonly pool: Pool,
    private readonly fleet: FleetService,
    private readonly maintenance: MaintenanceService,
    private readonly tiers: readonly CreditTier[],
    private readonly minMeasuredShare = 0.9,
  ) {}

  /** A client's figures: its instances' seconds summed (instance-seconds), the uptime weighted by measured time. */
  combined(list: SlaFigures[], from: Date, to: Date, target: number): SlaFigures {
    const sum = (k: keyof SlaFigures) => list.reduce((a, x) => a + (x[k] as number), 0);
    return this.figures(
      {
        instance_id: '',
        period_s: sum('periodSeconds'),
        maint_s: sum('maintenanceSeconds'),
        unknown_s: sum('unknownSeconds'),
        down_s: sum('downtimeSeconds'),
        degraded_s: sum('degradedSeconds'),
        measurable_s: sum('measuredSeconds'),
      },
      from,
      to,
      target,
    );
  }

  figures(row: store.DbSlaRow | undefined, from: Date, to: Date, target: number): SlaFigures {
    const r = row ?? { period_s: 0, maint_s: 0, unknown_s: 0, down_s: 0, degraded_s: 0, measurable_s: 0 };
    const noData = r.measurable_s <= 0;
    const uptime = noData ? null : 1 - r.down_s / r.measurable_s;
    const countable = r.period_s - r.maint_s;
    const measuredShare = countable > 0 ? Math.min(1, r.measurable_s / countable) : null;
    // A month mostly unwatched says little: its uptime is shown, but neither a verdict nor a credit follows.
    const insufficientData = noData || measuredShare === null || measuredShare < this.minMeasuredShare;
    // Rounded to the millisecond: (1 - 0.999) is not exact in binary floating point.
    const budget = Math.round((1 - target) * r.measurable_s * 1000) / 1000;
    return {
      from: from.toISOString(),
      to: to.toISOString(),
      periodSeconds: r.period_s,
      downtimeSeconds: r.down_s,
      maintenanceSeconds: r.maint_s,
      unknownSeconds: r.unknown_s,
      degradedSeconds: r.degraded_s,
      measuredSeconds: r.measurable_s,
      measuredShare,
      insufficientData,
      uptime,
      noData,
      target,
      met: uptime === null || insufficientData ? null : uptime >= target,
      errorBudgetSeconds: budget,
      errorBudgetUsedSeconds: r.down_s,
      errorBudgetRemainingSeconds: Math.round((budget - r.down_s) * 1000) / 1000,
      credit: insufficientData ? null : creditFor(uptime, target, this.tiers),
    };
  }

  /**
   * Figures of the given clients' instances over each client's period, in one query. Client-wide
   * maintenance windows apply to each of the client's instances.
   */
  async computeFor(
    clients: Client[],
    instances: Instance[],
    periodOf: (c: Client) => { from: Date; to: Date },
  ): Promise<Map<string, SlaFigures>> {
    const byId = new Map(clients.map((c) => [c.id, { client: c, ...periodOf(c) }]));
    const mine = instances.filter((i) => byId.has(i.client.id));
    if (mine.length === 0) return new Map();
    const lo = new Date(Math.min(...[...byId.values()].map((p) => p.from.getTime())));
    const hi = new Date(Math.max(...[...byId.values()].map((p) => p.to.getTime())));
    const windows = lo < hi ? await this.maintenance.ranges([...byId.keys()], lo, hi) : [];
    const maintenance = mine.flatMap((i) =>
      windows
        .filter((w) => w.clientId === i.client.id && (w.instanceId === null || w.instanceId === i.id))
        .map((w) => ({ instanceId: i.id, from: w.start, to: w.end })),
    );
    const requests = mine.map((i) => {
      const p = byId.get(i.client.id)!;
      return {
        instanceId: i.id,
        from: p.from,
        to: p.to,
        services: p.client.slaServices ?? DEFAULT_SLA_SERVICES,
      };
    });
    const rows = new Map(
      (await store.compute(this.pool, requests, maintenance)).map((r) => [r.instance_id, r]),
    );
    return new Map(
      mine.map((i) => {
        const p = byId.get(i.client.id)!;
        return [i.id, this.figures(rows.get(i.id), p.from, p.to, p.client.slaTarget)];
      }),
    );
  }

  /**
   * One client's downtime episodes (the time `computeFor` counts as down, as start/end stretches with the
   * services down in each) and measured/down seconds per instance per day range of `days`.
   */
  async detail(
    client: Client,
    instances: Instance[],
    p: { from: Date; to: Date },
    days: { from: Date; to: Date }[],
  ) {
    const mine = instances.filter((i) => i.client.id === client.id);
    const windows = p.from < p.to ? await this.maintenance.ranges([client.id], p.from, p.to) : [];
    const maintenance = mine.flatMap((i) =>
      windows
        .filter((w) => w.instanceId === null || w.instanceId === i.id)
        .map((w) => ({ instanceId: i.id, from: w.start, to: w.end })),
    );
    const services = client.slaServices ?? DEFAULT_SLA_SERVICES;
    const requests = mine.map((i) => ({ instanceId: i.id, from: p.from, to: p.to, services }));
    return store.detail(this.pool, requests, maintenance, days);
  }

  async forInstance(auth: Auth, idOrSlug: string, q: SlaQuery) {
    const instance = await this.fleet.getInstance(auth, idOrSlug);
    const client = await this.fleet.getClient(auth, instance.client.id);
    const p = period(q, client.timeZone);
    const figures = (await this.computeFor([client], [instance], () => p)).get(instance.id)!;
    return {
      instance: { id: instance.id, slug: instance.slug },
      client: { id: client.id, slug: client.slug },
      ...figures,
    };
  }

  /** The operator's credit decision of a client's month, if one was made. */
  async creditDecision(clientId: string, month: string): Promise<CreditDecision | null> {
    const d = await store.creditDecision(this.pool, clientId, month);
    return d ? decisionView(d) : null;
  }

  /** A client's SLA: each instance's, and their mean weighted by measured time. */
  async forClient(auth: Auth, idOrSlug: string, q: SlaQuery) {
    const client = await this.fleet.getClient(auth, idOrSlug);
    const p = period(q, client.timeZone);
    // Instances retired before the period have nothing to say about it.
    const instances = (await this.fleet.listInstances(auth, { client: client.id, status: 'all' })).filter(
      (i) => i.decommissionedAt === null || new Date(i.decommissionedAt) > p.from,
    );
    const per = await this.computeFor([client], instances, () => p);
    const list = instances.map((i) => ({ instance: { id: i.id, slug: i.slug }, ...per.get(i.id)! }));
    const total = this.combined(list, p.from, p.to, client.slaTarget);
    // Without enough measured time no credit follows automatically; an operator's decision for the month does.
    const decision = q.month === undefined ? null : await this.creditDecision(client.id, q.month);
    return {
      client: { id: client.id, slug: client.slug },
      timeZone: client.timeZone,
      ...total,
      credit: total.insufficientData && decision ? decision.creditPercent : total.credit,
      creditDecision: total.insufficientData ? decision : null,
      instances: list,
    };
  }
}
