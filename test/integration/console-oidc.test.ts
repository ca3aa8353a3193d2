/**
 * Staff single sign-on through a real OpenID Connect provider (the `oidc-provider` package, in-process on a
 * loopback port, with its development login page) in Debian's Chromium. Screenshots in test/artifacts/console/.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import Provider from 'oidc-provider';
import type { Page } from 'playwright-core';
import { screenshotAndAxe } from '../helpers/axe.ts';
import { startChromium, type Chromium } from '../helpers/chromium.ts';
import { onboard } from '../helpers/console.ts';
import { startControlPlane, type TestControlPlane } from '../helpers/control-plane.ts';
import { SmtpSink } from '../helpers/smtp-sink.ts';
import { totpNow } from '../../control-plane/src/users/totp.ts';

const ARTIFACTS = path.resolve('test/artifacts/console');
const CLIENT_SECRET = 'oidc-client-secret-for-tests';

/** A port free now (the control plane's redirect URI must be registered at the provider before it starts). */
async function freePort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

describe('staff single sign-on through an OpenID Connect provider', function () {
  this.timeout(180_000);
  let cp: TestControlPlane;
  let sink: SmtpSink;
  let idp: http.Server;
  let browser: Chromium;
  let page: Page;
  let operatorSecret = '';
  const check = (name: string) => screenshotAndAxe(page, ARTIFACTS, `oidc-${name}`);

  before(async () => {
    const port = await freePort();
    const cpUrl = `http://127.0.0.1:${port}`;
    idp = http.createServer();
    await new Promise<void>((r) => idp.listen(0, '127.0.0.1', r));
    const issuer = `http://127.0.0.1:${(idp.address() as AddressInfo).port}`;
    // Whoever types a login at the provider's development page is that e-mail; "unverified:" makes it unvouched.
    const provider = new Provider(issuer, {
      clients: [
        {
          client_id: 'concierge-console',
          client_secret: CLIENT_SECRET,
          redirect_uris: [`${cpUrl}/console/signin/oidc/callback`],
          token_endpoint_auth_method: 'client_secret_post',
        },
      ],
      claims: { openid: ['sub'], email: ['email', 'email_verified'] },
      findAccount: (_ctx, id) => ({
        accountId: id,
        claims: () => ({
          sub: id,
          email: id.replace(/^unverified:/, ''),
          email_verified: !id.startsWith('unverified:'),
        }),
      }),
    });
    idp.on('request', provider.callback());
    sink = await new SmtpSink().start();
    cp = await startControlPlane({
      PORT: String(port),
      PUBLIC_URL: cpUrl,
      SMTP_URL: sink.url,
      WORKER_POLL_INTERVAL_MS: '100',
      REPORT_SCHEDULER: 'off',
      CONSOLE_OIDC_ISSUER: issuer,
      CONSOLE_OIDC_CLIENT_ID: 'concierge-console',
      CONSOLE_OIDC_CLIENT_SECRET: CLIENT_SECRET,
      CONSOLE_OIDC_NAME: 'Ops SSO',
      CONSOLE_OIDC_EMAIL_DOMAINS: 'ops.example.test',
      // The limit test below comes from another address through the (loopback) proxy.
      TRUSTED_PROXIES: 'loopback',
      CONSOLE_SIGNIN_ADDRESS_ATTEMPTS: '5',
    });
    operatorSecret = (
      await onboard(cp, sink, { email: 'olivia@ops.example.test', name: 'Olivia', role: 'operator' })
    ).secret!;
    browser = await startChromium();
    page = await browser.context.newPage();
  });
  after(async () => {
    await browser?.close();
    await cp?.close();
    await sink?.stop();
    idp?.closeAllConnections();
    await new Promise((r) => idp?.close(r));
  });

  /** From the console's sign-in page through the provider's login and consent pages, back to the console. */
  async function throughProvider(login: string): Promise<void> {
    // A fresh browser each time: the provider would otherwise remember the last person signed in there.
    await browser.context.clearCookies();
    await page.goto(cp.url + '/console/signin');
    await page.getByRole('link', { name: 'Sign in with Ops SSO' }).click();
    await page.locator('input[name="login"]').fill(login);
    await page.locator('input[name="password"]').fill('anything');
    await page.getByRole('button', { name: 'Sign-in' }).click();
    const consent = page.getByRole('button', { name: 'Continue' });
    if (await consent.isVisible().catch(() => false)) await consent.click();
    await page.waitForURL((u) => u.href.startsWith(cp.url));
  }

  it('an operator signs in through the provider, then gives the console its own second factor', async () => {
    await page.goto(cp.url + '/console/signin');
    await check('signin');
    await throughProvider('olivia@ops.example.test');
    await page.getByRole('heading', { name: /code/i }).waitFor();
    assert.match(page.url(), /\/console\/signin\/code/);
    await page.getByLabel(/code/i).first().fill(totpNow(operatorSecret));
    await page.getByRole('button', { name: /sign in|continue|confirm/i }).click();
    await page.getByRole('heading', { name: 'Incidents' }).waitFor();
    assert.match(await page.locator('header').innerText(), /Olivia \(operator\)/);
    await cp.ctx.audit.flush();
    const { rows } = await cp.db.query(
      `select action, token_name, after->>'issuer' as issuer from audit_log
       where action in ('user.signin-oidc', 'user.signin') order by seq`,
    );
    assert.deepEqual(
      rows.slice(-2).map((r) => [r.action, r.token_name]),
      [
        ['user.signin-oidc', 'olivia@ops.example.test'],
        ['user.signin', 'olivia@ops.example.test'],
      ],
    );
    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    // A sign-in begun and finished costs this address nothing against its limit.
    const { rows: counted } = await cp.db.query(`select failures from console_signin_addresses`);
    assert.deepEqual(
      counted.map((r) => r.failures),
      [0],
    );
  });

  it('refuses a person without a staff account, creating none', async () => {
    const users = await cp.count('console_users');
    await throughProvider('stranger@ops.example.test');
    await page.getByText('There is no staff account for stranger@ops.example.test').waitFor();
    await check('refused');
    assert.equal(await cp.count('console_users'), users, 'nobody is created by signing in');
    assert.equal(await page.getByRole('link', { name: 'Incidents' }).count(), 0, 'no session');
    await cp.ctx.audit.flush();
    const { rows } = await cp.db.query(
      `select after->>'reason' as reason from audit_log where action = 'user.signin-oidc-refused'`,
    );
    assert.deepEqual(
      rows.map((r) => r.reason),
      ['no staff account'],
    );
  });

  it('refuses an e-mail outside CONSOLE_OIDC_EMAIL_DOMAINS and one the provider did not verify', async () => {
    await throughProvider('olivia@elsewhere.example');
    await page.getByText('olivia@elsewhere.example may not sign in here through Ops SSO').waitFor();
    await throughProvider('unverified:olivia@ops.example.test');
    await page.getByText('Ops SSO did not vouch for your e-mail address').waitFor();
    assert.equal(await page.getByRole('link', { name: 'Incidents' }).count(), 0);
  });

  it('refuses a callback that this browser did not start', async () => {
    const res = await page.goto(cp.url + '/console/signin/oidc/callback?code=forged&state=forged');
    assert.equal(res?.status(), 400);
    await page.getByText('This sign-in expired or was started in another browser').waitFor();
  });

  it('limits sign-in starts per address as password sign-ins are (CONSOLE_SIGNIN_ADDRESS_*), sharing the count', async () => {
    const start = () =>
      fetch(cp.url + '/console/signin/oidc', {
        headers: { 'x-forwarded-for': '198.51.100.9' },
        redirect: 'manual',
      });
    const logins = await cp.count('console_oidc_logins');
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) statuses.push((await start()).status);
    // Five starts are let through to the provider (each counted until it comes back); then the address waits.
    assert.deepEqual(statuses, [303, 303, 303, 303, 303, 429, 429]);
    assert.equal(await cp.count('console_oidc_logins'), logins + 5, 'a refused start writes nothing');
    const refused = await start();
    const retryAfter = Number(refused.headers.get('retry-after'));
    assert.ok(retryAfter > 800 && retryAfter <= 900, `Retry-After ${retryAfter}`);
    assert.match(
      await refused.text(),
      /Too many failed sign-ins from your network address\. Try again in 15 minutes\./,
    );
    // The same count as password sign-ins: that address's password form is refused too, before any hashing.
    const form = await fetch(cp.url + '/console/signin', { headers: { 'x-forwarded-for': '198.51.100.9' } });
    const pre = form.headers.getSetCookie()[0]!.split(';')[0]!;
    const csrf = /name="_csrf" value="([^"]+)"/.exec(await form.text())![1]!;
    const password = await fetch(cp.url + '/console/signin', {
      method: 'POST',
      headers: {
        'x-forwarded-for': '198.51.100.9',
        'content-type': 'application/x-www-form-urlencoded',
        cookie: pre,
      },
      body: new URLSearchParams({
        _csrf: csrf,
        email: 'olivia@ops.example.test',
        password: 'whatever it is',
      }),
      redirect: 'manual',
    });
    assert.equal(password.status, 429);
    // Another address is not affected.
    assert.equal((await fetch(cp.url + '/console/signin/oidc', { redirect: 'manual' })).status, 303);
  });
});
