import crypto from 'node:crypto';
import type { Request, Response, Router } from 'express';
import type { Context } from '../context.ts';
import { needsTotp } from '../users/service.ts';
import * as sessions from '../users/sessions.ts';
import { totpUri } from '../users/totp.ts';
import { loadQrcode } from '../lazy.ts';
import { SigninAddressLimit } from '../users/address-limit.ts';
import { cookieNames, isSecure, setCookie } from './http.ts';
import { PageError, preToken } from './guard.ts';
import { fieldErrors, type Render } from './render.ts';

/**
 * What the set-up page shows for a TOTP secret: the key in groups of four, the otpauth:// URI, and that URI as a
 * QR code in a data: PNG (drawn here, so no script is needed and the CSP's img-src 'self' data: allows it).
 * Error correction M and a 4-module quiet zone: what phone cameras read reliably from a laptop screen.
 */
async function totpSetup(secret: string, email: string) {
  const uri = totpUri(secret, email);
  const qr = await loadQrcode().toDataURL(uri, { errorCorrectionLevel: 'M', margin: 4, scale: 5 });
  // The PNG's width (its IHDR, bytes 16-19) as the img's size: the page does not jump when it loads.
  const start = qr.indexOf(',') + 1;
  const size = Buffer.from(qr.slice(start, start + 40), 'base64').readUInt32BE(16);
  return { secret: secret.replace(/(.{4})/g, '$1 ').trim(), uri, qr, size, email };
}

const str = (v: unknown, max = 1000) => (typeof v === 'string' ? v.slice(0, max) : '');
/**
 * Only a path inside the console or the clients' portal may be where sign-in returns to (no open redirect).
 * The default, /console/, sends each person on to their own pages (staff to incidents, clients to the portal).
 */
export const safeNext = (v: unknown) => {
  const s = str(v, 500);
  return /^\/(console|portal)\/[A-Za-z0-9/_\-?=&.%]*$/.test(s) && !s.startsWith('//') ? s : '/console/';
};

/**
 * Starts a console session for `userId` at `stage`: a new id at every sign-in (no session fixation), and a
 * half-finished earlier one is dropped. Used by the password and the single sign-on paths alike.
 */
export async function startSession(
  ctx: Context,
  req: Request,
  res: Response,
  userId: string,
  stage: sessions.DbSession['stage'],
): Promise<void> {
  if (req.console) await sessions.deleteSession(ctx.pool, req.console.sessionId);
  const id = crypto.randomBytes(32).toString('base64url');
  await sessions.insertSession(ctx.pool, {
    id,
    userId,
    stage,
    csrf: crypto.randomBytes(24).toString('base64url'),
    absoluteSeconds: ctx.config.console.absoluteSeconds,
  });
  setCookie(res, req, ctx.config.publicUrl, cookieNames(isSecure(req, ctx.config.publicUrl)).session, id);
}

