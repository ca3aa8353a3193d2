import express, { type NextFunction, type Request, type Response } from 'express';
import type { Context } from '../context.ts';
import { AppError } from '../http/errors.ts';
import { errorMessage } from '@concierge-ops/shared/errors';
import { pageHeaders } from '../console/headers.ts';
import { PageError, csrfCheck, plainPath, signedIn } from '../console/guard.ts';
import { eta, loadSession } from '../console/http.ts';
import { renderer, type Render } from '../console/render.ts';
import { portalPages } from './pages.ts';

/**
 * The portal is for a clinic's own people (the `client` role, bound to one client). Staff are told so rather
 * than shown a client's portal: every page reads through the services as its caller, and a staff caller gets
 * the staff view (internal summaries, operators' names), so a "staff preview" would not show what the clinic
 * sees; staff read any client in the console and the API.
 */
const clientUser = [
  signedIn(['admin', 'operator', 'client']),
  (req: Request, _res: Response, next: NextFunction) => {
    const c = req.console!;
    if (c.user.role !== 'client' || !c.auth.clientId)
      throw new PageError(
        403,
        "The portal is for clinics' own users. Staff see every client, with internal notes, in the console.",
      );
    next();
  },
];

/** Error pages in the portal's own layout; 500s logged with their cause, never shown. */
export function pageErrors(ctx: Context, render: Render, view: string, what: string) {
  return (err: unknown, req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(err);
    const status =
      err instanceof PageError
        ? err.status
        : err instanceof AppError && err.httpStatus < 500
          ? err.httpStatus
          : 500;
    if (status === 500) ctx.log.error({ err: errorMessage(err), path: req.route?.path }, `${what} failed`);
    const message =
      status === 500
        ? 'Something went wrong on our side. The error is logged; try again in a moment.'
        : status === 404 && !(err instanceof PageError)
          ? 'There is no such page here.'
          : (err as Error).message;
    render(req, res, view, { status, message }, status);
  };
}

/**
 * The clients' portal at /portal/: a clinic's users read their own instances' state, open incidents with the
 * provider's public updates, maintenance, SLA, sent reports and backup evidence. Built on the console's
 * accounts, sessions, CSRF and CSP (console/): signing in happens at /console/signin, which sends a client
 * user here.
 */
export function portalRouter(ctx: Context): express.Router {
  const router = express.Router();
  const views = eta(ctx.config.logLevel !== 'debug');
  const render = renderer(views);
  router.use(pageHeaders());
  router.use((_req, res, next) => {
    // A clinic's incidents and reports: never kept by a shared cache or the back-forward store.
    res.setHeader('Cache-Control', 'no-store');
    next();
  });
  router.use(plainPath);
  router.use(loadSession(ctx));
  router.use(csrfCheck(ctx));
  router.use(clientUser);
  portalPages(router, ctx, render);
  router.use(() => {
    throw new PageError(404, 'No such page.');
  });
  router.use(pageErrors(ctx, render, 'portal/error', 'portal page'));
  return router;
}
