import type { Histogram } from 'prom-client';
import { actorOf, type AuditService } from '../audit/service.ts';
import { withTx, type Pool, type Queryable } from '../db/pool.ts';
import type { FleetService } from '../fleet/service.ts';
import type { Instance } from '../fleet/types.ts';
import { canSeeClient, type Auth } from '../http/auth.ts';
import { ConflictError, NotFoundError, ValidationError } from '../http/errors.ts';
import { checkSpan, DAY_MS, parseLimit, parseTime } from '../http/range.ts';
import { MAX_LIST_LIMIT, type ListQuery, type OpenIncidentInput } from './schemas.ts';
import * as store from './store.ts';
import { BREACH_ALERT, targetTable, type ResponseTargets } from './targets.ts';
import { incidentView, type Actor, type Incident, type IncidentHooks, type TimelineEvent } from './types.ts';

export interface IncidentMetrics {
  timeToAck: Histogram<'severity'>;
  timeToResolve: Histogram<'severity'>;
  failureToAck: Histogram<'severity'>;
}

/** A token's own caller (not a fixed name acting for one): its visibility is checked like any request's. */
const isAuth = (a: Actor): a is Auth => typeof a !== 'string' && !('caller' in a);
const isStaff = (auth: Auth) => auth.role === 'admin' || auth.role === 'operator';
const withoutNote = (detail: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(detail).filter(([k]) => k !== 'note'));

/** How far back a hand-made incident's failure may have begun: it is opened for a failure going on now. */
const FAILURE_BEGAN_MAX_AGE_MS = 30 * DAY_MS;
/** A clock a little ahead of ours still says "now". */
const CLOCK_SKEW_MS = 60_000;

/** When a hand-made incident's failure began: the operator's time (within bounds; 400 naming it), or now. */
function failureBegan(at: string | undefined, now = Date.now()): string | null {
  if (at === undefined) return null;
  const bad = (message: string) =>
    new ValidationError('incident is invalid', [{ field: '/failureBeganAt', message }]);
  const d = new Date(at);
  if (Number.isNaN(d.getTime())) throw bad('must be a date-time');
  if (d.getTime() > now + CLOCK_SKEW_MS) throw bad('must not be in the future');
  if (d.getTime() < now - FAILURE_BEGAN_MAX_AGE_MS) throw bad('must be within the last 30 days');
  return d.toISOString();
}

/**
 * The opened-at filter as the database is given it: each end parsed (400 naming it otherwise), to after from.
 * Its span is not bounded: the rows returned are, by `limit`, and the query walks opened_at newest first.
 */
function incidentRange(q: ListQuery): { from: string | null; to: string | null } {
  const from = q.from === undefined ? null : parseTime(q.from, '/from');
  const to = q.to === undefined ? null : parseTime(q.to, '/to');
  if (from && to) checkSpan(from, to, Infinity);
  return { from: from?.toISOString() ?? null, to: to?.toISOString() ?? null };
}

/** Incidents: opening, acknowledging, resolving, notes and the timeline. Every change is an event and audited. */
export class IncidentService {
  constructor(
    readonly pool: Pool,
    private readonly audit: AuditService,
    private readonly fleet: FleetService,
    readonly hooks: IncidentHooks,
    private readonly metrics: IncidentMetrics,
    private readonly targets: ResponseTargets,
  ) {}

  /** An incident as the API answers it, with where it stands against its response targets now. */
  private viewOf(inc: store.DbIncident): Incident {
    return incidentView(inc, this.targets);
  }

  /** Appends to the timeline and the audit log in the caller's transaction. */
  async record(
    tx: Queryable,
    inc: store.DbIncident,
    actor: Actor,
    requestId: string | null,
    e: { kind: string; detail?: object; internal?: boolean; audit?: boolean },
  ): Promise<void> {
    const detail = e.detail ?? {};
    await store.insertEvent(tx, {
      incidentId: inc.id,
      kind: e.kind,
      actor: actorOf(actor),
      detail,
      internal: e.internal ?? true,
    });
    if (e.audit === false) return;
    await this.audit.record(tx, actor, requestId, {
      action: `incident.${e.kind}`,
      targetType: 'incident',
      targetId: inc.id,
      after: { code: inc.code, ...detail },
    });
  }

  /**
   * Many timeline events at once (a webhook's alert updates), with the one audit record of the whole change
   * when `audit` is given: staged in the same statement, it joins the hash chain just after `tx` commits
   * (call `auditCommitted` then), so webhooks never wait for the chain's global lock.
   */
  async addEvents(
    tx: Queryable,
    inc: store.DbIncident,
    actor: Actor,
    events: { kind: string; detail: object; internal: boolean }[],
    audit?: { requestId: string | null; action: string; after: object },
  ): Promise<void> {
    const entry =
      audit &&
      this.changeEntry(inc.id, actor, audit.requestId, audit.action, { code: inc.code, ...audit.after });
    await store.insertEvents(tx, inc.id, actorOf(actor), events, entry);
  }

