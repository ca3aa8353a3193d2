import { DateTime } from 'luxon';
import type { AuditService } from '../audit/service.ts';
import { UUID, withTx, type Pool, type Queryable } from '../db/pool.ts';
import { actorName, type Auth } from '../http/auth.ts';
import { ConflictError, NotFoundError, ValidationError, type FieldError } from '../http/errors.ts';
import { parseRange } from '../http/range.ts';
import {
  handoffDay,
  onCallAt,
  schedule,
  validZone,
  type OverrideSpec,
  type RotationSpec,
} from './schedule.ts';
import * as store from './store.ts';

export interface ResponderInput {
  name: string;
  role: string;
  phone?: string | null;
  email?: string | null;
  active?: boolean;
  webhookUrl?: string | null;
  webhookSecret?: string | null;
  slackWebhookUrl?: string | null;
  teamsWebhookUrl?: string | null;
}

/** A chat or webhook URL as answered: its origin and last four characters (the path is the credential). */
const masked = (url: string | null) => {
  if (url === null) return null;
  let origin = '';
  try {
    origin = new URL(url).origin;
  } catch {
    // Stored before validation tightened: still never shown whole.
  }
  return `${origin}/…${url.slice(-4)}`;
};

export interface RotationInput extends RotationSpec {
  name: string;
}

export interface OverrideInput {
  responder: string;
  start: string;
  end: string;
  reason?: string;
}

/** The longest schedule preview one request may ask for. */
export const MAX_PREVIEW_DAYS = 92;

export const rotationSpec = (r: store.DbRotation): RotationSpec => ({
  timeZone: r.time_zone,
  handoff: r.handoff,
  handoffTime: r.handoff_time,
  startDate: r.start_date,
  members: r.members,
});

/** A rotation's columns from its input (rotationSpec's inverse, with the name). */
const rotationRow = (r: RotationInput) => ({
  name: r.name,
  time_zone: r.timeZone,
  handoff: r.handoff,
  handoff_time: r.handoffTime,
  start_date: r.startDate,
  members: r.members,
});

export const overrideSpec = (o: store.DbOverride): OverrideSpec => ({
  id: o.id,
  responderId: o.responder_id,
  start: o.starts_at,
  end: o.ends_at,
  createdAt: o.created_at,
});

const responderView = (r: store.DbResponder) => ({
  id: r.id,
  name: r.name,
  role: r.role,
  phone: r.phone,
  email: r.email,
  active: r.active,
  webhookUrl: masked(r.webhook_url),
  hasWebhookSecret: r.webhook_secret !== null,
  slackWebhookUrl: masked(r.slack_webhook_url),
  teamsWebhookUrl: masked(r.teams_webhook_url),
  createdAt: r.created_at.toISOString(),
});

/** What the audit log keeps of a responder: never the phone number or e-mail address themselves. */
const responderAudit = (r: store.DbResponder) => ({
  name: r.name,
  role: r.role,
  active: r.active,
  hasPhone: r.phone !== null,
  hasEmail: r.email !== null,
  hasWebhook: r.webhook_url !== null,
  hasSlack: r.slack_webhook_url !== null,
  hasTeams: r.teams_webhook_url !== null,
});

const rotationView = (r: store.DbRotation) => ({
  id: r.id,
  name: r.name,
  timeZone: r.time_zone,
  handoff: r.handoff,
  handoffTime: r.handoff_time,
  ...(r.handoff === 'weekly' ? { handoffDay: handoffDay(rotationSpec(r)) } : {}),
  startDate: r.start_date,
  members: r.members,
  createdAt: r.created_at.toISOString(),
  updatedAt: r.updated_at.toISOString(),
});

const overrideView = (o: store.DbOverride) => ({
  id: o.id,
  rotationId: o.rotation_id,
  responderId: o.responder_id,
  start: o.starts_at.toISOString(),
  end: o.ends_at.toISOString(),
  reason: o.reason,
  createdBy: o.created_by,
  createdAt: o.created_at.toISOString(),
});

