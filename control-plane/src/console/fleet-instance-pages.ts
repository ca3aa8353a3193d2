import type { Request, Response, Router } from 'express';
import type { Context } from '../context.ts';
import * as faroSchemas from '../faro/schemas.ts';
import * as fleetSchemas from '../fleet/schemas.ts';
import type { InstancePatch } from '../fleet/types.ts';
import { num, PROBE_FIELDS, probeFromForm, probeToForm } from './probe-form.ts';
import { check, compile } from '../http/validation.ts';
import { putFlash, takeFlash } from './flash.ts';
import { grafanaLinks } from './grafana.ts';
import { PageError, signedIn } from './guard.ts';
import { STAFF_ROLES } from './http.ts';
import { fieldErrors, refuseUnstorable, type Render } from './render.ts';

const updateInstance = compile<InstancePatch>(fleetSchemas.updateInstance);
const createKey = compile<faroSchemas.KeyInput>(faroSchemas.createKey);
const rotateKey = compile<faroSchemas.RotateInput>(faroSchemas.rotateKey);
const KEEP_SPACES = new Set(['bodyRegex', 'bodyJson.equals']);
const str = (v: unknown, max = 2048) => (typeof v === 'string' ? v.slice(0, max).trim() : '');
const lines = (v: string) =>
  v
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean)
    .slice(0, 50);

/**
 * An instance's page: edit it and its services (the API's PATCH /api/v1/instances/{id}), decommission it after
 * typing its name, and its Faro app keys (create, rotate, revoke as the API's faro-keys routes allow). Every
 * action calls the service the API's route calls, with the person as caller; field errors land at the fields,
 * whose names are the API body's JSON pointers (`services.0.probe.url` for `/services/0/probe/url`).
 */