  /** A webhook's change of an incident as one audit record, to stage in the statement that makes it. */
  private changeEntry(id: string, actor: Actor, requestId: string | null, action: string, after: object) {
    return this.audit.entry(actor, requestId, {
      action: `incident.${action}`,
      targetType: 'incident',
      targetId: id,
      after,
    });
  }

  /**
   * The audit record of an opening written in one statement (incidents/store.ts `openWithEscalation`, which
   * adds the code the database gives the incident), as `addEvents` makes it for the usual opening.
   */
  openingAudit(id: string, actor: Actor, requestId: string | null, after: object) {
    return this.changeEntry(id, actor, requestId, 'opened', after);
  }

  /**
   * The audit record of a job's change of an incident (an escalation step), to stage in the statement that
   * writes it; call `auditCommitted` once that commits.
   */
  jobAudit(inc: { id: string; code: string }, actor: Actor, kind: string, detail: object) {
    return this.changeEntry(inc.id, actor, null, kind, { code: inc.code, ...detail });
  }

  /** After a transaction that staged audit records (`addEvents`) committed: they join the hash chain. */
  auditCommitted(): void {
    this.audit.chainSoon();
  }

  /** A visible incident or 404: a client token never learns that another client's incident exists. */
  private async visible(auth: Auth, idOrCode: string): Promise<store.DbIncident> {
    const inc = await store.find(this.pool, idOrCode);
    if (!inc || !this.sees(auth, inc)) throw new NotFoundError('incident');
    return inc;
  }

  private sees(auth: Auth, inc: store.DbIncident): boolean {
    // A drill's incident is the provider's own exercise: a client never learns of it.
    if (inc.client_id === null || inc.drill_id !== null) return isStaff(auth);
    return canSeeClient(auth, inc.client_id);
  }

  async get(auth: Auth, idOrCode: string): Promise<Incident> {
    return this.view(auth, await this.visible(auth, idOrCode));
  }

  /**
   * Newest first, at most `limit` (1..maxLimit): the limit, not from..to, bounds the work. Callers of the API
   * get MAX_LIST_LIMIT; a report, which must see the whole month, passes its own. Drills' incidents are left
   * out unless `drills` (staff listing incidents): reports and the morning list count real failures only.
   */
  async list(
    auth: Auth,
    q: ListQuery,
    maxLimit = MAX_LIST_LIMIT,
    opts: { drills?: boolean } = {},
  ): Promise<Incident[]> {
    const rows = await store.list(this.pool, await this.listFilter(auth, q, maxLimit, opts));
    return rows.filter((i) => this.sees(auth, i)).map((i) => this.view(auth, i));
  }

  /**
   * `list`, with the id of the newest timeline event read in the same statement (one snapshot): a live view
   * asks `changedSince` that id for whatever changed after the list it shows.
   */
  async listLive(
    auth: Auth,
    q: ListQuery,
    maxLimit = MAX_LIST_LIMIT,
    opts: { drills?: boolean } = {},
  ): Promise<{ incidents: Incident[]; lastEventId: number }> {
    const { rows, lastEventId } = await store.listWithLastEvent(
      this.pool,
      await this.listFilter(auth, q, maxLimit, opts),
    );
    return { incidents: rows.filter((i) => this.sees(auth, i)).map((i) => this.view(auth, i)), lastEventId };
  }

  private async listFilter(
    auth: Auth,
    q: ListQuery,
    maxLimit: number,
    opts: { drills?: boolean },
  ): Promise<store.ListFilter> {
    let clientId = auth.clientId;
    if (q.client !== undefined) {
      const id = await this.fleet.resolveClientId(q.client);
      if (!id || !canSeeClient(auth, id)) throw new NotFoundError('client');
      clientId = id;
    }
    return {
      clientId,
      instance: q.instance ?? null,
      status: q.status ?? null,
      severity: q.severity ?? null,
      ...incidentRange(q),
      limit: parseLimit(q.limit, maxLimit, 100),
      drills: (opts.drills ?? false) && isStaff(auth),
    };
  }

