import crypto from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NextFunction, Request, Response } from 'express';
import { Eta } from 'eta';
import type { Auth } from '../http/auth.ts';
import type { Context } from '../context.ts';
import type { DbUser } from '../users/store.ts';
import * as sessions from '../users/sessions.ts';

/** Templates and static files sit beside src/ and dist/, so the same path works from both. */
const PACKAGE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const VIEWS_DIR = path.join(PACKAGE_DIR, 'views');
export const PUBLIC_DIR = path.join(PACKAGE_DIR, 'public');

/** The signed-in person of a console request. */
export interface ConsoleRequest {
  user: DbUser;
  auth: Auth;
  sessionId: string;
  stage: sessions.DbSession['stage'];
  csrf: string;
  pendingTotp: string | null;
}

declare module 'express-serve-static-core' {
  interface Request {
    console?: ConsoleRequest;
  }
}

export const eta = (cache: boolean) => new Eta({ views: VIEWS_DIR, cache, autoEscape: true });

/**
 * Cookie names: the `__Host-` prefix (browsers accept it only Secure, on this host, path /) behind TLS; a plain
 * name on http://localhost, where a Secure cookie would not be sent back.
 */
export const cookieNames = (secure: boolean) => ({
  session: secure ? '__Host-cop_session' : 'cop_session',
  pre: secure ? '__Host-cop_pre' : 'cop_pre',
});

export function readCookie(req: Request, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) {
      const v = part.slice(i + 1).trim();
      return /^[A-Za-z0-9_-]{1,128}$/.test(v) ? v : undefined;
    }
  }
  return undefined;
}

/** TLS as the browser sees it: the socket's, or X-Forwarded-Proto from a trusted proxy (req.secure), or PUBLIC_URL. */
export const isSecure = (req: Request, publicUrl: string) => req.secure || publicUrl.startsWith('https:');

export function setCookie(
  res: Response,
  req: Request,
  publicUrl: string,
  name: string,
  value: string,
  maxAgeSeconds?: number,
) {
  res.cookie(name, value, {
    httpOnly: true,
    // Lax, not Strict: a link from the paging e-mail into the console still arrives signed in; every state
    // change is a POST that also needs the CSRF token.
    sameSite: 'lax',
    secure: isSecure(req, publicUrl),
    path: '/',
    ...(maxAgeSeconds !== undefined ? { maxAge: maxAgeSeconds * 1000 } : {}),
  });
}

export const equalSecret = (a: string | undefined, b: string) =>
  typeof a === 'string' &&
  a.length === b.length &&
  crypto.timingSafeEqual(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));

/** Loads the session named by the cookie (resetting its idle clock) and its user onto req.console. */
export function loadSession(ctx: Context) {
  return async (req: Request, res: Response, next: NextFunction) => {
    const names = cookieNames(isSecure(req, ctx.config.publicUrl));
    const id = readCookie(req, names.session);
    if (id) {
      // The live stream must not keep a session alive by itself: only a person's requests do.
      const touch = !req.path.endsWith('/events');
      const s = await sessions.liveSession(ctx.pool, id, ctx.config.console.idleSeconds, touch);
      const user = s?.user;
      if (s && user && !user.disabled_at) {
        req.console = {
          user,
          auth: ctx.users.authOf(user, {
            ip: req.ip ?? null,
            userAgent: req.get('user-agent')?.slice(0, 512) ?? null,
          }),
          sessionId: id,
          stage: s.stage,
          csrf: s.csrf,
          pendingTotp: s.pending_totp,
        };
      } else res.clearCookie(names.session, { path: '/' });
    }
    next();
  };
}

export const STAFF_ROLES = ['admin', 'operator'];
