/**
 * The clients' portal and the public status page in a real browser (Debian's Chromium through playwright-core),
 * checked with axe-core. Each page is kept as a screenshot in test/artifacts/portal/ (gitignored).
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { alertPayload, waitFor } from '../helpers/alerts.ts';
import { startChromium, type Chromium } from '../helpers/chromium.ts';
import {
  clientBody,
  instanceBody,
  startControlPlane,
  type TestControlPlane,
} from '../helpers/control-plane.ts';
import { onboard, type ConsoleClient, useSession } from '../helpers/console.ts';
import { SmtpSink } from '../helpers/smtp-sink.ts';
import { pdfText } from '../fixtures/reports/pdf-pages.ts';
import { screenshotAndAxe } from '../helpers/axe.ts';

const ARTIFACTS = path.resolve('test/artifacts/portal');
const PASSWORD = 'front desk passphrase 2026';
const EMAIL = 'desk@smile-dental.example.test';
const INTERNAL_NOTE = 'INTERNAL: Olivia failed the primary over by hand';
const INTERNAL_SUMMARY = 'INTERNAL-SUMMARY pg primary oom-killed on node-7';
const PUBLIC_SUMMARY = 'Calls to the assistant are not being answered; we are restoring it.';
const PUBLIC_UPDATE = 'The assistant answers calls again; we are watching it closely.';
const OTHER_PUBLIC = 'Other clinic: texts are delayed.';
const MONTH = '2026-11';

describe('the clients portal and the public status page in a browser', function () {
  this.timeout(180_000);
  let cp: TestControlPlane;
  let sink: SmtpSink;
  let browser: Chromium;
  let page: Page;
  let ownCode = '';
  let otherCode = '';
  let admin: ConsoleClient;

  /** Screenshot for the artifacts, and no serious or critical axe violation on the page as it is. */
  async function check(name: string): Promise<void> {
    await screenshotAndAxe(page, ARTIFACTS, name);
  }

  /** The same page 375 px wide, kept as a screenshot: nothing may scroll sideways. */
  async function phone(name: string): Promise<void> {
    await page.setViewportSize({ width: 375, height: 812 });
    await page.screenshot({ path: path.join(ARTIFACTS, `${name}-phone.png`), fullPage: true });
    const wide = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(wide <= 375, `${name}: the page scrolls sideways at 375 px (${wide} px wide)`);
    await page.setViewportSize({ width: 1280, height: 800 });
  }

  async function webhook(client: string, instance: string, key: string) {
    const hooked = await cp.call('POST', '/api/v1/alertmanager/webhook', {
      token: await cp.token('alertmanager'),
      body: alertPayload({
        groupKey: key,
        client,
        instance,
        fingerprints: [crypto.randomBytes(8).toString('hex')],
        summary: INTERNAL_SUMMARY,
        startsAt: new Date(Date.now() - 120_000).toISOString(),
      }),
    });
    assert.equal(hooked.status, 200, hooked.text);
    return hooked.body.incident as string;
  }

  async function note(code: string, text: string, visibility: 'public' | 'internal') {
    const res = await cp.call('POST', `/api/v1/incidents/${code}/notes`, { body: { text, visibility } });
    assert.equal(res.status, 201, res.text);
  }

  before(async () => {
    await fs.mkdir(ARTIFACTS, { recursive: true });
    sink = await new SmtpSink().start();
    cp = await startControlPlane({
      SMTP_URL: sink.url,
      WORKER_POLL_INTERVAL_MS: '100',
      REPORT_SCHEDULER: 'off',
    });
    for (const c of ['smile-dental', 'other-clinic'])
      assert.equal((await cp.call('POST', '/api/v1/clients', { body: clientBody(c) })).status, 201);
    for (const [c, i] of [
      ['smile-dental', 'smile-prod'],
      ['smile-dental', 'smile-staging'],
      ['other-clinic', 'other-prod'],
    ] as const)
      assert.equal((await cp.call('POST', '/api/v1/instances', { body: instanceBody(c, i) })).status, 201);

    // smile-prod's backend is down now (the prober says so); smile-staging is up.
    const prober = await cp.token('prober');
    const ids = new Map<string, string>();
    for (const slug of ['smile-prod', 'smile-staging', 'other-prod'])
      ids.set(slug, (await cp.call('GET', `/api/v1/instances/${slug}`)).body.id as string);
    const at = new Date(Date.now() - 10 * 60_000).toISOString();
    const moved = await cp.call('POST', '/api/v1/availability/transitions', {
      token: prober,
      body: {
        prober: 'p1',
        transitions: [
          {
            id: crypto.randomUUID(),
            instanceId: ids.get('smile-prod'),
            service: 'backend',
            state: 'down',
            at,
          },
          {
            id: crypto.randomUUID(),
            instanceId: ids.get('smile-staging'),
            service: 'backend',
            state: 'up',
            at,
          },
        ],
      },
    });
    assert.equal(moved.status, 200, moved.text);

    ownCode = await webhook('smile-dental', 'smile-prod', 'g-own');
    otherCode = await webhook('other-clinic', 'other-prod', 'g-other');
    await note(ownCode, PUBLIC_SUMMARY, 'public');
    await note(ownCode, INTERNAL_NOTE, 'internal');
    await note(ownCode, PUBLIC_UPDATE, 'public');
    await note(otherCode, OTHER_PUBLIC, 'public');

    const start = new Date(Date.now() + 2 * 86_400_000);
    start.setUTCMinutes(0, 0, 0);
    const win = await cp.call('POST', '/api/v1/maintenance-windows', {
      body: {
        client: 'smile-dental',
        start: start.toISOString(),
        end: new Date(start.getTime() + 3_600_000).toISOString(),
        reason: 'Database upgrade',
      },
    });
    assert.equal(win.status, 201, win.text);
    const finished = new Date(Date.now() - 3_600_000).toISOString();
    const run = await cp.call('POST', '/api/v1/backups/runs', {
      token: await cp.token('backup-agent', 'smile-dental'),
      body: {
        runId: 'nightly-1',
        instance: 'smile-prod',
        tool: 'pg_dump',
        kind: 'full',
        startedAt: new Date(Date.now() - 3_700_000).toISOString(),
        finishedAt: finished,
        status: 'success',
        verified: true,
        verifiedAt: finished,
      },
    });
    assert.equal(run.status, 201, run.text);

    // Each clinic's November report, sent (the monthly job does the same; its schedule is off here).
    const admin = await cp.token('admin');
    for (const slug of ['smile-dental', 'other-clinic']) {
      const client = await cp.ctx.fleet.getClient(
        { tokenId: 't', name: 'test', role: 'admin', clientId: null },
        slug,
      );
      assert.ok(await cp.ctx.reports.generate(client, MONTH, 'test'));
    }
    void admin;

    // The clinic's user has an account (invited by the API, password set through the mailed link).
    await onboard(
      cp,
      sink,
      { email: EMAIL, name: 'Front Desk', role: 'client', client: 'smile-dental' },
      PASSWORD,
    );
    browser = await startChromium();
    page = await browser.context.newPage();
  });
  after(async () => {
    await browser?.close();
    await cp?.close();
    await sink?.stop();
  });

  it('a client user signs in and lands on the portal, seeing only its own instances and incidents', async () => {
    await page.goto(cp.url + '/console/signin');
    await page.getByLabel('E-mail').fill(EMAIL);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: /status now/ }).waitFor();
    assert.equal(new URL(page.url()).pathname, '/portal/');
    const text = await page.locator('main').innerText();
    assert.match(text, /smile-prod\s+\(prod\)\s+Down\s+since/);
    assert.match(text, /smile-staging\s+\(prod\)\s+Up/);
    assert.match(text, /Database upgrade/);
    assert.ok(text.includes(ownCode), 'its own open incident is listed');
    // A public note becomes the incident's public summary: the newest one is shown here.
    assert.ok(text.includes(PUBLIC_UPDATE), 'with its public summary');
    for (const hidden of [otherCode, 'other-prod', OTHER_PUBLIC, INTERNAL_NOTE, INTERNAL_SUMMARY, 'Olivia'])
      assert.ok(!text.includes(hidden), `the portal must not show ${hidden}`);
    assert.doesNotMatch(text, /\d{4}-\d\d-\d\dT\d\d:/, 'no raw ISO times');
    await check('status');
    await phone('status');
  });

  it('reads the public summary and updates of its incident, never an internal note', async () => {
    await page.getByRole('link', { name: new RegExp(ownCode) }).click();
    await page.getByRole('heading', { name: new RegExp(ownCode) }).waitFor();
    const text = await page.locator('main').innerText();
    assert.equal(await page.locator('#public-summary').innerText(), PUBLIC_UPDATE);
    const updates = await page.locator('#updates li').allInnerTexts();
    assert.equal(updates.length, 2);
    assert.ok(updates[0]!.endsWith(PUBLIC_SUMMARY) && updates[1]!.endsWith(PUBLIC_UPDATE), updates.join('|'));
    for (const hidden of [INTERNAL_NOTE, INTERNAL_SUMMARY, 'Olivia', 'admin'])
      assert.ok(!text.includes(hidden), `the incident page must not show ${hidden}`);
    await check('incident');
    await phone('incident');
  });

  it("another client's incident URL answers 404 in the browser", async () => {
    const res = await page.goto(`${cp.url}/portal/incidents/${otherCode}`);
    assert.equal(res?.status(), 404);
    const text = await page.locator('main').innerText();
    assert.match(text, /Not found/);
    assert.ok(!text.includes(OTHER_PUBLIC));
    await check('not-found');
    const other = (await cp.call('GET', `/api/v1/incidents/${otherCode}`)).body.id as string;
    assert.equal((await page.goto(`${cp.url}/portal/incidents/${other}`))?.status(), 404);
    const otherReport = (await cp.call('GET', '/api/v1/clients/other-clinic/reports')).body.reports[0].id;
    assert.equal((await page.goto(`${cp.url}/portal/reports/${otherReport}.pdf`))?.status(), 404);
    // Hostile ids are 404s too, never a 500: NUL, a lone surrogate's bytes, a huge id, an unknown page.
    for (const bad of [
      '/portal/incidents/%00',
      '/portal/incidents/%ED%A0%80',
      `/portal/incidents/${'9'.repeat(5000)}`,
      '/portal/reports/%00.pdf',
      `/portal/reports/${crypto.randomUUID()}`,
      '/portal/nowhere',
      '/status/%00',
    ])
      assert.equal((await page.goto(cp.url + bad))?.status(), 404, bad);
  });

  it('shows the SLA month to date against target and the last 12 months, and backup evidence', async () => {
    await page.goto(cp.url + '/portal/');
    // By keyboard: the skip link first, then the portal's navigation.
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Skip to content');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'SLA');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Availability against your SLA' }).waitFor();
    const text = await page.locator('main').innerText();
    assert.match(text, /Target: 99\.\d{3} %/);
    assert.equal(await page.locator('table.stack tbody tr').count(), 12);
    assert.match(text, /November 2026/);
    await check('sla');
    await phone('sla');

    await page.getByRole('link', { name: 'Backups' }).click();
    await page.getByRole('heading', { name: 'Backups' }).waitFor();
    const backups = await page.locator('main').innerText();
    assert.match(backups, /smile-prod/);
    assert.match(backups, /verified/);
    assert.ok(!backups.includes('other-prod'));
    await check('backups');
    await phone('backups');
  });

  it("lists its sent reports, shows one, and downloads the PDF of its own client's month", async () => {
    await page.goto(cp.url + '/portal/reports');
    await page.getByRole('heading', { name: 'Monthly reports' }).waitFor();
    assert.equal(await page.locator('table.stack tbody tr').count(), 1, 'only its own report');
    await check('reports');
    await phone('reports');
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('link', { name: 'PDF November 2026' }).click(),
    ]);
    assert.equal(download.suggestedFilename(), `smile-dental-${MONTH}.pdf`);
    const pdf = await fs.readFile((await download.path())!);
    assert.equal(pdf.subarray(0, 5).toString('latin1'), '%PDF-');
    const words = pdfText(pdf).replace(/\s+/g, ' ');
    assert.match(words, /Practice smile-dental/);
    assert.match(words, /November 2026/);
    assert.doesNotMatch(words, /other-clinic/);

    await page.getByRole('link', { name: 'View November 2026' }).click();
    await page.waitForURL(/\/portal\/reports\/[0-9a-f-]{36}$/);
    assert.match(await page.locator('body').innerText(), /Practice smile-dental/);
    await page.screenshot({ path: path.join(ARTIFACTS, 'report-html.png'), fullPage: true });

    // Reads the API audits are audited from the portal too, naming the person.
    const audited = await waitFor('the audit records of the reads', async () => {
      const { rows } = await cp.db.query<{ action: string }>(
        `select action from audit_log where token_name = $1 and action like 'report.%'`,
        [EMAIL],
      );
      return rows.length >= 3 ? rows.map((r) => r.action).sort() : undefined;
    });
    assert.deepEqual(audited, ['report.list', 'report.read', 'report.read']);
  });

  it('on a 390 px phone the links fold into a Menu that opens without script and leads to the page', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    try {
      await page.goto(cp.url + '/portal/');
      await page.getByRole('heading', { name: /status now/ }).waitFor();
      const nav = page.getByRole('navigation', { name: 'Portal' });
      const menu = page.locator('details.top-menu');
      assert.ok(await menu.locator('summary', { hasText: 'Menu' }).isVisible(), 'a Menu button is shown');
      assert.equal(await nav.count(), 0, 'no link list takes the first screen');
      const header = (await page.locator('header.top').boundingBox())!.height;
      assert.ok(header <= 72, `the closed header is ${header} px tall`);
      await check('menu-phone-closed');

      // By keyboard: the skip link, then the Menu; Enter opens it and it reads as expanded.
      await page.keyboard.press('Tab');
      await page.keyboard.press('Tab');
      assert.equal(await page.evaluate(() => document.activeElement?.textContent?.trim()), 'Menu');
      await page.keyboard.press('Enter');
      await nav.waitFor();
      assert.equal(await menu.getAttribute('open'), '');
      for (const name of ['Status', 'SLA', 'Reports', 'Backups'])
        assert.ok(await nav.getByRole('link', { name, exact: true }).isVisible(), `${name} is in the menu`);
      assert.ok(await page.getByRole('button', { name: 'Sign out' }).isVisible());
      await check('menu-phone-open');

      await nav.getByRole('link', { name: 'Reports', exact: true }).click();
      await page.getByRole('heading', { name: 'Monthly reports' }).waitFor();
      assert.equal(new URL(page.url()).pathname, '/portal/reports');
      assert.equal(await nav.count(), 0, 'the menu is closed again on the next page');
      await page.locator('summary', { hasText: 'Menu' }).click();
      assert.equal(
        await nav.getByRole('link', { name: 'Reports', exact: true }).getAttribute('aria-current'),
        'page',
      );
    } finally {
      await page.setViewportSize({ width: 1280, height: 800 });
    }
    // On a laptop the links are in the header and there is no Menu button.
    assert.equal(await page.locator('summary', { hasText: 'Menu' }).isVisible(), false);
    assert.equal(await page.getByRole('navigation', { name: 'Portal' }).count(), 1);
  });

  it('tells staff that the portal is for clinics', async () => {
    admin = (
      await onboard(cp, sink, {
        email: 'ada@ops.example.test',
        name: 'Ada',
        role: 'admin',
      })
    ).client;
    const res = await admin.get('/portal/');
    assert.equal(res.status, 403);
    assert.match(res.html, /The portal is for clinics&#39; own users/);
  });

  it('the public status page shows states and public updates only, with no session, and rotation kills the old URL', async () => {
    const off = await fetch(`${cp.url}/status/${crypto.randomBytes(32).toString('base64url')}`);
    assert.equal(off.status, 404);
    const on = await cp.call('PUT', '/api/v1/clients/smile-dental/status-page', { body: { enabled: true } });
    assert.equal(on.status, 200, on.text);
    // The URL is PUBLIC_URL's; the test's control plane listens on its own port.
    const url = cp.url + new URL(on.body.url as string).pathname;
    assert.match(url, /\/status\/[A-Za-z0-9_-]{43}$/);

    await browser.context.clearCookies();
    const res = await page.goto(url);
    assert.equal(res?.status(), 200);
    const headers = res!.headers();
    assert.equal(headers['set-cookie'], undefined, 'no cookie is set');
    assert.match(headers['cache-control']!, /public, max-age=30/);
    assert.ok(headers.etag, 'an ETag');
    const text = await page.locator('main').innerText();
    assert.match(text, /Assistant 1 \(prod\)\s+Down/);
    assert.ok(text.includes(PUBLIC_SUMMARY) && text.includes(PUBLIC_UPDATE));
    for (const hidden of [
      'Practice smile-dental',
      'smile-prod',
      'Database upgrade',
      INTERNAL_NOTE,
      INTERNAL_SUMMARY,
      OTHER_PUBLIC,
      ownCode,
    ])
      assert.ok(!text.includes(hidden), `the public page must not show ${hidden}`);
    assert.equal((await browser.context.cookies()).length, 0);
    await check('public-status');
    await phone('public-status');

    // Cheap to serve again: the same ETag answers 304 with no body.
    // node:http, not fetch: fetch adds Cache-Control: no-cache to a conditional request, as a browser's reload does.
    const again = await new Promise<http.IncomingMessage>((resolve, reject) =>
      http.get(url, { headers: { 'if-none-match': headers.etag! } }, resolve).on('error', reject),
    );
    again.resume();
    assert.equal(again.statusCode, 304);

    const named = await cp.call('PUT', '/api/v1/clients/smile-dental/status-page', {
      body: { enabled: true, showName: true },
    });
    assert.equal(named.status, 200, named.text);
    assert.equal(named.body.url, null, 'the URL is shown only when made');
    // The browser may keep the page for its 30 s max-age (that is the point): the test starts afresh.
    const cdp = await browser.context.newCDPSession(page);
    const forget = () => cdp.send('Network.clearBrowserCache');
    await forget();
    await page.goto(url);
    assert.match(await page.locator('h1').innerText(), /Practice smile-dental: service status/);
    await check('public-status-named');

    const rotated = await cp.call('POST', '/api/v1/clients/smile-dental/status-page/rotate');
    assert.equal(rotated.status, 200, rotated.text);
    const fresh = cp.url + new URL(rotated.body.url as string).pathname;
    assert.notEqual(fresh, url);
    await forget();
    assert.equal((await page.goto(url))?.status(), 404, 'the old URL is dead');
    assert.match(await page.locator('main').innerText(), /no status page at this address/);
    await check('public-status-gone');
    assert.equal((await page.goto(fresh))?.status(), 200);

    const audit = await cp.db.query<{ action: string; actor: string }>(
      `select action, token_name as actor from audit_log where target_type = 'client' and action like 'client.status_page%' order by seq`,
    );
    assert.deepEqual(
      audit.rows.map((r) => r.action),
      ['client.status_page', 'client.status_page', 'client.status_page_rotate'],
    );
  });

  it('staff switch a status page on from the console and read its address once', async () => {
    await useSession(browser, cp.url, admin);
    await page.goto(cp.url + '/console/status-pages');
    const row = page.getByRole('row', { name: /other-clinic/ });
    await row.getByLabel('On').check();
    await row.getByRole('button', { name: 'Save other-clinic' }).click();
    await page.getByText('Saved other-clinic.').waitFor();
    const shown = await page.locator('.secret-url').innerText();
    assert.match(shown, /\/status\/[A-Za-z0-9_-]{43}$/);
    await check('console-status-pages');
    await phone('console-status-pages');
    await page.goto(cp.url + '/console/status-pages');
    assert.ok(
      await page
        .getByRole('row', { name: /other-clinic/ })
        .getByLabel('On')
        .isChecked(),
    );
    assert.equal(await page.locator('.secret-url').count(), 0, 'the address is shown once');

    await browser.context.clearCookies();
    await page.goto(cp.url + new URL(shown).pathname);
    const text = await page.locator('main').innerText();
    assert.ok(text.includes(OTHER_PUBLIC));
    for (const hidden of [PUBLIC_SUMMARY, PUBLIC_UPDATE, 'Practice other-clinic'])
      assert.ok(!text.includes(hidden), `the other clinic's page must not show ${hidden}`);
  });
});
