import { setImmediate } from 'node:timers/promises';
import { UUID, type Pool } from '../db/pool.ts';
import { withTx } from '../db/pool.ts';
import type { AuditService } from '../audit/service.ts';
import type { FleetService } from '../fleet/service.ts';
import { actorName, canSeeClient, type Auth } from '../http/auth.ts';
import { NotFoundError, ValidationError, type FieldError } from '../http/errors.ts';
import { DAY_MS, parseRange, parseTime } from '../http/range.ts';
import { expand, generate, occurrences, type Range, type Recurrence } from './recurrence.ts';
import * as store from './store.ts';

export interface WindowInput {
  client?: string;
  instance?: string;
  start: string;
  end?: string;
  reason: string;
  recurrence?: Recurrence;
}

export interface MaintenanceRange extends Range {
  windowId: string;
  clientId: string;
  /** null: the whole client */
  instanceId: string | null;
}

/** The longest from..to of one list request, and the most occurrences its answer holds. */
export const MAX_LIST_DAYS = 366;
export const MAX_OCCURRENCES = 2000;
/** Occurrences expanded between two turns of the event loop. */
const YIELD_EVERY = 100;

export function windowView(w: store.DbWindow, from: Date, to: Date) {
  return view(w, occurrences(spec(w), w.time_zone, from, to));
}

function view(w: store.DbWindow, list: Range[]) {
  return {
    id: w.id,
    client: { id: w.client_id, slug: w.client_slug },
    instance: w.instance_id ? { id: w.instance_id, slug: w.instance_slug } : null,
    start: w.starts_at.toISOString(),
    end: w.ends_at?.toISOString() ?? null,
    recurrence: w.recurrence,
    reason: w.reason,
    timeZone: w.time_zone,
    alertmanagerSilenceId: w.alertmanager_silence_id,
    createdBy: w.created_by,
    createdAt: w.created_at.toISOString(),
    occurrences: list.map((o) => ({
      start: o.start.toISOString(),
      end: o.end.toISOString(),
    })),
  };
}

export const spec = (w: store.DbWindow) => ({ start: w.starts_at, end: w.ends_at, recurrence: w.recurrence });

/** Maintenance windows of a client or one instance: one-off or recurring in the client's time zone. */
export class MaintenanceService {
  constructor(
    private readonly pool: Pool,
    private readonly audit: AuditService,
    private readonly fleet: FleetService,
  ) {}

  async create(auth: Auth, requestId: string, input: WindowInput) {
    const { clientId, instanceId } = await this.target(auth, input);
    return withTx(this.pool, async (tx) => {
      const id = await store.insert(tx, {
        clientId,
        instanceId,
        start: input.start,
        end: input.end ?? null,
        recurrence: input.recurrence ?? null,
        reason: input.reason,
        createdBy: actorName(auth),
      });
      const now = new Date();
      const after = windowView((await store.find(tx, id))!, now, new Date(now.getTime() + 30 * DAY_MS));
      await this.audit.record(tx, auth, requestId, {
        action: 'maintenance.create',
        targetType: 'maintenance_window',
        targetId: id,
        after,
      });
      return after;
    });
  }

  /**
   * The next `count` occurrences a window would have (expanded in the client's time zone from now, within a
   * year), checked as `create` checks it: what the console shows before saving. Nothing is stored.
   */
  async preview(auth: Auth, input: WindowInput, count = 5) {
    const { clientId } = await this.target(auth, input);
    const client = await this.fleet.getClient(auth, clientId);
    const w = {
      start: parseTime(input.start, '/start'),
      end: input.end === undefined ? null : parseTime(input.end, '/end'),
      recurrence: input.recurrence ?? null,
    };
    const now = new Date();
    const found = expand(w, client.timeZone, now, new Date(now.getTime() + MAX_LIST_DAYS * DAY_MS), count);
    return {
      client: { id: client.id, slug: client.slug, timeZone: client.timeZone },
      occurrences: found.ranges.map((o) => ({ start: o.start.toISOString(), end: o.end.toISOString() })),
      more: found.truncated,
    };
  }

  /** The window's client and instance, or a 400 naming every bad field (the rules of `create` and `preview`). */
  private async target(
    auth: Auth,
    input: WindowInput,
  ): Promise<{ clientId: string; instanceId: string | null }> {
    const errors: FieldError[] = [];
    if ((input.client === undefined) === (input.instance === undefined))
      errors.push({ field: '/client', message: 'give exactly one of client or instance' });
    if (!input.recurrence && input.end === undefined) errors.push({ field: '/end', message: 'is required' });
    if (input.end !== undefined && Date.parse(input.end) <= Date.parse(input.start))
      errors.push({ field: '/end', message: 'must be after start' });
    let clientId: string | undefined;
    let instanceId: string | null = null;
    if (errors.length === 0 && input.instance !== undefined) {
      const i = await this.fleet.getInstance(auth, input.instance).catch(() => undefined);
      if (!i) errors.push({ field: '/instance', message: 'no such instance' });
      else [clientId, instanceId] = [i.client.id, i.id];
    } else if (errors.length === 0) {
      clientId = await this.fleet.resolveClientId(input.client!);
      if (!clientId) errors.push({ field: '/client', message: 'no such client' });
    }
    if (errors.length > 0) throw new ValidationError('maintenance window is invalid', errors);
    return { clientId: clientId!, instanceId };
  }