/**
 * Responders and on-call rotations: who can be paged, who is on call when (daily or weekly hand-offs at a
 * local time, DST-correct, with overrides), for the API and for escalation levels that target a rotation.
 */
export class OnCallService {
  constructor(
    private readonly pool: Pool,
    private readonly audit: AuditService,
  ) {}

  async listResponders() {
    return (await store.listResponders(this.pool)).map(responderView);
  }

  async createResponder(auth: Auth, requestId: string, input: ResponderInput) {
    return withTx(this.pool, async (tx) => {
      const phone = input.phone ?? null;
      if (phone !== null && (input.active ?? true) && (await store.phoneTaken(tx, phone, null)))
        throw new ConflictError('another active responder has this phone number');
      const r = await store.insertResponder(tx, {
        name: input.name,
        role: input.role,
        phone,
        email: input.email ?? null,
        active: input.active ?? true,
        webhook_url: input.webhookUrl ?? null,
        webhook_secret: input.webhookSecret ?? null,
        slack_webhook_url: input.slackWebhookUrl ?? null,
        teams_webhook_url: input.teamsWebhookUrl ?? null,
      });
      await this.audit.record(tx, auth, requestId, {
        action: 'responder.create',
        targetType: 'responder',
        targetId: r.id,
        after: responderAudit(r),
      });
      return responderView(r);
    });
  }

  async updateResponder(auth: Auth, requestId: string, id: string, patch: Partial<ResponderInput>) {
    if (!UUID.test(id)) throw new NotFoundError('responder');
    return withTx(this.pool, async (tx) => {
      const cur = await store.findResponder(tx, id, true);
      if (!cur) throw new NotFoundError('responder');
      const next = {
        id,
        name: patch.name ?? cur.name,
        role: patch.role ?? cur.role,
        phone: patch.phone === undefined ? cur.phone : patch.phone,
        email: patch.email === undefined ? cur.email : patch.email,
        active: patch.active ?? cur.active,
        webhook_url: patch.webhookUrl === undefined ? cur.webhook_url : patch.webhookUrl,
        webhook_secret: patch.webhookSecret === undefined ? cur.webhook_secret : patch.webhookSecret,
        slack_webhook_url:
          patch.slackWebhookUrl === undefined ? cur.slack_webhook_url : patch.slackWebhookUrl,
        teams_webhook_url:
          patch.teamsWebhookUrl === undefined ? cur.teams_webhook_url : patch.teamsWebhookUrl,
      };
      if (next.phone !== null && next.active && (await store.phoneTaken(tx, next.phone, id)))
        throw new ConflictError('another active responder has this phone number');
      const r = await store.updateResponder(tx, next);
      await this.audit.record(tx, auth, requestId, {
        action: 'responder.update',
        targetType: 'responder',
        targetId: id,
        before: responderAudit(cur),
        after: responderAudit(r),
      });
      return responderView(r);
    });
  }

  /** Field errors of a rotation: a known zone, a real start date, members that are existing responders. */
  private async checkRotation(db: Queryable, r: RotationInput, exceptId: string | null): Promise<void> {
    const errors: FieldError[] = [];
    if (!validZone(r.timeZone)) errors.push({ field: '/timeZone', message: 'is not a known IANA time zone' });
    else if (!DateTime.fromISO(r.startDate, { zone: r.timeZone }).isValid)
      errors.push({ field: '/startDate', message: 'is not a calendar date' });
    const found = await store.respondersById(
      db,
      r.members.filter((m) => UUID.test(m)),
    );
    r.members.forEach((m, i) => {
      if (!found.has(m)) errors.push({ field: `/members/${i}`, message: 'no such responder' });
    });
    if (await store.rotationNameTaken(db, r.name, exceptId))
      errors.push({ field: '/name', message: 'another rotation has this name' });
    if (errors.length > 0) throw new ValidationError('rotation is invalid', errors);
  }