  /**
   * A client sees what was written for clients: the public summary, not the internal one (an alert's
   * annotation text), and who acted as the provider, not which operator or token (as on the timeline).
   */
  private view(auth: Auth, inc: store.DbIncident): Incident {
    const v = this.viewOf(inc);
    if (isStaff(auth)) return v;
    const forClient: Incident = { ...v };
    delete forClient.summary;
    return {
      ...forClient,
      acknowledgedBy: v.acknowledgedBy && 'concierge-ops',
      resolvedBy: v.resolvedBy && 'concierge-ops',
    };
  }

  async timeline(auth: Auth, idOrCode: string): Promise<TimelineEvent[]> {
    const inc = await this.visible(auth, idOrCode);
    const rows = await store.listEvents(this.pool, inc.id, isStaff(auth));
    return rows.map((e) => ({
      at: e.at.toISOString(),
      kind: e.kind,
      actor: isStaff(auth) ? e.actor : 'concierge-ops',
      // An operator's note on an acknowledgement or resolution is internal: clients see that it happened.
      detail: isStaff(auth) || !('note' in e.detail) ? e.detail : withoutNote(e.detail),
      internal: e.internal,
    }));
  }

  /**
   * The client, instance and service an incident names, checked against each other: an instance or service
   * must be the client's own (an instance alone names its client), so no client ever sees another's on it.
   */
  private async references(auth: Auth, input: OpenIncidentInput) {
    const bad = (field: string, message: string) =>
      new ValidationError('incident references are invalid', [{ field, message }]);
    let clientId: string | null = null;
    if (input.client !== undefined) {
      clientId = (await this.fleet.resolveClientId(input.client)) ?? null;
      if (!clientId) throw bad('/client', 'no such client');
    }
    let instance: Instance | undefined;
    if (input.instance !== undefined) {
      instance = await this.fleet.getInstance(auth, input.instance).catch(() => undefined);
      if (!instance) throw bad('/instance', 'no such instance');
      if (clientId !== null && instance.client.id !== clientId)
        throw bad('/instance', "is not an instance of the incident's client");
      clientId = instance.client.id;
    }
    // With no client the incident is staff-only: its service names nothing a client could see.
    if (input.service !== undefined && clientId !== null) {
      const candidates = instance
        ? [instance]
        : await this.fleet.listInstances(auth, { client: clientId, status: 'all' });
      if (!candidates.some((i) => i.services.some((s) => s.name === input.service)))
        throw bad(
          '/service',
          instance ? 'the instance has no such service' : 'no instance of the client has such a service',
        );
    }
    return { clientId, instance: instance?.slug ?? null };
  }

  async open(auth: Auth, requestId: string, input: OpenIncidentInput): Promise<Incident> {
    const { clientId, instance } = await this.references(auth, input);
    const failureBeganAt = failureBegan(input.failureBeganAt);
    return this.hooks.transaction(async (tx) => {
      const id = await store.insert(tx, {
        clientId,
        unassigned: clientId === null,
        instance,
        service: input.service ?? null,
        severity: input.severity,
        class: input.class ?? null,
        groupKey: null,
        source: 'manual',
        title: input.title,
        summary: input.summary,
        publicSummary: input.publicSummary ?? null,
        autoResolve: false,
        failureBeganAt,
      });
      const inc = (await store.find(tx, id))!;
      await this.record(tx, inc, auth, requestId, {
        kind: 'opened',
        detail: {
          severity: inc.severity,
          title: inc.title,
          ...(inc.class ? { class: inc.class } : {}),
        },
        internal: false,
      });
      await this.hooks.opened(tx, inc);
      await this.hooks.announce(tx, inc, 'opened');
      return this.viewOf(inc);
    });
  }

  /** Acknowledges an open incident (idempotent): escalation stops, the SLA clock does not. */
  async acknowledge(actor: Actor, requestId: string | null, idOrCode: string, via: string, note?: string) {
    if (isAuth(actor)) await this.visible(actor, idOrCode);
    const result = await withTx(this.pool, async (tx) => {
      const inc = await store.find(tx, idOrCode, true);
      if (!inc) throw new NotFoundError('incident');
      if (inc.status !== 'open') return { inc, changed: false };
      await store.acknowledge(tx, inc.id, actorOf(actor));
      await this.record(tx, inc, actor, requestId, {
        kind: 'acknowledged',
        detail: { via, ...(note ? { note } : {}) },
        internal: false,
      });
      await this.hooks.stopped(tx, inc, 'acknowledged');
      // Acknowledging a drill is what it waited for: the drill ends with it, and so does its alert.
      if (inc.drill_id !== null) {
        await store.resolveAlerts(tx, inc.id);
        const acked = (await store.find(tx, inc.id))!;
        await this.resolveLocked(tx, acked, actor, requestId, { via: 'drill acknowledged' });
      }
      return { inc: (await store.find(tx, inc.id))!, changed: true };
    });
    // A drill's times are its report's, not the failure-to-ack figures of real failures.
    if (result.changed && result.inc.drill_id === null) {
      const inc = result.inc;
      this.observe(this.metrics.timeToAck, inc, inc.acknowledged_at!);
      this.observe(this.metrics.failureToAck, inc, inc.acknowledged_at!, inc.failure_began_at);
    }
    return this.viewOf(result.inc);
  }