  /**
   * Live windows with their occurrences in [from, to) (default: the next 30 days; at most MAX_LIST_DAYS, and
   * MAX_OCCURRENCES in all, else a 400 that says so; a report, bounded by its month, passes its own cap);
   * clients see their own.
   */
  async list(
    auth: Auth,
    q: { client?: string; from?: string; to?: string },
    maxOccurrences = MAX_OCCURRENCES,
  ) {
    const { from, to } = parseRange(q, { maxDays: MAX_LIST_DAYS, defaultDays: 30, anchor: 'from' });
    let clientIds: string[] | null = auth.clientId ? [auth.clientId] : null;
    if (q.client !== undefined) clientIds = [(await this.fleet.getClient(auth, q.client)).id];
    const rows = (await store.listLive(this.pool, { clientIds, from, to })).filter((w) =>
      canSeeClient(auth, w.client_id),
    );
    // One budget for the whole answer, spent as occurrences are found: the work stops when it runs out.
    let left = maxOccurrences;
    const out = [];
    for (const w of rows) {
      const list: Range[] = [];
      for (const o of generate(spec(w), w.time_zone, from, to)) {
        if (left-- === 0)
          throw new ValidationError(
            `query string is invalid: an answer holds at most ${maxOccurrences} occurrences`,
            [
              {
                field: q.to === undefined ? '/from' : '/to',
                message: `from..to must hold at most ${maxOccurrences} occurrences (the windows occur more often); ask for a shorter range`,
              },
            ],
          );
        list.push(o);
        // Each occurrence costs a time-zone look-up: let other requests (/healthz) in between batches.
        if (left % YIELD_EVERY === 0) await setImmediate();
      }
      out.push(view(w, list));
    }
    return out;
  }

  /**
   * Live windows that begin after `after` (those the 30-day list leaves out: a window planned months ahead must
   * still be seen and deletable), each with its first occurrence only; soonest first, at most `limit` (one more
   * is fetched to say whether there are more). Clients see their own.
   */
  async listLater(auth: Auth, q: { client?: string }, after: Date, limit = 50) {
    let clientIds: string[] | null = auth.clientId ? [auth.clientId] : null;
    if (q.client !== undefined) clientIds = [(await this.fleet.getClient(auth, q.client)).id];
    const rows = (await store.listStartingAfter(this.pool, { clientIds, after, limit: limit + 1 })).filter(
      (w) => canSeeClient(auth, w.client_id),
    );
    const windows = rows.slice(0, limit).map((w) => {
      // The first occurrence within a year of the window's start (a recurrence may begin with a skipped day).
      const first = generate(
        spec(w),
        w.time_zone,
        w.starts_at,
        new Date(w.starts_at.getTime() + 366 * DAY_MS),
      ).next();
      return view(w, first.done ? [] : [first.value]);
    });
    return { windows, more: rows.length > limit };
  }

  async remove(auth: Auth, requestId: string, id: string) {
    if (!UUID.test(id)) throw new NotFoundError('maintenance window');
    return withTx(this.pool, async (tx) => {
      const w = await store.find(tx, id, true);
      if (!w || w.deleted_at) throw new NotFoundError('maintenance window');
      await store.markDeleted(tx, id);
      const now = new Date();
      await this.audit.record(tx, auth, requestId, {
        action: 'maintenance.delete',
        targetType: 'maintenance_window',
        targetId: id,
        before: windowView(w, now, new Date(now.getTime() + 30 * DAY_MS)),
      });
      // The silence, if any, is expired by the next sync, which sees the window deleted.
    });
  }

  /**
   * Occurrences of live windows starting in [from, to), with what a clinic is told of them (status-updates'
   * reminders, which ask the fleet whom to tell: no one of a decommissioned client). Bounded by the span asked
   * for (the reminder lead time).
   */
  async startingBetween(from: Date, to: Date) {
    const rows = await store.listLive(this.pool, { clientIds: null, from, to });
    return rows.flatMap((w) =>
      occurrences(spec(w), w.time_zone, from, to)
        .filter((o) => o.start >= from && o.start < to)
        .map((o) => ({
          windowId: w.id,
          clientId: w.client_id,
          instance: w.instance_slug,
          reason: w.reason,
          start: o.start,
          end: o.end,
        })),
    );
  }

  /** Concrete maintenance time in [from, to) of the given clients (null: every client). */
  async ranges(clientIds: string[] | null, from: Date, to: Date): Promise<MaintenanceRange[]> {
    const rows = await store.listLive(this.pool, { clientIds, from, to });
    return rows.flatMap((w) =>
      occurrences(spec(w), w.time_zone, from, to).map((o) => ({
        ...o,
        windowId: w.id,
        clientId: w.client_id,
        instanceId: w.instance_id,
      })),
    );
  }
}
