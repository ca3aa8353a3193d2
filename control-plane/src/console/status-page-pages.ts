import type { Router } from 'express';
import type { Context } from '../context.ts';
import { check, compile } from '../http/validation.ts';
import * as schemas from '../status-pages/schemas.ts';
import { signedIn } from './guard.ts';
import { STAFF_ROLES } from './http.ts';
import type { Render } from './render.ts';

const settingsBody = compile<schemas.SettingsInput>(schemas.settingsBody);

/** Clients' public status pages: switch on or off, show the name or not, rotate the address (docs/portal.md). */
export function statusPagePages(router: Router, ctx: Context, render: Render): void {
  const staff = signedIn(STAFF_ROLES);
  const list = async (req: Parameters<Render>[0], res: Parameters<Render>[1], extra: object = {}) => {
    const pages = await ctx.statusPages.list(req.console!.auth);
    render(req, res, 'status-pages', { pages, ...extra });
  };

  router.get('/status-pages', staff, (req, res) => list(req, res));

  // A form's checkboxes are sent only when ticked: absent means false, as the API's body says it.
  router.post('/status-pages/:client', staff, async (req, res) => {
    const body = check(settingsBody, {
      enabled: req.body.enabled === 'on',
      showName: req.body.showName === 'on',
    });
    const done = await ctx.statusPages.set(
      req.console!.auth,
      req.id,
      String(req.params.client).slice(0, 64),
      body,
    );
    await list(req, res, { saved: done.client.slug, url: done.url });
  });

  router.post('/status-pages/:client/rotate', staff, async (req, res) => {
    const done = await ctx.statusPages.rotate(
      req.console!.auth,
      req.id,
      String(req.params.client).slice(0, 64),
    );
    await list(req, res, { saved: done.client.slug, url: done.url });
  });
}