  async resolve(actor: Actor, requestId: string | null, idOrCode: string, via: string, note?: string) {
    if (isAuth(actor)) await this.visible(actor, idOrCode);
    const inc = await withTx(this.pool, async (tx) => {
      const cur = await store.find(tx, idOrCode, true);
      if (!cur) throw new NotFoundError('incident');
      return this.resolveLocked(tx, cur, actor, requestId, { via, ...(note ? { note } : {}) });
    });
    return this.viewOf(inc);
  }

  /** Resolves a locked incident row inside the caller's transaction; a resolved one is left as it is. */
  async resolveLocked(
    tx: Queryable,
    cur: store.DbIncident,
    actor: Actor,
    requestId: string | null,
    detail: object,
  ): Promise<store.DbIncident> {
    if (cur.status === 'resolved') return cur;
    await store.resolve(tx, cur.id, actorOf(actor));
    await this.record(tx, cur, actor, requestId, { kind: 'resolved', detail, internal: false });
    await this.hooks.stopped(tx, cur, 'resolved');
    const after = (await store.find(tx, cur.id))!;
    await this.hooks.announce(tx, after, 'resolved');
    if (after.drill_id === null) this.observe(this.metrics.timeToResolve, after, after.resolved_at!);
    return after;
  }

  /**
   * A drill on an escalation path: an incident of no client, marked as the drill's, that escalates by `policyId`
   * level by level, or (with a rotation) pages whoever is on call in it now. Pages go out once it commits.
   */
  async openDrill(
    actor: Actor,
    requestId: string | null,
    d: {
      drillId: string;
      severity: store.Severity;
      title: string;
      summary: string;
      policyId: string | null;
      rotationId: string | null;
    },
  ): Promise<Incident> {
    return this.hooks.transaction(async (tx) => {
      const inc = await store.insertDrill(tx, d);
      await this.record(tx, inc, actor, requestId, {
        kind: 'opened',
        detail: { severity: inc.severity, title: inc.title, drill: d.drillId },
        internal: true,
      });
      if (d.rotationId !== null) {
        const paged = await this.hooks.reassign(tx, inc, { rotation: d.rotationId }, 1);
        await this.record(tx, inc, actor, requestId, {
          kind: paged ? 'reassigned' : 'escalation_no_responders',
          detail: paged
            ? { to: paged.assignee.name, pages: paged.pages, channels: paged.channels, drill: true }
            : { rotation: d.rotationId, drill: true },
          internal: true,
          audit: false,
        });
      } else await this.hooks.opened(tx, inc);
      return this.viewOf(inc);
    });
  }

  /** The incidents of these drills, for the drill reports. */
  async ofDrills(ids: string[]): Promise<Map<string, Incident>> {
    const rows = ids.length === 0 ? [] : await store.byDrills(this.pool, ids);
    return new Map(rows.map((i) => [i.drill_id!, this.viewOf(i)]));
  }

  /** A drill's incident's timeline, all of it (the drill report reads its escalation steps). */
  async drillTimeline(incidentId: string): Promise<TimelineEvent[]> {
    return (await store.listEvents(this.pool, incidentId, true)).map((e) => ({
      at: e.at.toISOString(),
      kind: e.kind,
      actor: e.actor,
      detail: e.detail,
      internal: e.internal,
    }));
  }

  async addNote(auth: Auth, requestId: string, idOrCode: string, text: string, visibility: string) {
    const inc = await this.visible(auth, idOrCode);
    await withTx(this.pool, async (tx) => {
      const locked = (await store.find(tx, inc.id, true))!;
      if (visibility === 'public') await store.setPublicSummary(tx, inc.id, text);
      await this.record(tx, locked, auth, requestId, {
        kind: 'note',
        detail: { text, visibility },
        internal: visibility !== 'public',
      });
      // A public note is the incident's new public summary: the clinic is told; an internal one never.
      if (visibility === 'public') await this.hooks.announce(tx, (await store.find(tx, inc.id))!, 'updated');
    });
    return this.timeline(auth, inc.id);
  }

