import crypto from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import type { Context } from '../context.ts';
import { hasUnstorable } from '../http/unstorable.ts';
import { cookieNames, equalSecret, isSecure, readCookie, setCookie } from './http.ts';

/** A page the browser shows as the answer to a refused or failed request. */
export class PageError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The synchronizer-token pattern: every POST carries `_csrf`, which must equal the token stored in the
 * session (signed in) or, before sign-in, the random value of a pre-session cookie (so a sign-in form
 * cannot be posted from another site either). A mismatch changes nothing and answers 403.
 */
export function csrfCheck(ctx: Context) {
  return (req: Request, _res: Response, next: NextFunction) => {
    if (req.method !== 'POST') return next();
    const sent = (req.body as Record<string, unknown> | undefined)?._csrf;
    const expected =
      req.console?.csrf ?? readCookie(req, cookieNames(isSecure(req, ctx.config.publicUrl)).pre);
    if (typeof sent !== 'string' || !expected || !equalSecret(sent, expected))
      throw new PageError(
        403,
        'This form has expired or did not come from this console. Reload the page and try again.',
      );
    next();
  };
}

/** The CSRF value for a form before sign-in: the pre-session cookie's, set now when missing. */
export function preToken(ctx: Context, req: Request, res: Response): string {
  const name = cookieNames(isSecure(req, ctx.config.publicUrl)).pre;
  const have = readCookie(req, name);
  if (have) return have;
  const v = crypto.randomBytes(24).toString('base64url');
  setCookie(res, req, ctx.config.publicUrl, name, v);
  return v;
}

/** Only a fully signed-in user (password and, for staff, the second factor) of one of `roles` passes. */
export function signedIn(roles: readonly string[]) {
  return (req: Request, res: Response, next: NextFunction) => {
    const c = req.console;
    if (!c || c.stage !== 'full') {
      if (req.method === 'GET' && !req.path.endsWith('/events'))
        return res.redirect(303, '/console/signin?next=' + encodeURIComponent(req.originalUrl.slice(0, 500)));
      throw new PageError(401, 'You are signed out (your session ended). Sign in again.');
    }
    if (!roles.includes(c.user.role))
      throw new PageError(403, `This page is not open to the ${c.user.role} role.`);
    next();
  };
}

/**
 * A path that is not valid UTF-8 or holds NUL or a lone surrogate names nothing here: 404 before any service
 * sees it (PostgreSQL would refuse such text with an error, a 500).
 */
export function plainPath(req: Request, _res: Response, next: NextFunction) {
  let path: string;
  try {
    path = decodeURIComponent(req.path);
  } catch {
    throw new PageError(404, 'No such page.');
  }
  if (hasUnstorable(path)) throw new PageError(404, 'No such page.');
  next();
}