  async listRotations() {
    const now = new Date();
    const rows = await store.listRotations(this.pool);
    const overrides = await store.overrides(this.pool, null, now);
    return rows.map((r) => ({
      ...rotationView(r),
      onCall: this.shiftView(onCallAt(rotationSpec(r), this.of(overrides, r.id), now)),
    }));
  }

  async getRotation(idOrName: string) {
    const r = await this.rotation(this.pool, idOrName);
    const now = new Date();
    const overrides = await store.overrides(this.pool, [r.id], now);
    return {
      ...rotationView(r),
      onCall: this.shiftView(onCallAt(rotationSpec(r), overrides.map(overrideSpec), now)),
      overrides: overrides.map(overrideView),
    };
  }

  async createRotation(auth: Auth, requestId: string, input: RotationInput) {
    return withTx(this.pool, async (tx) => {
      await this.checkRotation(tx, input, null);
      const r = await store.insertRotation(tx, rotationRow(input));
      await this.audit.record(tx, auth, requestId, {
        action: 'rotation.create',
        targetType: 'rotation',
        targetId: r.id,
        after: rotationView(r),
      });
      return rotationView(r);
    });
  }

  async updateRotation(auth: Auth, requestId: string, idOrName: string, patch: Partial<RotationInput>) {
    return withTx(this.pool, async (tx) => {
      const cur = await this.rotation(tx, idOrName, true);
      const next: RotationInput = {
        name: patch.name ?? cur.name,
        timeZone: patch.timeZone ?? cur.time_zone,
        handoff: patch.handoff ?? cur.handoff,
        handoffTime: patch.handoffTime ?? cur.handoff_time,
        startDate: patch.startDate ?? cur.start_date,
        members: patch.members ?? cur.members,
      };
      await this.checkRotation(tx, next, cur.id);
      const r = await store.updateRotation(tx, { id: cur.id, ...rotationRow(next) });
      await this.audit.record(tx, auth, requestId, {
        action: 'rotation.update',
        targetType: 'rotation',
        targetId: r.id,
        before: rotationView(cur),
        after: rotationView(r),
      });
      return rotationView(r);
    });
  }

  /** Deletes a rotation that no escalation level targets (409 names the policies that do). */
  async removeRotation(auth: Auth, requestId: string, idOrName: string) {
    return withTx(this.pool, async (tx) => {
      const r = await this.rotation(tx, idOrName, true);
      const users = await store.policiesTargeting(tx, r.id);
      if (users.length > 0)
        throw new ConflictError(`rotation ${r.name} is a target of escalation policy ${users.join(', ')}`);
      await store.deleteRotation(tx, r.id);
      await this.audit.record(tx, auth, requestId, {
        action: 'rotation.delete',
        targetType: 'rotation',
        targetId: r.id,
        before: rotationView(r),
      });
    });
  }

  async addOverride(auth: Auth, requestId: string, idOrName: string, input: OverrideInput) {
    return withTx(this.pool, async (tx) => {
      const r = await this.rotation(tx, idOrName, true);
      const errors: FieldError[] = [];
      if (Date.parse(input.end) <= Date.parse(input.start))
        errors.push({ field: '/end', message: 'must be after start' });
      if (Date.parse(input.end) <= Date.now()) errors.push({ field: '/end', message: 'is in the past' });
      const who = UUID.test(input.responder) ? await store.findResponder(tx, input.responder) : undefined;
      if (!who) errors.push({ field: '/responder', message: 'no such responder' });
      if (errors.length > 0) throw new ValidationError('override is invalid', errors);
      const o = await store.insertOverride(tx, {
        rotationId: r.id,
        responderId: who!.id,
        start: input.start,
        end: input.end,
        reason: input.reason ?? null,
        by: actorName(auth),
      });
      await this.audit.record(tx, auth, requestId, {
        action: 'rotation.override',
        targetType: 'rotation',
        targetId: r.id,
        after: overrideView(o),
      });
      return overrideView(o);
    });
  }

