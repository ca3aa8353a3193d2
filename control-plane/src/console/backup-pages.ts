import type { Router } from 'express';
import type { Context } from '../context.ts';
import { signedIn } from './guard.ts';
import { STAFF_ROLES } from './http.ts';
import { queryParam } from './ops-common.ts';
import type { Render } from './render.ts';

/** Runs and restore tests shown per instance: the newest few (the API's history route answers up to 1000). */
const HISTORY = 5;

/** Backups per client: each instance's status (freshness, verification, restore tests, missing slots). */
export function backupPages(router: Router, ctx: Context, render: Render): void {
  router.get('/backups', signedIn(STAFF_ROLES), async (req, res) => {
    const auth = req.console!.auth;
    const clients = await ctx.fleet.listClients(auth, 'active');
    const asked = queryParam(req, 'client', 64);
    const client = asked ? await ctx.fleet.getClient(auth, asked) : clients[0];
    const status = client ? await ctx.backups.clientStatus(auth, client.id) : undefined;
    const history = status
      ? await Promise.all(status.instances.map((s) => ctx.backups.history(auth, s.instance.id, HISTORY)))
      : [];
    render(req, res, 'backups', {
      title: 'Backups',
      clients,
      client,
      status,
      history: new Map(history.map((h) => [h.instance.id, h])),
    });
  });
}
