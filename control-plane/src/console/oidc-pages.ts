import type { Response, Router } from 'express';
import { SigninAddressLimit } from '../users/address-limit.ts';
import type { Context } from '../context.ts';
import { OidcRefusal, OidcSignin } from '../users/oidc.ts';
import { safeNext, startSession } from './auth-pages.ts';
import { PageError } from './guard.ts';
import { isSecure, readCookie, setCookie } from './http.ts';

export const OIDC_CALLBACK = '/console/signin/oidc/callback';

/**
 * Single sign-on for staff through the OpenID Connect provider in CONSOLE_OIDC_*: the sign-in page's link starts
 * here (a GET: the CSP's form-action 'self' would stop a form's redirect to the provider, and starting a sign-in
 * changes nothing), the browser goes to the provider and comes back to the callback, which starts a console
 * session at the second-factor step, as a password would.
 */
export function oidcPages(router: Router, ctx: Context): void {
  const config = ctx.config.console.oidc;
  if (!config) return;
  const oidc = new OidcSignin(
    ctx.pool,
    ctx.audit,
    ctx.users,
    config,
    ctx.config.publicUrl + OIDC_CALLBACK,
    ctx.log,
  );
  const cookieName = (secure: boolean) => (secure ? '__Host-cop_oidc' : 'cop_oidc');
  // The password sign-in's per-address limit (CONSOLE_SIGNIN_ADDRESS_*), shared with it: each start counts (it
  // writes a row and sends the browser to the provider), a finished sign-in takes its count back, so starts that
  // never come back, and refused callbacks, add up with wrong passwords from the same address.
  const addressLimit = new SigninAddressLimit(
    ctx.pool,
    ctx.audit,
    ctx.config.console.signinAddressAttempts,
    ctx.config.console.signinAddressSeconds,
  );
  const tooMany = (res: Response, retryAfterSeconds: number) => {
    res.setHeader('Retry-After', String(retryAfterSeconds));
    const minutes = Math.ceil(retryAfterSeconds / 60);
    return new PageError(
      429,
      `Too many failed sign-ins from your network address. Try again in ${minutes} minute${minutes === 1 ? '' : 's'}.`,
    );
  };

  router.get('/signin/oidc', async (req, res) => {
    // Before anything is written: an address over its limit costs one indexed read.
    const allowed = await addressLimit.check(req.ip);
    if (!allowed.ok) throw tooMany(res, allowed.retryAfterSeconds);
    await addressLimit.fail(req.ip);
    try {
      const { url, state } = await oidc.start(safeNext(req.query.next));
      // Binds the provider's answer to this browser; the state's hash, nonce and verifier are in the database.
      setCookie(res, req, ctx.config.publicUrl, cookieName(isSecure(req, ctx.config.publicUrl)), state, 600);
      res.redirect(303, url);
    } catch (err) {
      if (err instanceof OidcRefusal) throw new PageError(err.status, err.message);
      throw err;
    }
  });

  router.get('/signin/oidc/callback', async (req, res) => {
    const name = cookieName(isSecure(req, ctx.config.publicUrl));
    const state = readCookie(req, name);
    res.clearCookie(name, { path: '/' });
    // The URL the provider redirected to, as registered (PUBLIC_URL), with the query it added.
    const callback = new URL(ctx.config.publicUrl + OIDC_CALLBACK);
    callback.search = new URL(req.originalUrl, 'http://x').search;
    const allowed = await addressLimit.check(req.ip);
    if (!allowed.ok) throw tooMany(res, allowed.retryAfterSeconds);
    try {
      const { user, next } = await oidc.finish(callback, state, req.ip ?? null);
      await addressLimit.refund(req.ip);
      // The console's own second factor is still asked for (docs/console.md, "Single sign-on").
      const stage = user.totp_secret ? 'password' : 'totp-setup';
      await startSession(ctx, req, res, user.id, stage);
      const step = stage === 'password' ? '/console/signin/code' : '/console/signin/setup';
      res.redirect(303, `${step}?next=${encodeURIComponent(next)}`);
    } catch (err) {
      if (err instanceof OidcRefusal) throw new PageError(err.status, err.message);
      throw err;
    }
  });
}
