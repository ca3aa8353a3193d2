import type { AuditService } from '../audit/service.ts';
import { UUID, withTx, type Pool } from '../db/pool.ts';
import type { Auth } from '../http/auth.ts';
import { NotFoundError } from '../http/errors.ts';
import { icalendar, type CalendarEvent } from './ical.ts';
import { schedule } from './schedule.ts';
import { overrideSpec, rotationSpec } from './service.ts';
import * as store from './store.ts';
import { hashSecretHex, newSecret } from '../security/secrets.ts';

/** A calendar shows the last week (what just happened) and the next 92 days: the work is bounded by that. */
export const CALENDAR_PAST_DAYS = 7;
export const CALENDAR_FUTURE_DAYS = 92;
const DAY_MS = 86_400_000;

const sha256 = hashSecretHex;

type Owner = 'rotation' | 'responder';
const TABLE = { rotation: 'rotations', responder: 'responders' } as const;
const PATH = { rotation: 'rotations', responder: 'responders' } as const;

/**
 * On-call schedules as iCalendar behind secret links (a token in the URL, as Grafana OnCall and PagerDuty do):
 * staff make or replace a link; a calendar app fetches it with no other credential. Only the token's hash
 * is kept, so the link is shown once, when it is made.
 */
export class CalendarService {
  constructor(
    private readonly pool: Pool,
    private readonly audit: AuditService,
    private readonly publicUrl: string,
  ) {}

  /** A new secret link for a rotation (by id or name) or a responder; the old link stops working. */
  async newLink(auth: Auth, requestId: string, owner: Owner, idOrName: string) {
    const id = await this.ownerId(owner, idOrName);
    const token = newSecret('', 24);
    await withTx(this.pool, async (tx) => {
      await store.setCalendarToken(tx, TABLE[owner], id, sha256(token));
      await this.audit.record(tx, auth, requestId, {
        action: `${owner}.calendar_link`,
        targetType: owner,
        targetId: id,
        // Never the token: whoever reads the audit log must not be able to subscribe.
        after: { replaced: true },
      });
    });
    const path = `/api/v1/${PATH[owner]}/${id}/calendar.ics?token=${token}`;
    return { url: `${this.publicUrl}${path}`, token };
  }

  /** The calendar, when `token` is the current link's; otherwise 404, the same as for no such owner. */
  async calendar(owner: Owner, id: string, token: string | undefined): Promise<string> {
    if (!UUID.test(id) || !token || token.length > 200) throw new NotFoundError('calendar');
    if (!(await store.calendarTokenValid(this.pool, TABLE[owner], id, sha256(token))))
      throw new NotFoundError('calendar');
    const now = new Date();
    const from = new Date(now.getTime() - CALENDAR_PAST_DAYS * DAY_MS);
    const to = new Date(now.getTime() + CALENDAR_FUTURE_DAYS * DAY_MS);
    const rotations =
      owner === 'rotation'
        ? [(await store.findRotation(this.pool, id))!]
        : await store.listRotations(this.pool);
    const overrides = await store.overrides(
      this.pool,
      rotations.map((r) => r.id),
      from,
    );
    const shifts = rotations.flatMap((r) =>
      schedule(rotationSpec(r), overrides.filter((o) => o.rotation_id === r.id).map(overrideSpec), from, to)
        .filter((s) => owner === 'rotation' || s.responderId === id)
        .map((s) => ({ ...s, rotation: r })),
    );
    const names = await store.respondersById(this.pool, [
      ...new Set([id, ...shifts.map((s) => s.responderId)]),
    ]);
    const name = (who: string) => names.get(who)?.name ?? 'unknown';
    const events: CalendarEvent[] = shifts.map((s) => ({
      uid: `${s.rotation.id}-${s.start.getTime()}-${s.responderId}@concierge-ops`,
      start: s.start,
      end: s.end,
      summary:
        owner === 'rotation'
          ? `On call: ${name(s.responderId)} (${s.rotation.name})`
          : `On call: ${s.rotation.name}`,
      description:
        `Rotation ${s.rotation.name}: ${s.rotation.handoff} hand-off at ${s.rotation.handoff_time} ` +
        `${s.rotation.time_zone}${s.overrideId ? '; this shift is an override' : ''}.`,
    }));
    const title = owner === 'rotation' ? `On call: ${rotations[0]!.name}` : `On call: ${name(id)}`;
    return icalendar(title, events, now);
  }

  private async ownerId(owner: Owner, idOrName: string): Promise<string> {
    if (owner === 'rotation') {
      const r = await store.findRotation(this.pool, idOrName);
      if (!r) throw new NotFoundError('rotation');
      return r.id;
    }
    const r = UUID.test(idOrName) ? await store.findResponder(this.pool, idOrName) : undefined;
    if (!r) throw new NotFoundError('responder');
    return r.id;
  }
}
