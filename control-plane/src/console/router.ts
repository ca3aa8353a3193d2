import express, { type NextFunction, type Request, type Response } from 'express';
import type { Context } from '../context.ts';
import { AppError } from '../http/errors.ts';
import { errorMessage } from '@concierge-ops/shared/errors';
import { adminPages } from './admin-pages.ts';
import { authPages } from './auth-pages.ts';
import { fleetInstancePages } from './fleet-instance-pages.ts';
import { fleetPages } from './fleet-pages.ts';
import { pageHeaders } from './headers.ts';
import { PageError, csrfCheck, plainPath } from './guard.ts';
import { PUBLIC_DIR, eta, loadSession } from './http.ts';
import { incidentActions } from './incident-actions.ts';
import { incidentPages } from './incident-pages.ts';
import { opsPages } from './ops-pages.ts';
import { oidcPages } from './oidc-pages.ts';
import { renderer } from './render.ts';
import { statusPagePages } from './status-page-pages.ts';

const FORM_ERRORS: Record<string, { status: number; message: string }> = {
  'entity.too.large': { status: 413, message: 'This form is too large to send. Shorten what you typed.' },
  'parameters.too.many': { status: 413, message: 'This form has too many fields to send.' },
  'charset.unsupported': {
    status: 415,
    message: 'This form was sent in a character set the console does not read.',
  },
  'encoding.unsupported': {
    status: 415,
    message: 'This form was sent compressed in a way the console does not read.',
  },
};

/**
 * The operators' console at /console/: server-rendered pages (eta templates in control-plane/views), one small
 * script for the live list, sessions in PostgreSQL, CSRF tokens on every form, a CSP with no inline script.
 */
export function consoleRouter(ctx: Context): express.Router {
  const router = express.Router();
  const views = eta(ctx.config.logLevel !== 'debug');
  const render = renderer(views);
  router.use(pageHeaders());
  router.use((_req, res, next) => {
    // Pages show incidents and contacts: never kept by a shared cache or the browser's back-forward store.
    res.setHeader('Cache-Control', 'no-store');
    next();
  });
  router.use('/static', express.static(PUBLIC_DIR, { index: false, maxAge: '1h', fallthrough: false }));
  // 64 kB bounds the work; the field count allows an escalation policy's level form (21 levels, each with its
  // channels, hours and off-hours channels ticked: about 55 fields a level).
  router.use(express.urlencoded({ extended: false, limit: '64kb', parameterLimit: 1500 }));
  router.use(plainPath);
  router.use(loadSession(ctx));
  router.use(csrfCheck(ctx));
  router.get('/', (req, res) =>
    res.redirect(
      303,
      req.console?.stage !== 'full'
        ? '/console/signin'
        : // A clinic's user has nothing to do in the console: the clients' portal is theirs.
          req.console.user.role === 'client'
          ? '/portal/'
          : '/console/incidents',
    ),
  );
  authPages(router, ctx, render);
  oidcPages(router, ctx);
  incidentPages(router, ctx, render, views);
  incidentActions(router, ctx, render);
  fleetPages(router, ctx, render);
  fleetInstancePages(router, ctx, render);
  statusPagePages(router, ctx, render);
  opsPages(router, ctx, render);
  adminPages(router, ctx, render);
  router.use(() => {
    throw new PageError(404, 'No such page.');
  });
  router.use((err: unknown, req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(err);
    // The form parser's refusals (too large, too many fields, a bad charset) are the sender's, not ours.
    const form = FORM_ERRORS[(err as { type?: string }).type ?? ''];
    if (form) return render(req, res, 'error', form, form.status);
    const status =
      err instanceof PageError
        ? err.status
        : err instanceof AppError && err.httpStatus < 500
          ? err.httpStatus
          : 500;
    if (status === 500)
      ctx.log.error({ err: errorMessage(err), path: req.route?.path }, 'console page failed');
    const message =
      status === 500
        ? 'Something went wrong on our side. The error is logged; try again in a moment.'
        : (err as Error).message;
    render(req, res, 'error', { status, message }, status);
  });
  return router;
}