  async removeOverride(auth: Auth, requestId: string, idOrName: string, overrideId: string) {
    return withTx(this.pool, async (tx) => {
      const r = await this.rotation(tx, idOrName, true);
      const o = UUID.test(overrideId) ? await store.deleteOverride(tx, r.id, overrideId) : undefined;
      if (!o) throw new NotFoundError('override');
      await this.audit.record(tx, auth, requestId, {
        action: 'rotation.override_delete',
        targetType: 'rotation',
        targetId: r.id,
        before: overrideView(o),
      });
    });
  }

  /** Who is on call over [from, to) (default: the next 14 days), by rotation and override. */
  async preview(idOrName: string, q: { from?: string; to?: string }) {
    const r = await this.rotation(this.pool, idOrName);
    const { from, to } = parseRange(q, { maxDays: MAX_PREVIEW_DAYS, defaultDays: 14, anchor: 'from' });
    const overrides = (await store.overrides(this.pool, [r.id], from)).map(overrideSpec);
    const shifts = schedule(rotationSpec(r), overrides, from, to);
    const names = await this.names(shifts.map((s) => s.responderId));
    return {
      rotation: { id: r.id, name: r.name, timeZone: r.time_zone },
      from: from.toISOString(),
      to: to.toISOString(),
      shifts: shifts.map((s) => ({
        start: s.start.toISOString(),
        end: s.end.toISOString(),
        responder: { id: s.responderId, name: names.get(s.responderId) ?? null },
        override: s.overrideId,
      })),
    };
  }

  /** `GET /api/v1/oncall/now`: for every rotation (or the one asked for), who is on call now and until when. */
  async now(q: { rotation?: string }) {
    const at = new Date();
    const rows = q.rotation
      ? [await this.rotation(this.pool, q.rotation)]
      : await store.listRotations(this.pool);
    const overrides = await store.overrides(
      this.pool,
      rows.map((r) => r.id),
      at,
    );
    const shifts = rows.map((r) => onCallAt(rotationSpec(r), this.of(overrides, r.id), at));
    const people = await store.respondersById(
      this.pool,
      shifts.flatMap((s) => (s ? [s.responderId] : [])),
    );
    return {
      at: at.toISOString(),
      oncall: rows.map((r, i) => {
        const s = shifts[i];
        return {
          rotation: { id: r.id, name: r.name, timeZone: r.time_zone },
          // active: false is someone escalation will not page (the level then pages no one from this rotation).
          responder: s
            ? {
                id: s.responderId,
                name: people.get(s.responderId)?.name ?? null,
                active: people.get(s.responderId)?.active ?? false,
              }
            : null,
          since: s?.start.toISOString() ?? null,
          until: s?.end.toISOString() ?? null,
          override: s?.overrideId ?? null,
        };
      }),
    };
  }

  private of(overrides: store.DbOverride[], rotationId: string): OverrideSpec[] {
    return overrides.filter((o) => o.rotation_id === rotationId).map(overrideSpec);
  }

  private shiftView(s: ReturnType<typeof onCallAt>) {
    return (
      s && {
        responderId: s.responderId,
        since: s.start.toISOString(),
        until: s.end.toISOString(),
        override: s.overrideId,
      }
    );
  }

  private async names(ids: string[]): Promise<Map<string, string>> {
    const found = await store.respondersById(this.pool, [...new Set(ids)]);
    return new Map([...found].map(([id, r]) => [id, r.name]));
  }

  private async rotation(db: Queryable, idOrName: string, forUpdate = false): Promise<store.DbRotation> {
    const r = await store.findRotation(db, idOrName, forUpdate);
    if (!r) throw new NotFoundError('rotation');
    return r;
  }
}
