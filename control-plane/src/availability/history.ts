import type { AuditService } from '../audit/service.ts';
import type { Pool } from '../db/pool.ts';
import { withTx } from '../db/pool.ts';
import type { FleetService } from '../fleet/service.ts';
import type { Auth } from '../http/auth.ts';
import { ValidationError, type FieldError } from '../http/errors.ts';
import * as store from './history-store.ts';
import { lockSeries } from './store.ts';
import type { HistoryInput, HistoryResult } from './types.ts';

/** The most problems one refused request lists: enough to fix a file, bounded whatever the input. */
const MAX_ERRORS = 20;

/** Merged, sorted [start, end) stretches in milliseconds. */
function merge(list: { start: number; end: number }[]): { start: number; end: number }[] {
  const out: { start: number; end: number }[] = [];
  for (const s of [...list].sort((a, b) => a.start - b.start)) {
    const last = out[out.length - 1];
    if (last && s.start <= last.end) last.end = Math.max(last.end, s.end);
    else out.push({ ...s });
  }
  return out;
}

/**
 * History brought along from an earlier monitoring system: the periods it watched an instance count as measured
 * in the SLA, and what it saw down or degraded as downtime, where nothing newer says otherwise (the prober's,
 * alerts' and operators' records win). Importing the same history again adds nothing and records nothing.
 */
export class HistoryImport {
  constructor(
    private readonly pool: Pool,
    private readonly audit: AuditService,
    private readonly fleet: FleetService,
  ) {}

  async import(auth: Auth, requestId: string, input: HistoryInput): Promise<HistoryResult> {
    const instance = await this.fleet.getInstance(auth, input.instance).catch(() => undefined);
    if (!instance)
      throw new ValidationError('history is invalid', [{ field: '/instance', message: 'no such instance' }]);
    const errors: FieldError[] = [];
    const since = Date.parse(instance.monitoredSince);
    const now = Date.now() + 60_000;
    const range = (path: string, r: { start: string; end: string }) => {
      const [start, end] = [Date.parse(r.start), Date.parse(r.end)];
      if (Number.isNaN(start)) errors.push({ field: `${path}/start`, message: 'is not a date-time' });
      else if (Number.isNaN(end)) errors.push({ field: `${path}/end`, message: 'is not a date-time' });
      else if (end <= start) errors.push({ field: `${path}/end`, message: 'must be after start' });
      else if (end > now) errors.push({ field: `${path}/end`, message: 'must not be in the future' });
      else return { start, end };
      return undefined;
    };
    const covered: { start: number; end: number }[] = [];
    input.coverage.forEach((c, n) => {
      const r = range(`/coverage/${n}`, c);
      if (r && r.start < since)
        errors.push({
          field: `/coverage/${n}/start`,
          message: `is before the instance's monitoredSince (${instance.monitoredSince}): set an earlier monitoredSince first`,
        });
      else if (r) covered.push(r);
    });
    const watched = merge(covered);
    const services = new Set(instance.services.map((s) => s.name));
    input.intervals.forEach((i, n) => {
      if (!services.has(i.service))
        errors.push({ field: `/intervals/${n}/service`, message: 'the instance has no such service' });
      const r = range(`/intervals/${n}`, i);
      if (r && !watched.some((w) => w.start <= r.start && r.end <= w.end))
        errors.push({ field: `/intervals/${n}`, message: 'must lie within the coverage given' });
    });
    if (errors.length > 0)
      throw new ValidationError(
        `history is invalid (${errors.length} problem(s)); nothing was imported`,
        errors.slice(0, MAX_ERRORS),
      );

    return withTx(this.pool, async (tx) => {
      await store.lockHistory(tx, instance.id);
      // The prober's writers of the same series take these too, in the same (sorted) order: no deadlock, and
      // no interval of theirs lands between our check and our insert.
      for (const service of [...new Set(input.intervals.map((i) => i.service))].sort())
        await lockSeries(tx, instance.id, service);
      const coverageAdded = input.coverage.length
        ? await store.addCoverage(tx, instance.id, input.source, input.coverage)
        : [];
      // Down first: where the earlier system's down and degraded overlap, down is what the client felt.
      const ordered = [...input.intervals].sort(
        (a, b) =>
          (a.state === b.state ? 0 : a.state === 'down' ? -1 : 1) ||
          Date.parse(a.start) - Date.parse(b.start),
      );
      const intervalsAdded: HistoryResult['intervalsAdded'] = [];
      for (const i of ordered) {
        const pieces = await store.addInterval(tx, {
          instanceId: instance.id,
          service: i.service,
          state: i.state,
          start: i.start,
          end: i.end,
          reason: i.reason ?? '',
        });
        for (const p of pieces)
          intervalsAdded.push({
            service: i.service,
            state: i.state,
            start: p.start.toISOString(),
            end: p.end.toISOString(),
          });
      }
      const result: HistoryResult = {
        instanceId: instance.id,
        source: input.source,
        changed: coverageAdded.length > 0 || intervalsAdded.length > 0,
        coverageAdded: coverageAdded.map((c) => ({ start: c.start.toISOString(), end: c.end.toISOString() })),
        intervalsAdded,
      };
      // A repeated import changes nothing, so there is nothing to record.
      if (result.changed)
        await this.audit.record(tx, auth, requestId, {
          action: 'availability.history',
          targetType: 'instance',
          targetId: instance.id,
          after: { ...result, given: { coverage: input.coverage.length, intervals: input.intervals.length } },
        });
      return result;
    });
  }
}