export function fleetInstancePages(router: Router, ctx: Context, render: Render): void {
  const staff = signedIn(STAFF_ROLES);
  const grafana = grafanaLinks(ctx.config.console.grafanaUrl);
  const idOf = (req: Request) => String(req.params.id).slice(0, 64);
  const here = (res: Response, id: string, anchor = '') =>
    res.redirect(303, `/console/fleet/instances/${encodeURIComponent(id)}${anchor}`);

  const page = async (req: Request, res: Response, extra: object = {}, status = 200) => {
    const auth = req.console!.auth;
    const instance = await ctx.fleet.getInstance(auth, idOf(req));
    const keys = await ctx.faro.listKeys(auth, instance.id);
    render(
      req,
      res,
      'instance',
      {
        instance,
        keys,
        // Each service's form as stored: its name, kind and every probe setting as text.
        serviceForms: instance.services.map((s, n) => ({
          [`services.${n}.name`]: s.name,
          [`services.${n}.kind`]: s.kind,
          ...probeToForm(`services.${n}`, s.probe),
        })),
        grafana: grafana?.instance(instance.client.slug, instance.slug),
        saved: typeof req.query.saved === 'string' ? req.query.saved.slice(0, 40) : undefined,
        title: `${instance.client.slug}/${instance.slug}`,
        ...extra,
      },
      status,
    );
  };

  /** Runs `act`; a 400 (or a 409 the person can fix) re-renders the page with the errors at the fields. */
  const acting = async (
    req: Request,
    res: Response,
    form: string,
    values: Record<string, string>,
    act: () => Promise<unknown>,
    done: (result: unknown) => Promise<unknown> | unknown,
  ) => {
    let result: unknown;
    try {
      refuseUnstorable(req.body);
      result = await act();
    } catch (err) {
      const bad = fieldErrors(err);
      const status = (err as { httpStatus?: number }).httpStatus;
      if (!bad || (status !== 400 && status !== 409)) throw err;
      return page(
        req,
        res,
        { errors: { [`${form}._form`]: bad.message, ...bad.fields }, values, form },
        status,
      );
    }
    return done(result);
  };

  // A Faro key just issued (below) is shown here once, from the flash, on its own instance's page only.
  router.get('/fleet/instances/:id', staff, async (req, res) => {
    const flash = await takeFlash<{ instanceId: string; issued: object }>(ctx, req, res, 'faro-key');
    const instance = await ctx.fleet.getInstance(req.console!.auth, idOf(req));
    return page(req, res, flash?.instanceId === instance.id ? { issued: flash.issued } : {});
  });

  // An empty endpoint field removes that endpoint (null in the API's PATCH), so the form says what is registered.
  router.post('/fleet/instances/:id', staff, (req, res) => {
    const b = req.body as Record<string, unknown>;
    const values = {
      environment: str(b.environment, 200),
      baseUrl: str(b.baseUrl),
      metricsUrl: str(b.metricsUrl),
      nodeExporterUrl: str(b.nodeExporterUrl),
      postgresExporterUrl: str(b.postgresExporterUrl),
    };
    const body: Record<string, unknown> = {
      environment: values.environment,
      baseUrl: values.baseUrl,
      metricsUrl: values.metricsUrl || null,
      nodeExporterUrl: values.nodeExporterUrl || null,
      postgresExporterUrl: values.postgresExporterUrl || null,
    };
    return acting(
      req,
      res,
      'instance',
      values,
      () => ctx.fleet.updateInstance(req.console!.auth, req.id, idOf(req), check(updateInstance, body)),
      () => here(res, idOf(req), '?saved=instance#edit'),
    );
  });

  // One service edited: the API replaces services as a whole, so the others are sent as they are. The probe's
  // type stays (its fields are the type's); each of its settings is a field, empty meaning "not set".
  router.post('/fleet/instances/:id/services/:n', staff, async (req, res) => {
    const auth = req.console!.auth;
    const instance = await ctx.fleet.getInstance(auth, idOf(req));
    const n = Number(req.params.n);
    const cur = instance.services[n];
    if (!Number.isInteger(n) || !cur) throw new PageError(404, 'The instance has no such service.');
    const b = req.body as Record<string, unknown>;
    const p = `services.${n}`;
    const values: Record<string, string> = {
      [`${p}.name`]: str(b[`${p}.name`], 200),
      [`${p}.kind`]: str(b[`${p}.kind`], 64),
    };
    for (const [field, max] of PROBE_FIELDS[cur.probe.type]) {
      const v = b[`${p}.probe.${field}`];
      // A regex and a compared value keep their spaces: they are part of what is matched.
      values[`${p}.probe.${field}`] =
        KEEP_SPACES.has(field) && typeof v === 'string' ? v.slice(0, max) : str(v, max);
    }
    const probe = probeFromForm(cur.probe.type, (field) => values[`${p}.probe.${field}`] ?? '');
    const services = instance.services.map((s, i) =>
      i === n ? { name: values[`${p}.name`], kind: values[`${p}.kind`], probe } : s,
    );
    return acting(
      req,
      res,
      `service-${n}`,
      values,
      () => ctx.fleet.updateInstance(auth, req.id, instance.id, check(updateInstance, { services })),
      () => here(res, instance.id, `?saved=service-${n}#service-${n}`),
    );
  });

  router.get('/fleet/instances/:id/decommission', staff, async (req, res) => {
    const instance = await ctx.fleet.getInstance(req.console!.auth, idOf(req));
    render(req, res, 'decommission', { instance, title: `Decommission ${instance.slug}` });
  });

  // The confirmation: the person types the instance's name, so a slip of the finger decommissions nothing.
  router.post('/fleet/instances/:id/decommission', staff, async (req, res) => {
    const auth = req.console!.auth;
    const instance = await ctx.fleet.getInstance(auth, idOf(req));
    const typed = str(req.body.confirm, 200);
    if (typed !== instance.slug)
      return render(
        req,
        res,
        'decommission',
        {
          instance,
          title: `Decommission ${instance.slug}`,
          values: { confirm: typed },
          errors: { confirm: `must be the instance's name, ${instance.slug}, typed exactly` },
        },
        400,
      );
    await ctx.fleet.decommissionInstance(auth, req.id, instance.id);
    here(res, instance.id, '?saved=decommissioned');
  });

  const origins = (b: Record<string, unknown>) => {
    const list = lines(str(b.allowedOrigins, 20_000));
    return list.length ? { allowedOrigins: list } : {};
  };

  // POST-redirect-GET, as for API tokens: a new key crosses the redirect sealed in a one-time flash and is
  // shown once by the page after it, so reloading that page issues no second key.
  const issuedOnce = async (req: Request, res: Response, issued: unknown) => {
    const instance = await ctx.fleet.getInstance(req.console!.auth, idOf(req));
    await putFlash(ctx, req, res, 'faro-key', { instanceId: instance.id, issued });
    here(res, instance.id, '#faro');
  };
  router.post('/fleet/instances/:id/faro-keys', staff, (req, res) => {
    const b = req.body as Record<string, unknown>;
    const values = { allowedOrigins: str(b.allowedOrigins, 20_000) };
    return acting(
      req,
      res,
      'faro',
      values,
      () => ctx.faro.createKey(req.console!.auth, req.id, idOf(req), check(createKey, origins(b))),
      (issued) => issuedOnce(req, res, issued),
    );
  });

  router.post('/fleet/instances/:id/faro-keys/rotate', staff, (req, res) => {
    const b = req.body as Record<string, unknown>;
    const values = { graceSeconds: str(b.graceSeconds, 20) };
    return acting(
      req,
      res,
      'faro',
      values,
      () =>
        ctx.faro.rotateKey(
          req.console!.auth,
          req.id,
          idOf(req),
          check(rotateKey, values.graceSeconds ? { graceSeconds: num(values.graceSeconds) } : {}),
        ),
      (issued) => issuedOnce(req, res, issued),
    );
  });

  router.post('/fleet/instances/:id/faro-keys/revoke', staff, (req, res) =>
    acting(
      req,
      res,
      'faro',
      {},
      () => ctx.faro.revokeKeys(req.console!.auth, req.id, idOf(req)),
      () => here(res, idOf(req), '?saved=revoked#faro'),
    ),
  );
}
