import express, { type Request, type Response } from 'express';
import type { Context } from '../context.ts';
import type { Auth } from '../http/auth.ts';
import { pageHeaders } from '../console/headers.ts';
import { PageError, plainPath } from '../console/guard.ts';
import { eta } from '../console/http.ts';
import { renderer } from '../console/render.ts';
import { overview } from './overview.ts';
import { pageErrors } from './router.ts';
import { when } from './format.ts';

/** How long browsers and shared caches may keep the page: a short while, so an outage shows within a minute. */
const MAX_AGE_SECONDS = 30;

/**
 * A client's public status page at /status/<token>: no session, no cookie, cacheable. It reads through the
 * services as its client (a client caller), so the tenant rules and the client view apply, and then shows
 * less still: states, the public summary and public updates of open incidents, and maintenance times; never
 * an incident's title, a maintenance reason, or the client's name unless the client chose to show it.
 */
export function statusPageRouter(ctx: Context): express.Router {
  const router = express.Router();
  const render = renderer(eta(ctx.config.logLevel !== 'debug'));
  router.use(pageHeaders());
  router.use(plainPath);
  router.get('/:token', async (req: Request, res: Response) => {
    const page = await ctx.statusPages.open(String(req.params.token).slice(0, 100));
    if (!page) throw new PageError(404, 'There is no status page at this address.');
    const auth: Auth = {
      tokenId: 'status-page',
      name: 'public status page',
      role: 'client',
      clientId: page.clientId,
    };
    const o = await overview(ctx, auth, page.clientId);
    const incidents = o.incidents
      .filter((i) => i.incident.publicSummary || i.updates.length > 0)
      .map((i) => ({
        openedAt: i.incident.openedAt,
        status: i.incident.status,
        summary: i.incident.publicSummary,
        updates: i.updates,
      }));
    // Without the name, instances are numbered: their slugs usually carry the client's name.
    const instances = o.instances.map((i, k) => ({
      ...i,
      label: page.showName ? i.slug : `Assistant ${k + 1} (${i.environment})`,
    }));
    const maintenance = o.maintenance.map((m) => ({
      start: m.start,
      end: m.end,
      instance:
        m.instance === null
          ? 'All assistants'
          : (instances.find((i) => i.slug === m.instance)?.label ?? 'One assistant'),
    }));
    res.setHeader('Cache-Control', `public, max-age=${MAX_AGE_SECONDS}`);
    // Express answers with an ETag of the body, and 304 to a request that sends it back unchanged.
    render(req, res, 'portal/status', {
      name: page.showName ? o.client.name : null,
      instances,
      incidents,
      maintenance,
      zone: o.client.timeZone,
      when,
      // To the minute: the page (and its ETag) stays the same within a minute when nothing changed.
      generatedAt: new Date(Math.floor(Date.now() / 60_000) * 60_000).toISOString(),
    });
  });
  router.use(() => {
    throw new PageError(404, 'There is no status page at this address.');
  });
  router.use((err: unknown, req: Request, res: Response, next: express.NextFunction) => {
    // An unknown or rotated address must not be cached as one that works, nor the other way round.
    res.setHeader('Cache-Control', 'no-store');
    pageErrors(ctx, render, 'portal/status-error', 'status page')(err, req, res, next);
  });
  return router;
}
