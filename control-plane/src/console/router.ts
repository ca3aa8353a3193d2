import express, { type NextFunction, type Request, type Response } from 'express';
import helmet from 'helmet';
import type { Context } from '../context.ts';
import { AppError } from '../http/errors.ts';
import { errorMessage } from '@concierge-ops/shared/errors';
import { adminPages } from './admin-pages.ts';
import { authPages } from './auth-pages.ts';
import { fleetPages } from './fleet-pages.ts';
import { PageError, csrfCheck } from './guard.ts';
import { PUBLIC_DIR, eta, loadSession } from './http.ts';
import { incidentPages } from './incident-pages.ts';
import { oidcPages } from './oidc-pages.ts';
import { renderer } from './render.ts';

/**
 * The operators' console at /console/: server-rendered pages (eta templates in control-plane/views), one small
 * script for the live list, sessions in PostgreSQL, CSRF tokens on every form, a CSP with no inline script.
 */
export function consoleRouter(ctx: Context): express.Router {
  const router = express.Router();
  const views = eta(ctx.config.logLevel !== 'debug');
  const render = renderer(views);
  router.use(
    helmet({
      contentSecurityPolicy: {
        useDefaults: false,
        directives: {
          defaultSrc: ["'none'"],
          scriptSrc: ["'self'"],
          styleSrc: ["'self'"],
          imgSrc: ["'self'", 'data:'],
          connectSrc: ["'self'"],
          formAction: ["'self'"],
          frameAncestors: ["'none'"],
          baseUri: ["'none'"],
        },
      },
      // HSTS only means something over TLS; helmet sends it either way, and browsers ignore it on http.
      strictTransportSecurity: { maxAge: 31536000, includeSubDomains: false },
    }),
  );
  router.use((_req, res, next) => {
    // Pages show incidents and contacts: never kept by a shared cache or the browser's back-forward store.
    res.setHeader('Cache-Control', 'no-store');
    next();
  });
  router.use('/static', express.static(PUBLIC_DIR, { index: false, maxAge: '1h', fallthrough: false }));
  router.use(express.urlencoded({ extended: false, limit: '64kb', parameterLimit: 100 }));
  router.use(loadSession(ctx));
  router.use(csrfCheck(ctx));
  router.get('/', (req, res) =>
    res.redirect(303, req.console?.stage === 'full' ? '/console/incidents' : '/console/signin'),
  );
  authPages(router, ctx, render);
  oidcPages(router, ctx);
  incidentPages(router, ctx, render, views);
  fleetPages(router, ctx, render);
  adminPages(router, ctx, render);
  router.use(() => {
    throw new PageError(404, 'No such page.');
  });
  router.use((err: unknown, req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(err);
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
