import crypto from 'node:crypto';
import type { Request, Response } from 'express';
import type { Context } from '../context.ts';
import * as sessions from '../users/sessions.ts';
import { isSecure, readCookie, setCookie } from './http.ts';

/** How long a flash waits for the page it was made for: the redirect follows at once. */
const FLASH_SECONDS = 120;

const cookieName = (name: string, secure: boolean) => `${secure ? '__Host-' : ''}cop_flash_${name}`;

/**
 * A one-time message across a POST-redirect-GET, for what must be shown once and not made again by a reload (a
 * new API token's secret). The database keeps it sealed with AES-256-GCM under a random key that only this
 * browser holds, in a two-minute HttpOnly cookie; either alone reads nothing. Any replica can show it, once.
 */
export async function putFlash(
  ctx: Context,
  req: Request,
  res: Response,
  name: string,
  value: unknown,
): Promise<void> {
  const key = crypto.randomBytes(32);
  const iv = crypto.randomBytes(12);
  const cipher = crypto.createCipheriv('aes-256-gcm', key, iv);
  // The session and name are bound in as associated data: a row cannot be moved to another session or name.
  cipher.setAAD(Buffer.from(`${req.console!.sessionId}\n${name}`));
  const body = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()]);
  const sealed = Buffer.concat([iv, cipher.getAuthTag(), body]);
  await sessions.putFlash(ctx.pool, req.console!.sessionId, name, sealed, FLASH_SECONDS);
  const secure = isSecure(req, ctx.config.publicUrl);
  setCookie(
    res,
    req,
    ctx.config.publicUrl,
    cookieName(name, secure),
    key.toString('base64url'),
    FLASH_SECONDS,
  );
}

/** The flash `name` for this browser's session, taken once; undefined when there is none, or it cannot be opened. */
export async function takeFlash<T>(
  ctx: Context,
  req: Request,
  res: Response,
  name: string,
): Promise<T | undefined> {
  const secure = isSecure(req, ctx.config.publicUrl);
  const cookie = readCookie(req, cookieName(name, secure));
  if (!cookie) return undefined;
  res.clearCookie(cookieName(name, secure), { path: '/' });
  const sealed = await sessions.takeFlash(ctx.pool, req.console!.sessionId, name);
  const key = Buffer.from(cookie, 'base64url');
  if (!sealed || sealed.length < 28 || key.length !== 32) return undefined;
  try {
    const decipher = crypto.createDecipheriv('aes-256-gcm', key, sealed.subarray(0, 12));
    decipher.setAAD(Buffer.from(`${req.console!.sessionId}\n${name}`));
    decipher.setAuthTag(sealed.subarray(12, 28));
    const text = Buffer.concat([decipher.update(sealed.subarray(28)), decipher.final()]).toString('utf8');
    return JSON.parse(text) as T;
  } catch {
    return undefined;
  }
}
