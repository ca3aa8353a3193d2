import type { Request, Response, Router } from 'express';
import { DateTime } from 'luxon';
import type { Context } from '../context.ts';
import { ValidationError } from '../http/errors.ts';
import { check, compile } from '../http/validation.ts';
import * as oncallSchemas from '../oncall/schemas.ts';
import type { OverrideInput } from '../oncall/service.ts';
import { signedIn } from './guard.ts';
import { STAFF_ROLES } from './http.ts';
import { formAction, localToIso, queryParam, refuseUnstorable, str, when } from './ops-common.ts';
import type { Render } from './render.ts';

const createOverride = compile<OverrideInput>(oncallSchemas.createOverride);
/** Days the calendar shows at once: two weeks, then a link to the next two. */
const CALENDAR_DAYS = 14;

type Policies = Awaited<ReturnType<Context['policies']['list']>>;

/** The escalation levels that page a rotation: policy, level, delay and channels. */
function levelsPaging(policies: Policies, rotationId: string) {
  return policies.flatMap((p) =>
    p.levels
      .filter((l) => (l.targets.rotations ?? []).includes(rotationId))
      .map((l) => ({ policy: p, level: l })),
  );
}

/** The calendar's days from `start` (local, in the rotation's zone), each with who is on call when. */
function calendarDays(
  shifts: { start: string; end: string; responder: { name: string | null }; override: string | null }[],
  start: DateTime,
) {
  return Array.from({ length: CALENDAR_DAYS }, (_, i) => {
    const day = start.plus({ days: i });
    const next = day.plus({ days: 1 });
    const entries = shifts
      .filter((s) => Date.parse(s.start) < next.toMillis() && Date.parse(s.end) > day.toMillis())
      .map((s) => {
        const from = DateTime.fromISO(s.start, { zone: start.zone });
        const to = DateTime.fromISO(s.end, { zone: start.zone });
        return {
          who: s.responder.name ?? 'unknown responder',
          override: s.override !== null,
          from: from < day ? null : from.toFormat('HH:mm'),
          to: to >= next ? null : to.toFormat('HH:mm'),
          start: s.start,
        };
      });
    return { date: day.toISODate()!, label: day.toFormat('ccc d LLL'), entries };
  });
}

/** On call now, the schedule's calendar, overrides (add, remove). */
export function onCallPages(router: Router, ctx: Context, render: Render): void {
  const staff = signedIn(STAFF_ROLES);

  const page = async (req: Request, res: Response, extra: Record<string, unknown> = {}, status = 200) => {
    const [now, policies, responders] = await Promise.all([
      ctx.oncall.now({}),
      ctx.policies.list(),
      ctx.oncall.listResponders(),
    ]);
    const names = new Map(responders.map((r) => [r.id, r.name]));
    const rows = now.oncall.map((o) => ({ ...o, paging: levelsPaging(policies, o.rotation.id) }));
    const wanted = (extra.rotation as string | undefined) ?? queryParam(req, 'rotation', 200);
    const chosen = rows.find((r) => r.rotation.id === wanted || r.rotation.name === wanted) ?? rows[0];
    let calendar: ReturnType<typeof calendarDays> = [];
    let overrides: Awaited<ReturnType<Context['oncall']['getRotation']>>['overrides'] = [];
    const errors: Record<string, string> = { ...((extra.errors as Record<string, string>) ?? {}) };
    let from: DateTime | undefined;
    if (chosen) {
      const zone = chosen.rotation.timeZone;
      const asked = queryParam(req, 'from', 20);
      from = (asked ? DateTime.fromISO(asked, { zone }) : DateTime.now().setZone(zone)).startOf('day');
      if (
        asked &&
        (!/^\d{4}-\d{2}-\d{2}$/.test(asked) || !from.isValid || from.year < 1970 || from.year > 9998)
      ) {
        errors.from = 'must be a date (YYYY-MM-DD) from 1970 to 9998';
        from = DateTime.now().setZone(zone).startOf('day');
        status = 400;
      }
      const to = from.plus({ days: CALENDAR_DAYS });
      const [rotation, preview] = await Promise.all([
        ctx.oncall.getRotation(chosen.rotation.id),
        ctx.oncall.preview(chosen.rotation.id, { from: from.toUTC().toISO()!, to: to.toUTC().toISO()! }),
      ]);
      overrides = rotation.overrides;
      calendar = calendarDays(preview.shifts, from);
    }
    render(
      req,
      res,
      'oncall',
      {
        title: 'On call',
        at: now.at,
        rows,
        chosen,
        calendar,
        overrides,
        names,
        responders: responders.filter((r) => r.active),
        rotationNames: new Map(rows.map((r) => [r.rotation.id, r.rotation.name])),
        removed: queryParam(req, 'removed', 1) === '1',
        from: from?.toISODate(),
        earlier: from?.minus({ days: CALENDAR_DAYS }).toISODate(),
        later: from?.plus({ days: CALENDAR_DAYS }).toISODate(),
        ...extra,
        errors,
      },
      status,
    );
  };

  router.get('/oncall', staff, (req, res) => page(req, res));

  // Times are typed in the rotation's own zone (its hand-offs are), and sent to the API as instants.
  router.post('/oncall/:rotation/overrides', staff, async (req, res) => {
    const rotation = await ctx.oncall.getRotation(String(req.params.rotation).slice(0, 200));
    const b = req.body as Record<string, unknown>;
    const values = {
      responder: str(b.responder, 64),
      start: str(b.start, 40),
      end: str(b.end, 40),
      reason: str(b.reason, 600),
    };
    await formAction(
      async () => {
        refuseUnstorable(values);
        if (!values.start || !values.end)
          throw new ValidationError('override is invalid', [
            ...(values.start ? [] : [{ field: '/start', message: 'is required' }]),
            ...(values.end ? [] : [{ field: '/end', message: 'is required' }]),
          ]);
        const body = check(createOverride, {
          responder: values.responder,
          start: localToIso(values.start, rotation.timeZone),
          end: localToIso(values.end, rotation.timeZone),
          ...(values.reason ? { reason: values.reason } : {}),
        });
        const o = await ctx.oncall.addOverride(req.console!.auth, req.id, rotation.id, body);
        const who = (await ctx.oncall.listResponders()).find((r) => r.id === o.responderId)?.name;
        await page(
          req,
          res,
          {
            rotation: rotation.id,
            added: `${who ?? 'The responder'} is on call for ${rotation.name} from ${when(o.start, rotation.timeZone)} to ${when(o.end, rotation.timeZone)}.`,
          },
          201,
        );
      },
      (errors) => page(req, res, { rotation: rotation.id, errors, values }, 400),
    );
  });

  router.post('/oncall/:rotation/overrides/:id/delete', staff, async (req, res) => {
    const rotation = String(req.params.rotation).slice(0, 200);
    await ctx.oncall.removeOverride(req.console!.auth, req.id, rotation, String(req.params.id).slice(0, 64));
    res.redirect(303, `/console/oncall?rotation=${encodeURIComponent(rotation)}&removed=1#overrides`);
  });
}
