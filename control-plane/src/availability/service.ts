import type { Pool, Tx } from '../db/pool.ts';
import { withTx } from '../db/pool.ts';
import type { AuditService } from '../audit/service.ts';
import type { FleetService } from '../fleet/service.ts';
import type { Auth } from '../http/auth.ts';
import { ValidationError, type FieldError } from '../http/errors.ts';
import { parseRange } from '../http/range.ts';
import * as store from './store.ts';
import type { CorrectionInput, CurrentState, Interval, TransitionInput, TransitionsInput } from './types.ts';

export function intervalView(r: store.DbInterval): Interval {
  return {
    id: r.id,
    instanceId: r.instance_id,
    service: r.service,
    state: r.state,
    start: r.starts_at.toISOString(),
    end: r.ends_at?.toISOString() ?? null,
    source: r.source,
    reason: r.reason,
  };
}

/** The longest from..to of one intervals request, and the most intervals one answer holds. */
export const MAX_RANGE_DAYS = 366;
export const MAX_INTERVALS = 5000;

/**
 * Down and degraded time per instance and service: from the prober's transitions, and from operators'
 * corrections, which win over the prober for the range they cover (overlapping prober time is clipped).
 */
export class AvailabilityService {
  constructor(
    private readonly pool: Pool,
    private readonly audit: AuditService,
    private readonly fleet: FleetService,
    private readonly proberGraceSeconds: number,
  ) {}

  /**
   * Applies a batch in `at` order per instance+service, all or nothing. A transition id seen before is skipped,
   * so a retried request changes nothing. Unknown instances or services reject the whole batch.
   */
  async applyTransitions(input: TransitionsInput): Promise<{ applied: number; duplicates: number }> {
    const unknown = await store.unknownTargets(this.pool, input.transitions);
    if (unknown.length > 0) {
      const errors: FieldError[] = unknown.map((u) =>
        u.instance_known
          ? { field: `/transitions/${u.ord}/service`, message: 'the instance has no such service' }
          : { field: `/transitions/${u.ord}/instanceId`, message: 'no such instance' },
      );
      throw new ValidationError(
        'transitions name unknown instances or services; nothing was applied',
        errors,
      );
    }
    const series = new Map<string, TransitionInput[]>();
    for (const t of input.transitions) {
      const k = `${t.instanceId.toLowerCase()}/${t.service}`;
      series.set(k, [...(series.get(k) ?? []), t]);
    }
    return withTx(this.pool, async (tx) => {
      let applied = 0;
      // Locks are taken in key order so that two concurrent batches cannot deadlock.
      for (const key of [...series.keys()].sort()) {
        const list = series.get(key)!.sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
        applied += await this.applySeries(tx, input.prober, list);
      }
      await store.extendCoverage(tx, input.prober, this.proberGraceSeconds);
      return { applied, duplicates: input.transitions.length - applied };
    });
  }

  private async applySeries(tx: Tx, prober: string, list: TransitionInput[]): Promise<number> {
    const { instanceId, service } = list[0]!;
    await store.lockSeries(tx, instanceId, service);
    let open = await store.findOpen(tx, instanceId, service);
    let applied = 0;
    for (const t of list) {
      if (!(await store.insertTransition(tx, { ...t, prober }))) continue;
      applied++;
      const at = new Date(t.at);
      // A transition older than the open interval arrived late; the later one already says more.
      if (open && at <= open.starts_at) continue;
      if (t.state === 'up' || (open && open.state !== t.state)) {
        if (open) await store.closeInterval(tx, open.id, at);
        open = undefined;
      }
      if (t.state === 'up' || open) continue;
      // Older than recorded history (a late replay): kept in the transition log, but it may not reopen the
      // past, where it would have no matching "up" and stay open for ever.
      const lastEnd = await store.lastClosedEnd(tx, instanceId, service);
      if (lastEnd && lastEnd > at) continue;
      open = await store.insertInterval(tx, {
        instanceId,
        service,
        state: t.state,
        start: at,
        end: null,
        source: 'prober',
        reason: t.reason,
        transitionId: t.id,
      });
    }
    return applied;
  }

  async heartbeat(prober: string): Promise<{ prober: string; graceSeconds: number }> {
    await store.extendCoverage(this.pool, prober, this.proberGraceSeconds);
    return { prober, graceSeconds: this.proberGraceSeconds };
  }

  /** Services currently down or degraded: what the prober resynchronises from after a restart. */
  async currentState(): Promise<CurrentState[]> {
    return (await store.listOpen(this.pool)).map((r) => ({
      instanceId: r.instance_id,
      service: r.service,
      state: r.state,
      since: r.starts_at.toISOString(),
    }));
  }

  /** An operator's correction: replaces whatever was recorded for that range, audited with its reason. */
  async correct(auth: Auth, requestId: string, input: CorrectionInput): Promise<Interval> {
    const instance = await this.fleet.getInstance(auth, input.instance).catch(() => undefined);
    const errors: FieldError[] = [];
    if (!instance) errors.push({ field: '/instance', message: 'no such instance' });
    else if (!instance.services.some((s) => s.name === input.service))
      errors.push({ field: '/service', message: 'the instance has no such service' });
    if (Date.parse(input.end) <= Date.parse(input.start))
      errors.push({ field: '/end', message: 'must be after start' });
    if (Date.parse(input.end) > Date.now() + 60_000)
      errors.push({ field: '/end', message: 'must not be in the future' });
    if (errors.length > 0) throw new ValidationError('correction is invalid', errors);
    return withTx(this.pool, async (tx) => {
      await store.lockSeries(tx, instance!.id, input.service);
      const replaced = await store.carveOut(tx, instance!.id, input.service, input.start, input.end);
      const row = await store.insertInterval(tx, {
        instanceId: instance!.id,
        service: input.service,
        state: input.state,
        start: input.start,
        end: input.end,
        source: 'operator',
        reason: input.reason,
        transitionId: null,
      });
      const after = intervalView(row);
      await this.audit.record(tx, auth, requestId, {
        action: 'availability.correct',
        targetType: 'instance',
        targetId: instance!.id,
        before: { replaced: replaced.map(intervalView) },
        after: { ...after, reason: input.reason },
      });
      return after;
    });
  }

  /** Intervals of one instance overlapping [from, to); client tokens only their own (404 otherwise). */
  async listForInstance(auth: Auth, idOrSlug: string, q: { from?: string; to?: string }) {
    const instance = await this.fleet.getInstance(auth, idOrSlug);
    const { from, to } = parseRange(q, { maxDays: MAX_RANGE_DAYS, defaultDays: 30, anchor: 'to' });
    // One row more than the cap tells whether there were more: the answer says so rather than growing.
    const rows = await store.listIntervals(
      this.pool,
      instance.id,
      from.toISOString(),
      to.toISOString(),
      MAX_INTERVALS + 1,
    );
    return {
      instanceId: instance.id,
      from: from.toISOString(),
      to: to.toISOString(),
      intervals: rows.slice(0, MAX_INTERVALS).map(intervalView),
      /** true: more than MAX_INTERVALS intervals overlap from..to; ask again from the last one's start */
      truncated: rows.length > MAX_INTERVALS,
    };
  }
}
