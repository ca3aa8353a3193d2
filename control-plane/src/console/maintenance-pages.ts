import type { Request, Response, Router } from 'express';
import type { Context } from '../context.ts';
import { ValidationError } from '../http/errors.ts';
import { DAY_MS } from '../http/range.ts';
import { check, compile } from '../http/validation.ts';
import * as maintenanceSchemas from '../maintenance/schemas.ts';
import type { WindowInput } from '../maintenance/service.ts';
import { WEEKDAYS } from '../maintenance/recurrence.ts';
import { signedIn } from './guard.ts';
import { STAFF_ROLES } from './http.ts';
import { formAction, list, localToIso, queryParam, refuseUnstorable, str } from './ops-common.ts';
import { fieldErrors, type Render } from './render.ts';

const createWindow = compile<WindowInput>(maintenanceSchemas.createWindow);
/** Occurrences the preview shows before saving. */
const PREVIEW_COUNT = 5;

type Values = Record<string, string | string[]>;

/** The form as typed: one-off (start, end) or recurring weekly/monthly, for a client or one instance. */
function valuesOf(b: Record<string, unknown>): Values {
  return {
    target: str(b.target, 120),
    kind: str(b.kind, 10) || 'once',
    start: str(b.start, 40),
    end: str(b.end, 40),
    reason: str(b.reason, 600),
    'recurrence.byDay': list(b['recurrence.byDay'], 7),
    'recurrence.nth': str(b['recurrence.nth'], 3),
    'recurrence.weekday': str(b['recurrence.weekday'], 3),
    'recurrence.startTime': str(b['recurrence.startTime'], 10),
    'recurrence.durationMinutes': str(b['recurrence.durationMinutes'], 10),
    'recurrence.until': str(b['recurrence.until'], 12),
  };
}

const num = (s: string): number | string => (/^-?\d{1,9}$/.test(s) ? Number(s) : s);

/**
 * The API's body from the form: times typed in the client's zone become instants; numbers typed stay text when
 * they are not numbers, so the API's schema names the field.
 */
function bodyOf(v: Values, zone: string): Record<string, unknown> {
  const [kind, ref] = (v.target as string).split(':', 2) as [string, string | undefined];
  const s = (k: string) => v[k] as string;
  const r =
    v.kind === 'weekly'
      ? { freq: 'weekly', byDay: v['recurrence.byDay'] }
      : v.kind === 'monthly'
        ? { freq: 'monthly', nth: num(s('recurrence.nth')), weekday: s('recurrence.weekday') }
        : undefined;
  return {
    ...(kind === 'instance' ? { instance: ref ?? '' } : { client: ref ?? '' }),
    start: localToIso(s('start'), zone),
    ...(s('end') ? { end: localToIso(s('end'), zone) } : {}),
    reason: s('reason'),
    ...(r
      ? {
          recurrence: {
            ...r,
            startTime: s('recurrence.startTime'),
            durationMinutes: num(s('recurrence.durationMinutes')),
            ...(s('recurrence.until') ? { until: s('recurrence.until') } : {}),
          },
        }
      : {}),
  };
}

/** The API names the target `/client` or `/instance`; the form has one field for both. */
function formErrors(errors: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(errors)) out[k === 'client' || k === 'instance' ? 'target' : k] ??= v;
  return out;
}

/** Maintenance windows: the live ones per client, create with a preview of the next occurrences, delete. */
export function maintenancePages(router: Router, ctx: Context, render: Render): void {
  const staff = signedIn(STAFF_ROLES);

  const page = async (req: Request, res: Response, extra: Record<string, unknown> = {}, status = 200) => {
    const auth = req.console!.auth;
    const client = queryParam(req, 'client', 64);
    const [clients, instances] = await Promise.all([
      ctx.fleet.listClients(auth, 'active'),
      ctx.fleet.listInstances(auth, { status: 'active', ...(client ? { client } : {}) }),
    ]);
    let windows: Awaited<ReturnType<Context['maintenance']['list']>> = [];
    let later: Awaited<ReturnType<Context['maintenance']['listLater']>> = { windows: [], more: false };
    let listProblem: string | undefined;
    // The next 30 days, then the windows that begin after them (one edge: each window is in one list).
    const from = new Date();
    const horizon = new Date(from.getTime() + 30 * DAY_MS);
    try {
      const q = client ? { client } : {};
      windows = await ctx.maintenance.list(auth, {
        ...q,
        from: from.toISOString(),
        to: horizon.toISOString(),
      });
      later = await ctx.maintenance.listLater(auth, q, horizon);
    } catch (err) {
      const bad = fieldErrors(err);
      if (!bad) throw err;
      listProblem = bad.message;
      status = status === 200 ? 400 : status;
    }
    render(
      req,
      res,
      'maintenance',
      {
        title: 'Maintenance windows',
        client,
        clients,
        zones: new Map(clients.map((c) => [c.id, c.timeZone])),
        targets: [
          ...clients.map((c) => [`client:${c.slug}`, `${c.name} (${c.slug}), every instance`]),
          ...instances.map((i) => [`instance:${i.id}`, `${i.client.slug}/${i.slug}`]),
        ],
        windows,
        later,
        listProblem,
        weekdays: WEEKDAYS,
        deleted: req.query.deleted === '1',
        created: queryParam(req, 'created', 200),
        values: { kind: 'once', ...(client ? { target: `client:${client}` } : {}) },
        ...extra,
      },
      status,
    );
  };

  router.get('/maintenance', staff, (req, res) => page(req, res));

  // One form, two buttons: "Preview" shows the next occurrences without saving; "Create" saves.
  router.post('/maintenance', staff, async (req, res) => {
    const auth = req.console!.auth;
    const b = req.body as Record<string, unknown>;
    const values = valuesOf(b);
    const intent = b.intent === 'create' ? 'create' : 'preview';
    await formAction(
      async () => {
        refuseUnstorable(values);
        // The zone the times are typed in: the client's (an instance's is its client's).
        const [kind, ref] = (values.target as string).split(':', 2);
        let zone = 'UTC';
        if (kind === 'client' && ref)
          zone = (await ctx.fleet.getClient(auth, ref).catch(() => undefined))?.timeZone ?? zone;
        else if (kind === 'instance' && ref) {
          const i = await ctx.fleet.getInstance(auth, ref).catch(() => undefined);
          if (i) zone = (await ctx.fleet.getClient(auth, i.client.id)).timeZone;
        } else
          throw new ValidationError('maintenance window is invalid', [
            { field: '/target', message: 'choose a client or an instance' },
          ]);
        const body = check(createWindow, bodyOf(values, zone));
        if (intent === 'preview') {
          const preview = await ctx.maintenance.preview(auth, body, PREVIEW_COUNT);
          return page(req, res, { values, preview });
        }
        const created = await ctx.maintenance.create(auth, req.id, body);
        const where = created.instance
          ? `${created.client.slug}/${created.instance.slug}`
          : created.client.slug;
        res.redirect(
          303,
          `/console/maintenance?client=${encodeURIComponent(created.client.slug)}&created=${encodeURIComponent(where)}#windows`,
        );
      },
      (errors) => page(req, res, { values, errors: formErrors(errors) }, 400),
    );
  });

  router.post('/maintenance/:id/delete', staff, async (req, res) => {
    await ctx.maintenance.remove(req.console!.auth, req.id, String(req.params.id).slice(0, 64));
    const client = str((req.body as Record<string, unknown>).client, 64);
    res.redirect(
      303,
      `/console/maintenance?${client ? `client=${encodeURIComponent(client)}&` : ''}deleted=1#windows`,
    );
  });
}
