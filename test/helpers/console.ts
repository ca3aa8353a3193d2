import assert from 'node:assert/strict';
import type { ParsedMail } from 'mailparser';
import { totpNow } from '../../control-plane/src/users/totp.ts';
import type { TestControlPlane } from './control-plane.ts';
import type { SmtpSink } from './smtp-sink.ts';
import type { Page as BrowserPage } from 'playwright-core';
import { startChromium, type Chromium } from './chromium.ts';

export interface Page {
  status: number;
  location: string | null;
  html: string;
}

/** A browser without a browser: keeps cookies, follows nothing, and posts forms with the page's CSRF token. */
export class ConsoleClient {
  readonly cookies = new Map<string, string>();
  /** The last page's `_csrf` field, which the next form post sends. */
  csrf = '';
  /** Sent with every request (X-Forwarded-For, as a proxy in TRUSTED_PROXIES would add it). */
  headers: Record<string, string> = {};

  constructor(readonly base: string) {}

  async request(method: 'GET' | 'POST', path: string, form?: Record<string, string>): Promise<Page> {
    const headers: Record<string, string> = { ...this.headers };
    if (this.cookies.size) headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    let body: string | undefined;
    if (form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams({ _csrf: this.csrf, ...form }).toString();
    }
    const res = await fetch(this.base + path, { method, headers, body, redirect: 'manual' });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const [k, v] = pair!.split('=') as [string, string];
      if (/Expires=Thu, 01 Jan 1970/i.test(c) || v === '') this.cookies.delete(k);
      else this.cookies.set(k, v);
    }
    const html = await res.text();
    const token = /name="_csrf" value="([^"]*)"/.exec(html)?.[1];
    if (token) this.csrf = token;
    return { status: res.status, location: res.headers.get('location'), html };
  }

  get(path: string) {
    return this.request('GET', path);
  }

  post(path: string, form: Record<string, string>) {
    return this.request('POST', path, form);
  }
}

/** The link in the newest mail to `to` whose path begins with `/console/<kind>/`. */
export function linkIn(mails: ParsedMail[], kind: 'accept' | 'reset'): string {
  const text = mails.map((m) => m.text ?? '').join('\n');
  const links = [...text.matchAll(new RegExp(`https?://\\S+(/console/${kind}/[A-Za-z0-9_-]+)`, 'g'))];
  assert.ok(links.length > 0, `no ${kind} link in: ${text}`);
  return links[links.length - 1]![1]!;
}

export async function waitForMail(sink: SmtpSink, to: string, count = 1): Promise<ParsedMail[]> {
  for (let i = 0; i < 200; i++) {
    if (sink.to(to).length >= count) return sink.to(to);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no mail to ${to} (${sink.mails.length} mails in the sink)`);
}

/**
 * Invites a user through the API, accepts the mailed link with `password`, signs in and, for staff, enrols
 * TOTP. Returns the signed-in client and the TOTP secret (null for a client user).
 */
export async function onboard(
  cp: TestControlPlane,
  sink: SmtpSink,
  u: { email: string; name: string; role: 'admin' | 'operator' | 'client'; client?: string },
  password = 'correct horse battery staple',
): Promise<{ client: ConsoleClient; secret: string | null; codes: string[] }> {
  const invited = await cp.call('POST', '/api/v1/users', { body: u });
  assert.equal(invited.status, 201, invited.text);
  const link = linkIn(await waitForMail(sink, u.email), 'accept');
  const c = new ConsoleClient(cp.url);
  await c.get(link);
  const set = await c.post(link, { password, confirm: password });
  assert.equal(set.status, 303, set.html);
  await c.get('/console/signin');
  const signin = await c.post('/console/signin', { email: u.email, password });
  assert.equal(signin.status, 303, signin.html);
  if (u.role === 'client') return { client: c, secret: null, codes: [] };
  assert.match(signin.location!, /\/console\/signin\/setup/);
  const setup = await c.get(signin.location!);
  const secret = /id="totp-secret">([A-Z2-7 ]+)</.exec(setup.html)![1]!.replace(/ /g, '');
  const done = await c.post('/console/signin/setup', { code: totpNow(secret) });
  assert.equal(done.status, 200, done.html);
  const codes = [...done.html.matchAll(/<code>([A-Z0-9]{5}-[A-Z0-9]{5})<\/code>/g)].map((m) => m[1]!);
  assert.equal(codes.length, 10, 'ten recovery codes are shown once');
  return { client: c, secret, codes };
}

/** Gives a Chromium context the console session `who` signed in to (its cookies, for `baseUrl`'s host). */
export async function useSession(browser: Chromium, baseUrl: string, who: ConsoleClient): Promise<void> {
  const { hostname } = new URL(baseUrl);
  await browser.context.addCookies(
    [...who.cookies].map(([name, value]) => ({ name, value, domain: hostname, path: '/', httpOnly: true })),
  );
}

/**
 * How a console browser test starts: `u` is invited through the API and signed in (see onboard), then Debian's
 * Chromium starts with that session and one page open. The caller closes `browser`; `who` is the same session
 * outside the browser.
 */
export async function browserSignedIn(
  cp: TestControlPlane,
  sink: SmtpSink,
  u: Parameters<typeof onboard>[2],
): Promise<{ browser: Chromium; page: BrowserPage; who: ConsoleClient }> {
  const { client: who } = await onboard(cp, sink, u);
  const browser = await startChromium();
  try {
    await useSession(browser, cp.url, who);
    return { browser, page: await browser.context.newPage(), who };
  } catch (err) {
    await browser.close();
    throw err;
  }
}
