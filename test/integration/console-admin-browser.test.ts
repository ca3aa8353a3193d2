/**
 * The console's admin pages and sign-in options in a real browser (Debian's Chromium through playwright-core),
 * checked with axe-core; screenshots in test/artifacts/console/admin-*.png.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import jsQRModule from 'jsqr';
import { PNG } from 'pngjs';
import type { Page } from 'playwright-core';
import { startChromium, type Chromium } from '../helpers/chromium.ts';
import { screenshotAndAxe, fitsPhone } from '../helpers/axe.ts';
import { startControlPlane, type TestControlPlane } from '../helpers/control-plane.ts';
import { linkIn, onboard, waitForMail, useSession } from '../helpers/console.ts';
import { SmtpSink } from '../helpers/smtp-sink.ts';
import { totpNow, totpUri } from '../../control-plane/src/users/totp.ts';

const ARTIFACTS = path.resolve('test/artifacts/console');
const PASSWORD = 'a long and private passphrase';
const jsQR = ((jsQRModule as unknown as { default?: typeof jsQRModule }).default ??
  jsQRModule) as unknown as (data: Uint8ClampedArray, w: number, h: number) => { data: string } | null;

describe('the console admin pages in a browser', function () {
  this.timeout(180_000);
  let cp: TestControlPlane;
  let sink: SmtpSink;
  let browser: Chromium;
  let page: Page;
  const check = (name: string) => screenshotAndAxe(page, ARTIFACTS, `admin-${name}`);
  const phone = (name: string) => fitsPhone(page, ARTIFACTS, `admin-${name}-phone`);

  before(async () => {
    sink = await new SmtpSink().start();
    cp = await startControlPlane({
      SMTP_URL: sink.url,
      WORKER_POLL_INTERVAL_MS: '100',
      REPORT_SCHEDULER: 'off',
      CONSOLE_SIGNIN_ADDRESS_ATTEMPTS: '4',
    });
    browser = await startChromium();
    page = await browser.context.newPage();
  });
  after(async () => {
    await browser?.close();
    await cp?.close();
    await sink?.stop();
  });

  it('an invited admin scans the set-up QR code (it decodes to the otpauth:// link) and signs in', async () => {
    const email = 'bea@ops.example.test';
    const invited = await cp.call('POST', '/api/v1/users', {
      body: { email, name: 'Bea Admin', role: 'admin' },
    });
    assert.equal(invited.status, 201, invited.text);
    await page.goto(cp.url + linkIn(await waitForMail(sink, email), 'accept'));
    await page.getByLabel('New password').fill(PASSWORD);
    await page.getByLabel('The same password again').fill(PASSWORD);
    await page.getByRole('button', { name: 'Set password' }).click();
    await page.getByLabel('E-mail').fill(email);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Set up your second factor' }).waitFor();
    const qr = page.getByRole('img', {
      name: /QR code of the authenticator set-up link for bea@ops\.example\.test/,
    });
    // Loaded, so the CSP let the data: image through.
    assert.ok((await qr.evaluate((img: HTMLImageElement) => (img.complete ? img.naturalWidth : 0))) > 100);
    // What a phone's camera would read: the pixels on the screen.
    const shot = PNG.sync.read(await qr.screenshot());
    const secret = (await page.locator('#totp-secret').innerText()).replace(/\s/g, '');
    assert.equal(
      jsQR(new Uint8ClampedArray(shot.data), shot.width, shot.height)?.data,
      totpUri(secret, email),
    );
    await check('totp-setup-qr');
    await phone('totp-setup-qr');
    await page.getByLabel('6-digit code').fill(totpNow(secret));
    await page.getByRole('button', { name: 'Confirm' }).click();
    await page.getByRole('link', { name: 'Continue to the console' }).click();
    await page.getByRole('heading', { name: 'Incidents' }).waitFor();
  });

  it('creates an API token, shows its secret once, and revokes it after asking', async () => {
    await page.getByRole('link', { name: 'Tokens' }).click();
    await page.getByRole('heading', { name: 'API tokens' }).waitFor();
    await page.getByLabel('Name (what uses it)').fill('rack-2 prober');
    await page.getByLabel('Role').selectOption('prober');
    await page.getByRole('button', { name: 'Create token' }).click();
    const secret = await page.getByLabel('The new token').inputValue();
    assert.match(secret, /^cop_[A-Za-z0-9_-]{43}$/);
    assert.equal((await cp.call('GET', '/api/v1/sd/probe-targets', { token: secret })).status, 200);
    await check('tokens-created');
    await phone('tokens');
    // Reloading the page that showed the secret (the POST's redirect target) neither shows it nor makes another.
    const tokens = await cp.count('api_tokens');
    await page.reload();
    await page.getByRole('heading', { name: 'API tokens' }).waitFor();
    assert.equal(await page.getByLabel('The new token').count(), 0, 'shown once');
    assert.equal(await cp.count('api_tokens'), tokens, 'a reload creates no second token');

    await page.getByRole('link', { name: 'Revoke rack-2 prober' }).click();
    await page.getByRole('heading', { name: 'Revoke token rack-2 prober?' }).waitFor();
    await check('token-revoke');
    await page.getByRole('button', { name: 'Revoke the token' }).click();
    await page.getByText('Revoked the token.').waitFor();
    assert.equal(await page.getByRole('link', { name: 'Revoke rack-2 prober' }).count(), 0);
    assert.equal((await cp.call('GET', '/api/v1/sd/probe-targets', { token: secret })).status, 401);
  });

  it('a bad token field shows the API error at the field and creates nothing', async () => {
    const before = await cp.count('api_tokens');
    await page.getByLabel('Name (what uses it)').fill('clinic app');
    await page.getByLabel('Role').selectOption('client');
    await page.getByRole('button', { name: 'Create token' }).click();
    const error = page.locator('#f-client-error');
    await error.waitFor();
    assert.equal(
      await error.innerText(),
      'Client (client and backup-agent tokens) is required for role client.',
    );
    assert.equal(
      await page.getByLabel('Client (client and backup-agent tokens)').getAttribute('aria-invalid'),
      'true',
    );
    assert.equal(await cp.count('api_tokens'), before);
    await check('tokens-error');
  });

  it('filters the audit log by actor and action, and names a bad time at its field', async () => {
    await page.getByRole('link', { name: 'Audit log' }).click();
    await page.getByRole('heading', { name: 'Audit log' }).waitFor();
    await page.getByLabel('Actor (e-mail, token name or id)').fill('bea@ops.example.test');
    await page.getByLabel('Action').fill('token.revoke');
    await page.getByRole('button', { name: 'Filter' }).click();
    const rows = page.locator('#audit-rows tr');
    assert.equal(await rows.count(), 1);
    assert.match(await rows.first().innerText(), /bea@ops\.example\.test \(admin, user [0-9a-f]{8}\)/);
    assert.match(
      await rows.first().locator('time').innerText(),
      /^\d{1,2} [A-Z][a-z]{2} \d{4}, \d{2}:\d{2} UTC$/,
    );
    await check('audit');
    await phone('audit');
    await page.getByLabel('From (UTC)').fill('2020-01-01T00:00');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.locator('#a-from-error').waitFor();
    assert.match(await page.locator('#a-from-error').innerText(), /at most 366 days after from/);
    await check('audit-error');
  });

  it('an operator gets 403 on the admin pages and sees no links to them', async () => {
    const { client: otto } = await onboard(cp, sink, {
      email: 'otto@ops.example.test',
      name: 'Otto',
      role: 'operator',
    });
    await browser.context.clearCookies();
    await useSession(browser, cp.url, otto);
    for (const p of ['/console/tokens', '/console/audit']) {
      const res = await page.goto(cp.url + p);
      assert.equal(res?.status(), 403, p);
      await page.getByText('not open to the operator role').waitFor();
    }
    assert.equal(await page.getByRole('link', { name: 'Tokens' }).count(), 0);
    assert.equal(await page.getByRole('link', { name: 'Audit log' }).count(), 0);
    await check('operator-forbidden');
  });

  it('refuses an address after too many failed sign-ins across accounts, saying when to retry', async () => {
    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    for (const [i, email] of ['a@x.test', 'b@x.test', 'c@x.test', 'bea@ops.example.test'].entries()) {
      await page.getByLabel('E-mail').fill(email);
      await page.getByLabel('Password').fill('wrong ' + i);
      const answer = page.waitForResponse(
        (r) => r.url().endsWith('/console/signin') && r.request().method() === 'POST',
      );
      await page.getByRole('button', { name: 'Sign in' }).click();
      const res = await answer;
      assert.equal(res.status(), i < 3 ? 401 : 429);
      if (i === 3) assert.ok(Number(await res.headerValue('retry-after')) > 0);
    }
    assert.match(
      await page.getByRole('alert').innerText(),
      /Too many failed sign-ins from your network address\. Try again in 15 minutes\./,
    );
    await check('signin-limited');
  });
});