/** Sign-in with password and second factor, first TOTP set-up, invite and reset links, sign-out. */
export function authPages(router: Router, ctx: Context, render: Render): void {
  const lockMinutes = Math.round(ctx.config.console.lockoutSeconds / 60);
  /** The single sign-on button's provider name, when one is configured. */
  const oidcName = ctx.config.console.oidc?.name;
  const addressLimit = new SigninAddressLimit(
    ctx.pool,
    ctx.audit,
    ctx.config.console.signinAddressAttempts,
    ctx.config.console.signinAddressSeconds,
  );
  /** The answer to an address over its limit: the sign-in form again, with when to retry, and Retry-After. */
  const tooMany = (req: Request, res: Response, retryAfterSeconds: number, values: object = {}) => {
    res.setHeader('Retry-After', String(retryAfterSeconds));
    const minutes = Math.ceil(retryAfterSeconds / 60);
    render(
      req,
      res,
      'signin',
      {
        pre: preToken(ctx, req, res),
        next: safeNext(req.body?.next),
        oidcName,
        values,
        errors: {
          _form: `Too many failed sign-ins from your network address. Try again in ${minutes} minute${minutes === 1 ? '' : 's'}.`,
        },
      },
      429,
    );
  };
  router.get('/signin', (req, res) => {
    if (req.console?.stage === 'full') return res.redirect(303, safeNext(req.query.next));
    render(req, res, 'signin', { pre: preToken(ctx, req, res), next: safeNext(req.query.next), oidcName });
  });

  router.post('/signin', async (req, res) => {
    const email = str(req.body.email, 254);
    // Before the password is hashed: an address over its limit costs one indexed read.
    const allowed = await addressLimit.check(req.ip);
    if (!allowed.ok) return tooMany(req, res, allowed.retryAfterSeconds, { email });
    const result = await ctx.users.checkPassword(email, str(req.body.password, 256));
    const next = safeNext(req.body.next);
    if (!result.ok) {
      const counted = await addressLimit.fail(req.ip);
      if (!counted.ok) return tooMany(req, res, counted.retryAfterSeconds, { email });
      const message =
        result.reason === 'locked'
          ? `This account is locked after too many failed sign-ins. Try again in ${lockMinutes} minutes, or reset your password.`
          : 'The e-mail or the password is wrong.';
      return render(
        req,
        res,
        'signin',
        { pre: preToken(ctx, req, res), next, oidcName, values: { email }, errors: { _form: message } },
        result.reason === 'locked' ? 429 : 401,
      );
    }
    const u = result.user;
    const stage = u.totp_secret ? 'password' : needsTotp(u.role) ? 'totp-setup' : 'full';
    await startSession(ctx, req, res, u.id, stage);
    if (stage === 'full') await ctx.users.signedIn(u, ctx.users.authOf(u, { ip: req.ip ?? null }));
    const step =
      stage === 'password' ? '/console/signin/code' : stage === 'totp-setup' ? '/console/signin/setup' : next;
    res.redirect(303, stage === 'full' ? step : `${step}?next=${encodeURIComponent(next)}`);
  });

  const midway = (req: Request, stage: sessions.DbSession['stage']) => {
    const c = req.console;
    if (!c || c.stage !== stage)
      throw new PageError(401, 'Your sign-in has expired. Start again from the sign-in page.');
    return c;
  };

  /** Ends a half-finished sign-in: the person starts again from the password (with a fresh form token). */
  const dropMidway = async (req: Request, res: Response) => {
    if (req.console) await sessions.deleteSession(ctx.pool, req.console.sessionId);
    res.clearCookie(cookieNames(isSecure(req, ctx.config.publicUrl)).session, { path: '/' });
    req.console = undefined;
  };

  router.get('/signin/code', (req, res) => {
    midway(req, 'password');
    render(req, res, 'signin-code', { next: safeNext(req.query.next) });
  });

  router.post('/signin/code', async (req, res) => {
    const c = midway(req, 'password');
    const next = safeNext(req.body.next);
    const allowed = await addressLimit.check(req.ip);
    if (!allowed.ok) {
      await dropMidway(req, res);
      return tooMany(req, res, allowed.retryAfterSeconds);
    }
    if (!(await ctx.users.checkSecondFactor(c.user, str(req.body.code, 32)))) {
      const counted = await addressLimit.fail(req.ip);
      if (!counted.ok) {
        await dropMidway(req, res);
        return tooMany(req, res, counted.retryAfterSeconds);
      }
      const fresh = await ctx.users.byId(c.user.id);
      if (fresh?.locked) {
        await sessions.deleteSession(ctx.pool, c.sessionId);
        throw new PageError(
          429,
          `This account is locked after too many failed sign-ins. Try again in ${lockMinutes} minutes.`,
        );
      }
      return render(
        req,
        res,
        'signin-code',
        { next, errors: { code: 'The code is wrong or has expired.' } },
        401,
      );
    }
    await sessions.setStage(ctx.pool, c.sessionId, 'full', null);
    await ctx.users.signedIn(c.user, c.auth);
    res.redirect(303, next);
  });

  router.get('/signin/setup', async (req, res) => {
    const c = midway(req, 'totp-setup');
    const secret = c.pendingTotp ?? ctx.users.newTotpSecret();
    if (!c.pendingTotp) await sessions.setStage(ctx.pool, c.sessionId, 'totp-setup', secret);
    render(req, res, 'signin-setup', {
      ...(await totpSetup(secret, c.user.email)),
      next: safeNext(req.query.next),
    });
  });

  router.post('/signin/setup', async (req, res) => {
    const c = midway(req, 'totp-setup');
    if (!c.pendingTotp) return res.redirect(303, '/console/signin/setup');
    const codes = await ctx.users.enrolTotp(c.user, c.pendingTotp, str(req.body.code, 32));
    if (!codes)
      return render(
        req,
        res,
        'signin-setup',
        {
          ...(await totpSetup(c.pendingTotp, c.user.email)),
          next: safeNext(req.body.next),
          errors: { code: 'The code is wrong: enter the 6 digits your authenticator app shows now.' },
        },
        400,
      );
    await sessions.setStage(ctx.pool, c.sessionId, 'full', null);
    await ctx.users.signedIn(c.user, c.auth);
    req.console = { ...c, stage: 'full' };
    render(req, res, 'recovery-codes', { codes, next: safeNext(req.body.next) });
  });

  router.post('/signout', async (req, res) => {
    if (req.console) await sessions.deleteSession(ctx.pool, req.console.sessionId);
    res.clearCookie(cookieNames(isSecure(req, ctx.config.publicUrl)).session, { path: '/' });
    res.redirect(303, '/console/signin?out=1');
  });

  router.post('/signout-everywhere', async (req, res) => {
    if (req.console) {
      const ended = await sessions.deleteUserSessions(ctx.pool, req.console.user.id);
      await ctx.audit.record(ctx.pool, req.console.auth, null, {
        action: 'user.signout-everywhere',
        targetType: 'user',
        targetId: req.console.user.id,
        after: { sessionsEnded: ended },
      });
    }
    res.clearCookie(cookieNames(isSecure(req, ctx.config.publicUrl)).session, { path: '/' });
    res.redirect(303, '/console/signin?out=1');
  });

  // Invite (accept) and reset links: the same form sets the password.
  for (const kind of ['accept', 'reset'] as const) {
    router.get(`/${kind}/:token`, async (req, res) => {
      const link = await ctx.users.linkUser(str(req.params.token, 64));
      if (!link)
        throw new PageError(
          404,
          'This link is unknown, used or expired. Ask an administrator for a new one.',
        );
      render(req, res, 'set-password', { kind, email: link.user.email, pre: preToken(ctx, req, res) });
    });
    router.post(`/${kind}/:token`, async (req, res) => {
      const token = str(req.params.token, 64);
      const link = await ctx.users.linkUser(token);
      if (!link)
        throw new PageError(
          404,
          'This link is unknown, used or expired. Ask an administrator for a new one.',
        );
      try {
        await ctx.users.setPasswordByLink(token, str(req.body.password, 300), str(req.body.confirm, 300));
      } catch (err) {
        const bad = fieldErrors(err);
        if (!bad) throw err;
        return render(
          req,
          res,
          'set-password',
          { kind, email: link.user.email, pre: preToken(ctx, req, res), errors: bad.fields },
          400,
        );
      }
      res.redirect(303, '/console/signin?set=1');
    });
  }

  router.get('/forgot', (req, res) => render(req, res, 'forgot', { pre: preToken(ctx, req, res) }));
  router.post('/forgot', async (req, res) => {
    await ctx.users.requestReset(str(req.body.email, 254));
    render(req, res, 'forgot', { pre: preToken(ctx, req, res), sent: true });
  });
}