  /**
   * Reassigns an open or acknowledged incident to a responder or to whoever is on call in a rotation: they are
   * paged at once (the incident's severity's channels), the timeline and audit log say so. Escalation is not
   * reset: it goes on until someone acknowledges.
   */
  async reassign(
    auth: Auth,
    requestId: string,
    idOrCode: string,
    input: { responder?: string; rotation?: string; note?: string },
  ) {
    const visible = await this.visible(auth, idOrCode);
    if ((input.responder === undefined) === (input.rotation === undefined))
      throw new ValidationError('reassignment is invalid', [
        { field: '/responder', message: 'must be given, or else a rotation (one of the two)' },
      ]);
    return this.hooks.transaction(async (tx) => {
      const inc = (await store.find(tx, visible.id, true))!;
      if (inc.status === 'resolved') throw new ConflictError(`${inc.code} is resolved`);
      const n = await store.countEvents(tx, inc.id, 'reassigned');
      const paged = await this.hooks.reassign(tx, inc, input, n);
      if (!paged)
        throw new ValidationError('reassignment is invalid', [
          input.responder !== undefined
            ? { field: '/responder', message: 'must name an active responder' }
            : { field: '/rotation', message: 'must name a rotation with someone on call now' },
        ]);
      await this.record(tx, inc, auth, requestId, {
        kind: 'reassigned',
        detail: {
          to: paged.assignee.name,
          ...(input.rotation !== undefined ? { rotation: input.rotation } : {}),
          channels: paged.channels,
          pages: paged.pages,
          ...(input.note ? { note: input.note } : {}),
        },
      });
      return { incident: this.viewOf(inc), assignee: paged.assignee, pages: paged.pages };
    });
  }

  /** Raises an unresolved incident's severity (never lowers it): later escalation steps page on its channels. */
  async raiseSeverity(
    auth: Auth,
    requestId: string,
    idOrCode: string,
    severity: store.Severity,
    note?: string,
  ) {
    const visible = await this.visible(auth, idOrCode);
    return withTx(this.pool, async (tx) => {
      const inc = (await store.find(tx, visible.id, true))!;
      if (inc.status === 'resolved') throw new ConflictError(`${inc.code} is resolved`);
      if (store.SEVERITIES.indexOf(severity) <= store.SEVERITIES.indexOf(inc.severity))
        throw new ValidationError('severity is invalid', [
          { field: '/severity', message: `must be above the incident's ${inc.severity}` },
        ]);
      await store.raiseSeverity(tx, inc.id, severity);
      await this.record(tx, inc, auth, requestId, {
        kind: 'severity_raised',
        detail: { from: inc.severity, severity, ...(note ? { note } : {}) },
        internal: false,
      });
      return this.viewOf((await store.find(tx, inc.id))!);
    });
  }

  /**
   * Sets an unresolved incident's class by hand: later escalation steps follow the policy for that class (a
   * step already paged stays paged).
   */
  async setClass(auth: Auth, requestId: string, idOrCode: string, cls: store.IncidentClass, note?: string) {
    const visible = await this.visible(auth, idOrCode);
    return withTx(this.pool, async (tx) => {
      const inc = (await store.find(tx, visible.id, true))!;
      if (inc.status === 'resolved') throw new ConflictError(`${inc.code} is resolved`);
      if (inc.class === cls) return this.viewOf(inc);
      await store.setClass(tx, inc.id, cls);
      await this.record(tx, inc, auth, requestId, {
        kind: 'class_set',
        detail: { from: inc.class, class: cls, ...(note ? { note } : {}) },
        internal: false,
      });
      return this.viewOf((await store.find(tx, inc.id))!);
    });
  }

  private observe(h: Histogram<'severity'>, inc: store.DbIncident, at: Date, from = inc.opened_at) {
    h.observe({ severity: inc.severity }, Math.max(0, (at.getTime() - from.getTime()) / 1000));
  }

  /** The incident locked for the rest of `tx`, for jobs that act on it (escalation, paging). */
  async findLocked(tx: Queryable, idOrCode: string): Promise<store.DbIncident | undefined> {
    return store.find(tx, idOrCode, true);
  }

  /** For live views: the newest timeline event id, and which incidents changed after one (store.changedSince). */
  lastEventId(): Promise<number> {
    return store.lastEventId(this.pool);
  }

  changedSince(afterId: number, limit = 500): Promise<{ last: number; ids: string[] }> {
    return store.changedSince(this.pool, afterId, limit);
  }

  async openCounts() {
    return store.openCounts(this.pool);
  }

  /** Open incidents past their acknowledge and resolve targets now, by class and severity (for /metrics). */
  async pastTargets() {
    return store.pastTargets(this.pool, targetTable(this.targets), BREACH_ALERT);
  }
}
