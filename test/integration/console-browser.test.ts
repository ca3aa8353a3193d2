/**
 * The console in a real browser (Debian's Chromium through playwright-core), checked with axe-core. Each page
 * is kept as a screenshot in test/artifacts/console/ (gitignored) for a person to look at.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
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
import { linkIn, onboard, waitForMail, useSession } from '../helpers/console.ts';
import { SmtpSink } from '../helpers/smtp-sink.ts';
import { TwilioStandIn } from '../helpers/twilio-standin.ts';
import { totpNow } from '../../control-plane/src/users/totp.ts';
import { screenshotAndAxe } from '../helpers/axe.ts';

const ARTIFACTS = path.resolve('test/artifacts/console');
const PASSWORD = 'a long and private passphrase';
const DEV_PHONE = '+15551230002';
// Long enough that the operator acknowledges first however slow the machine; the test then makes it due.
const LEVEL2_DELAY_S = 600;

describe('the console in a browser', function () {
  this.timeout(180_000);
  let cp: TestControlPlane;
  let sink: SmtpSink;
  let tw: TwilioStandIn;
  let browser: Chromium;
  let page: Page;

  /** Screenshot for the artifacts, and no serious or critical axe violation on the page as it is. */
  async function check(name: string): Promise<void> {
    await screenshotAndAxe(page, ARTIFACTS, name);
  }

  before(async () => {
    await fs.mkdir(ARTIFACTS, { recursive: true });
    tw = await new TwilioStandIn().start();
    sink = await new SmtpSink().start();
    cp = await startControlPlane({
      TWILIO_ACCOUNT_SID: 'AC' + '0123456789abcdef'.repeat(2),
      TWILIO_AUTH_TOKEN: 'twilio-auth-token-for-tests-0123456789',
      TWILIO_FROM_NUMBER: '+15005550006',
      TWILIO_API_URL: tw.url,
      SMTP_URL: sink.url,
      WORKER_POLL_INTERVAL_MS: '100',
      REPORT_SCHEDULER: 'off',
      CONSOLE_SIGNIN_ATTEMPTS: '3',
    });
    await cp.call('POST', '/api/v1/clients', { body: clientBody('smile-dental') });
    await cp.call('POST', '/api/v1/instances', { body: instanceBody('smile-dental', 'smile-prod') });
    await cp.db.query(
      `insert into responders (name, role, phone, email) values
         ('Olivia', 'oncall-engineer', '+15551230001', 'olivia@ops.example.test'),
         ('Dev', 'devops-lead', $1, 'dev@ops.example.test')`,
      [DEV_PHONE],
    );
    await cp.db.query(`update escalation_levels set delay_seconds = $1 where level = 2`, [LEVEL2_DELAY_S]);
    browser = await startChromium();
    page = await browser.context.newPage();
  });
  after(async () => {
    await browser?.close();
    await cp?.close();
    await sink?.stop();
    await tw?.stop();
  });

  let operatorSecret = '';

  it('an admin invites an operator, who sets a password and signs in with password and TOTP', async () => {
    // The first admin came in by the API's invite; the browser takes over the admin's session cookie.
    const { client: admin } = await onboard(cp, sink, {
      email: 'ada@ops.example.test',
      name: 'Ada',
      role: 'admin',
    });
    await useSession(browser, cp.url, admin);
    await page.goto(cp.url + '/console/users');
    await check('users');
    await page.getByLabel('E-mail').fill('otto@ops.example.test');
    await page.getByLabel('Name', { exact: true }).fill('Otto Operator');
    await page.getByLabel('Role').selectOption('operator');
    await page.getByRole('button', { name: 'Invite' }).click();
    await page.getByText('Invited otto@ops.example.test').waitFor();
    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await check('signin');

    const link = linkIn(await waitForMail(sink, 'otto@ops.example.test'), 'accept');
    await page.goto(cp.url + link);
    await check('set-password');
    await page.getByLabel('New password').fill(PASSWORD);
    await page.getByLabel('The same password again').fill(PASSWORD);
    await page.getByRole('button', { name: 'Set password' }).click();
    await page.getByLabel('E-mail').fill('otto@ops.example.test');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Set up your second factor' }).waitFor();
    await check('totp-setup');
    operatorSecret = (await page.locator('#totp-secret').innerText()).replace(/\s/g, '');
    await page.getByLabel('6-digit code').fill(totpNow(operatorSecret));
    await page.getByRole('button', { name: 'Confirm' }).click();
    await page.getByRole('heading', { name: 'Your recovery codes' }).waitFor();
    assert.equal(await page.locator('#recovery-codes li').count(), 10);
    await check('recovery-codes');
    await page.getByRole('link', { name: 'Continue to the console' }).click();
    await page.getByRole('heading', { name: 'Incidents' }).waitFor();
    assert.match(await page.locator('header').innerText(), /Otto Operator \(operator\)/);
  });

  it("an Alertmanager webhook's incident appears without reload; acknowledging it there stops escalation", async () => {
    await page.goto(cp.url + '/console/incidents');
    await check('incidents-empty');
    const am = await cp.token('alertmanager');
    const hooked = await cp.call('POST', '/api/v1/alertmanager/webhook', {
      token: am,
      body: alertPayload({ groupKey: 'g-console' }),
    });
    assert.equal(hooked.status, 200, hooked.text);
    const code = hooked.body.incident as string;
    // No reload: the row arrives through the live stream.
    const row = page.locator('#incident-rows tr', { hasText: code });
    await row.waitFor({ timeout: 15_000 });
    assert.match(await row.innerText(), /open/);
    await check('incidents-live');
    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: path.join(ARTIFACTS, 'incidents-phone.png'), fullPage: true });
    await page.setViewportSize({ width: 1280, height: 800 });

    await waitFor('the level 1 SMS', () =>
      tw.messages('+15551230001').some((m) => m.params.Body?.includes(code)) ? true : undefined,
    );
    const steps = () =>
      cp.db
        .query(
          `select s.level from escalation_steps s join incidents i on i.id = s.incident_id where i.code = $1`,
          [code],
        )
        .then((r) => r.rows.map((x: { level: number }) => x.level));
    assert.deepEqual(await steps(), [2], 'level 2 waits for its delay');
    await row.getByRole('link', { name: code }).click();
    await page.getByRole('heading', { name: new RegExp(code) }).waitFor();
    await page.getByRole('button', { name: 'Acknowledge' }).click();
    await page.locator('#incident-status', { hasText: 'acknowledged' }).waitFor();
    assert.match(await page.locator('#pages').innerText(), /Olivia\s+sms\s+(sent|delivered)\s+1/);
    await check('incident-acknowledged');
    const inc = (await cp.call('GET', `/api/v1/incidents/${code}`)).body;
    assert.match(inc.acknowledgedBy, /otto@ops\.example\.test \(operator, user /);
    // Level 2 made due now: the runner takes the step, finds the incident acknowledged, and pages no one.
    await cp.db.query(`update escalation_steps set due_at = now()`);
    await waitFor('the level 2 step to run', async () => ((await steps()).length === 0 ? true : undefined));
    assert.deepEqual(
      tw.messages(DEV_PHONE).filter((m) => m.params.Body?.includes(code)),
      [],
      'escalation stopped at the acknowledgement',
    );
  });

  it("registering an instance with a bad field shows the API's error at that field", async () => {
    await page.goto(cp.url + '/console/fleet');
    await check('fleet');
    await page.getByLabel('Instance name').fill('smile-staging');
    await page.getByLabel('Environment').fill('staging');
    // A URL the browser accepts but the API refuses (http or https only).
    await page.getByLabel('Base URL').fill('ftp://smile.example.test');
    await page.getByLabel('First service name').fill('backend');
    await page.getByLabel('Its health check URL').fill('https://smile.example.test/healthz');
    await page.getByRole('button', { name: 'Register' }).click();
    const error = page.locator('#f-baseUrl-error');
    await error.waitFor();
    assert.equal(await error.innerText(), 'Base URL must be a URL that starts with http:// or https://.');
    assert.equal(await page.getByLabel('Base URL').getAttribute('aria-invalid'), 'true');
    assert.equal(
      await page.getByLabel('Base URL').inputValue(),
      'ftp://smile.example.test',
      'the form keeps what was typed',
    );
    await check('fleet-error');
    assert.equal((await cp.call('GET', '/api/v1/instances')).body.length, 1, 'nothing was registered');
  });

  it('refuses a form whose CSRF token is not the session’s', async () => {
    const inc = await cp.call('POST', '/api/v1/incidents', {
      body: { client: 'smile-dental', severity: 'warning', title: 'CSRF target' },
    });
    await page.goto(cp.url + `/console/incidents/${inc.body.code}`);
    await page.evaluate(() => {
      for (const f of document.querySelectorAll<HTMLInputElement>('input[name="_csrf"]')) f.value = 'forged';
    });
    await page.getByRole('button', { name: 'Acknowledge' }).click();
    await page.getByText('did not come from this console').waitFor();
    await check('csrf-refused');
    assert.equal((await cp.call('GET', `/api/v1/incidents/${inc.body.code}`)).body.status, 'open');
  });

  it('an operator cannot reach admin pages', async () => {
    const res = await page.goto(cp.url + '/console/users');
    assert.equal(res?.status(), 403);
    await page.getByText('not open to the operator role').waitFor();
    assert.equal(await page.getByRole('link', { name: 'Users' }).count(), 0, 'no Users link for operators');
    await check('forbidden');
  });

  it('signs out a session idle past CONSOLE_IDLE_MINUTES', async () => {
    await cp.db.query(
      `update console_sessions set last_seen_at = now() - interval '16 minutes'
       where user_id = (select id from console_users where email = 'otto@ops.example.test')`,
    );
    await page.goto(cp.url + '/console/incidents');
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    assert.match(page.url(), /\/console\/signin\?next=%2Fconsole%2Fincidents/);
  });

  it('locks the account after CONSOLE_SIGNIN_ATTEMPTS wrong passwords', async () => {
    for (let i = 0; i < 3; i++) {
      await page.getByLabel('E-mail').fill('otto@ops.example.test');
      await page.getByLabel('Password').fill('not the password ' + i);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('alert').waitFor();
    }
    assert.match(await page.getByRole('alert').innerText(), /locked after too many failed sign-ins/);
    await page.getByLabel('E-mail').fill('otto@ops.example.test');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').waitFor();
    assert.match(await page.getByRole('alert').innerText(), /locked/);
    await check('locked');
  });
});
