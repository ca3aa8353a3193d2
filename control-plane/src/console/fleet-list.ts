import type { Request, Response } from 'express';
import type { Context } from '../context.ts';
import * as fleetSchemas from '../fleet/schemas.ts';
import type { InstanceQuery } from '../fleet/service.ts';
import { check, compile } from '../http/validation.ts';
import { grafanaLinks } from './grafana.ts';
import { fieldErrors, refuseUnstorable, type Render } from './render.ts';

/** Instances on one page of the fleet list: the page's weight does not grow with the fleet. */
export const FLEET_PAGE = 50;
const FILTERS = ['client', 'status', 'q'] as const;
const listQuery = compile<InstanceQuery>(fleetSchemas.listQuery);

/**
 * The fleet page: one page of instances (the API's GET /api/v1/instances with `limit` and `after`, through the
 * same service), filtered by client, state and words with the API's own query schema, so a bad filter is
 * named at its field and the page still draws.
 */
export function fleetList(ctx: Context, render: Render) {
  const grafana = grafanaLinks(ctx.config.console.grafanaUrl);
  return async (req: Request, res: Response, extra: object = {}, status = 200) => {
    const auth = req.console!.auth;
    const raw: Record<string, string> = {};
    for (const k of [...FILTERS, 'after'] as const) {
      const v = req.query[k];
      if (typeof v === 'string' && v !== '') raw[k] = v.slice(0, 200);
    }
    let q: InstanceQuery = {};
    let filterErrors: Record<string, string> = {};
    try {
      refuseUnstorable(raw);
      q = check(listQuery, raw, 'filters');
    } catch (err) {
      const bad = fieldErrors(err);
      if (!bad) throw err;
      filterErrors = bad.fields;
      status = 400;
    }
    const clients = await ctx.fleet.listClients(auth, 'all');
    // A client filter that names no client is the API's 404: here, a message at the filter.
    const page = await ctx.fleet
      .pageInstances(auth, { ...q, limit: String(FLEET_PAGE) })
      .catch((err: unknown) => {
        if ((err as { httpStatus?: number }).httpStatus !== 404) throw err;
        filterErrors = { client: 'must name a client of the fleet' };
        status = 400;
        return { instances: [], total: 0, next: null };
      });
    const params = new URLSearchParams();
    for (const k of FILTERS) if (q[k]) params.set(k, q[k]!);
    const base = params.size ? `?${params.toString()}&` : '?';
    render(
      req,
      res,
      'fleet',
      {
        clients,
        activeClients: clients.filter((c) => c.status === 'active'),
        instances: page.instances,
        total: page.total,
        q,
        filterErrors,
        first: q.after ? `/console/fleet${params.size ? `?${params.toString()}` : ''}` : null,
        next: page.next ? `/console/fleet${base}after=${encodeURIComponent(page.next)}` : null,
        grafana,
        ...extra,
      },
      status,
    );
  };
}
