/**
 * The console's incident actions and fleet editing in a real browser (Debian's Chromium through playwright-core),
 * checked with axe-core: reassign, raise severity and the public summary with a live list open beside; editing an
 * instance and a service with the API's errors at the fields; decommissioning after typing the name; Faro keys;
 * Grafana links; the fleet page paged and filtered; no sideways scrolling on a 375 px phone. Screenshots go to
 * test/artifacts/console/ (gitignored).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { waitFor } from '../helpers/alerts.ts';
import type { Chromium } from '../helpers/chromium.ts';
import {
  clientBody,
  instanceBody,
  startControlPlane,
  type TestControlPlane,
} from '../helpers/control-plane.ts';
import { browserSignedIn } from '../helpers/console.ts';
import { SmtpSink } from '../helpers/smtp-sink.ts';
import { TwilioStandIn } from '../helpers/twilio-standin.ts';
import { screenshotAndAxe } from '../helpers/axe.ts';

const ARTIFACTS = path.resolve('test/artifacts/console');
const OLIVIA_PHONE = '+15551230001';
/** "7 Dec 2026, 14:05 UTC": how the console shows a time. */
const HUMAN_TIME = /^\d{1,2} [A-Z][a-z]{2} \d{4}, \d\d:\d\d UTC$/;

describe('the console acts on incidents and the fleet in a browser', function () {
  this.timeout(180_000);
  let cp: TestControlPlane;
  let sink: SmtpSink;
  let tw: TwilioStandIn;
  let browser: Chromium;
  let page: Page;
  let instanceId = '';

  /** Screenshot for the artifacts, and no serious or critical axe violation on the page as it is. */
  async function check(name: string, p: Page = page): Promise<void> {
    await screenshotAndAxe(p, ARTIFACTS, name);
  }

  /** The page is no wider than the screen: nothing scrolls it sideways. */
  async function noSidewaysScroll(what: string): Promise<void> {
    const { scroll, client } = await page.evaluate(() => ({
      scroll: document.documentElement.scrollWidth,
      client: document.documentElement.clientWidth,
    }));
    assert.ok(scroll <= client, `${what}: the page is ${scroll} px wide on a ${client} px screen`);
  }

  const audit = async (targetType: string, targetId: string) =>
    (await cp.call('GET', `/api/v1/audit?targetType=${targetType}&targetId=${targetId}`)).body as {
      action: string;
      actor: string;
    }[];

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
      GRAFANA_URL: 'https://grafana.example.test/',
    });
    await cp.call('POST', '/api/v1/clients', { body: clientBody('smile-dental') });
    const created = await cp.call('POST', '/api/v1/instances', {
      body: instanceBody('smile-dental', 'smile-prod'),
    });
    instanceId = created.body.id;
    await cp.db.query(
      `insert into responders (name, role, phone, email) values
         ('Olivia', 'oncall-engineer', $1, 'olivia@ops.example.test'),
         ('Dev', 'devops-lead', '+15551230002', 'dev@ops.example.test')`,
      [OLIVIA_PHONE],
    );
    // Escalation waits long enough that only the reassignment pages anyone during the test.
    await cp.db.query(`update escalation_levels set delay_seconds = 3600 where level > 1`);
    ({ browser, page } = await browserSignedIn(cp, sink, {
      email: 'otto@ops.example.test',
      name: 'Otto',
      role: 'operator',
    }));
  });
  after(async () => {
    await browser?.close();
    await cp?.close();
    await sink?.stop();
    await tw?.stop();
  });

  it('on a 375 px phone the incidents list, an incident and the fleet do not scroll sideways; times read as people read them', async () => {
    const inc = await cp.call('POST', '/api/v1/incidents', {
      body: {
        client: 'smile-dental',
        severity: 'info',
        title: 'ConciergeBackendDownForTheWholeMorningAcrossEveryInstanceOfThisClient',
      },
    });
    assert.equal(inc.status, 201, inc.text);
    await page.setViewportSize({ width: 375, height: 812 });
    try {
      await page.goto(cp.url + '/console/incidents');
      const row = page.locator('#incident-rows tr', { hasText: inc.body.code });
      await row.waitFor();
      await noSidewaysScroll('incidents');
      const opened = row.locator('time');
      assert.match(await opened.innerText(), HUMAN_TIME);
      assert.equal(await opened.getAttribute('datetime'), inc.body.openedAt);
      await check('act-incidents-phone');

      await row.getByRole('link', { name: inc.body.code }).click();
      await page.getByRole('heading', { name: new RegExp(inc.body.code) }).waitFor();
      await noSidewaysScroll('an incident');
      const facts = await page.locator('dl.facts').innerText();
      assert.doesNotMatch(facts, /\d{4}-\d\d-\d\dT/, 'no raw ISO time on the page');
      assert.match(await page.locator('dl.facts time').first().innerText(), HUMAN_TIME);
      await check('act-incident-phone');

      await page.goto(cp.url + '/console/fleet');
      await noSidewaysScroll('the fleet');
      await check('act-fleet-phone');
    } finally {
      await page.setViewportSize({ width: 1280, height: 800 });
    }
  });

  it('reassigns, raises severity and edits the public summary, and an open list shows each change live', async () => {
    const inc = (
      await cp.call('POST', '/api/v1/incidents', {
        body: { client: 'smile-dental', severity: 'warning', title: 'Front desk calls fail' },
      })
    ).body;
    // The list, open in a second tab, is never reloaded.
    const list = await browser.context.newPage();
    await list.goto(cp.url + '/console/incidents');
    const listed = list.locator(`#inc-${inc.id}`);
    await listed.waitFor();
    assert.match(await listed.innerText(), /warning/);

    await page.goto(cp.url + `/console/incidents/${inc.code}`);
    await check('act-incident');
    await page.getByLabel('New severity').selectOption('critical');
    await page.getByLabel('Why (optional)').fill('every clinic of the client');
    await page.getByRole('button', { name: 'Raise severity' }).click();
    await page.locator('#incident-severity', { hasText: 'critical' }).waitFor();
    assert.match(
      await page.locator('.timeline').innerText(),
      /severity raised by .*from warning to critical/,
    );
    await list.locator(`#inc-${inc.id} .sev-critical`).waitFor({ timeout: 15_000 });
    assert.equal((await cp.call('GET', `/api/v1/incidents/${inc.code}`)).body.severity, 'critical');
    assert.equal(await page.getByLabel('New severity').count(), 0, 'critical is the highest: no form');

    await page.getByLabel('Responder').selectOption({ label: 'Olivia (oncall-engineer)' });
    await page.getByLabel('Note (internal, optional)').fill('she knows this clinic');
    await page.getByRole('button', { name: 'Reassign' }).click();
    await page.locator('.timeline', { hasText: 'to Olivia' }).waitFor();
    await waitFor('the reassignment SMS to Olivia', () =>
      tw.messages(OLIVIA_PHONE).some((m) => m.params.Body?.includes(inc.code)) ? true : undefined,
    );

    // Spaces only: the browser lets them through; the API's schema, after trimming, does not.
    await page.getByLabel('What the client reads').fill('   ');
    await page.getByRole('button', { name: 'Save public summary' }).click();
    const error = page.locator('#publicSummary-error');
    await error.waitFor();
    assert.equal(await error.innerText(), 'Public summary must not be empty.');
    assert.equal(await page.getByLabel('What the client reads').getAttribute('aria-invalid'), 'true');
    await check('act-incident-error');
    const summary = 'Calls to the front desk fail; we are restoring the phone line.';
    await page.getByLabel('What the client reads').fill(summary);
    await page.getByRole('button', { name: 'Save public summary' }).click();
    await page.locator('#incident-public-summary', { hasText: summary }).waitFor();
    const clientToken = await cp.token('client', 'smile-dental');
    const seen = await cp.call('GET', `/api/v1/incidents/${inc.code}`, { token: clientToken });
    assert.equal(seen.body.publicSummary, summary, 'the client reads the new summary');

    const records = await waitFor('the audit records', async () => {
      const r = await audit('incident', inc.id);
      return r.length >= 4 ? r : undefined;
    });
    for (const action of ['incident.severity_raised', 'incident.reassigned', 'incident.note'])
      assert.match(
        records.find((r) => r.action === action)?.actor ?? '',
        /otto@ops\.example\.test \(operator, user /,
        `${action} names the person`,
      );
    await list.close();
  });

  it("edits an instance and a service with the API's errors at the fields", async () => {
    await page.goto(cp.url + '/console/fleet');
    await page.getByRole('link', { name: 'smile-prod', exact: true }).click();
    await page.getByRole('heading', { name: 'smile-dental/smile-prod' }).waitFor();
    await check('act-instance');
    await page.getByLabel('Base URL', { exact: true }).fill('ftp://smile.example.test');
    await page.getByRole('button', { name: 'Save instance' }).click();
    const error = page.locator('#f-baseUrl-error');
    await error.waitFor();
    assert.equal(await error.innerText(), 'Base URL must be a URL that starts with http:// or https://.');
    assert.equal(await page.getByLabel('Base URL', { exact: true }).inputValue(), 'ftp://smile.example.test');
    await check('act-instance-error');
    assert.equal(
      (await cp.call('GET', `/api/v1/instances/${instanceId}`)).body.baseUrl,
      'https://smile-prod.example.test',
      'nothing changed',
    );
    await page.getByLabel('Base URL', { exact: true }).fill('https://smile-new.example.test');
    await page.getByRole('button', { name: 'Save instance' }).click();
    await page.getByText('Saved the instance.').waitFor();
    assert.equal(
      (await cp.call('GET', `/api/v1/instances/${instanceId}`)).body.baseUrl,
      'https://smile-new.example.test',
    );

    // The proxy (the second service): a bad health check URL, then a good one.
    await page.locator('#f-services-1-probe-url').fill('ftp://smile-new.example.test/ready');
    await page.getByRole('button', { name: 'Save proxy' }).click();
    const serviceError = page.locator('#f-services-1-probe-url-error');
    await serviceError.waitFor();
    assert.equal(
      await serviceError.innerText(),
      'Health check URL must be a URL that starts with http:// or https://.',
    );
    await page.locator('#f-services-1-probe-url').fill('https://smile-new.example.test/ready');
    await page.getByRole('button', { name: 'Save proxy' }).click();
    await page.getByText('Saved the service.').waitFor();
    const services = (await cp.call('GET', `/api/v1/instances/${instanceId}`)).body.services;
    assert.equal(services[1].probe.url, 'https://smile-new.example.test/ready');
    assert.equal(services[1].probe.timeoutMs, 3000, "the probe's other settings stay");
    assert.equal(services.length, 4, 'the other services stay');
    const records = await audit('instance', instanceId);
    assert.ok(records.filter((r) => r.action === 'instance.update').length >= 2);
    assert.match(records.find((r) => r.action === 'instance.update')!.actor, /otto@ops\.example\.test/);
  });

  it('links each client and instance to its Grafana dashboard', async () => {
    await page.goto(cp.url + `/console/fleet/instances/${instanceId}`);
    assert.equal(
      await page.locator('#grafana-link').getAttribute('href'),
      'https://grafana.example.test/d/concierge-client-detail?var-client=smile-dental&var-instance=smile-prod',
    );
    await page.goto(cp.url + '/console/fleet');
    assert.equal(
      await page
        .getByRole('link', { name: 'Grafana dashboard of smile-dental', exact: true })
        .getAttribute('href'),
      'https://grafana.example.test/d/concierge-client-detail?var-client=smile-dental',
    );
  });

  it('creates, rotates and revokes Faro app keys, showing each new key once', async () => {
    await page.goto(cp.url + `/console/fleet/instances/${instanceId}`);
    await page.getByLabel('Allowed origins').fill('https://smile.example.test/path');
    await page.getByRole('button', { name: 'Create a Faro app key' }).click();
    const originError = page.locator('#allowedOrigins-error');
    await originError.waitFor();
    assert.match(await originError.innerText(), /^Origin 1 must be an origin/);
    await page.getByLabel('Allowed origins').fill('https://smile.example.test');
    await page.getByRole('button', { name: 'Create a Faro app key' }).click();
    const first = await page.locator('#faro-key').innerText();
    assert.match(first, /^faro_[A-Za-z0-9_-]{43}$/);
    await check('act-faro-key');
    const keys = (await cp.call('GET', `/api/v1/instances/${instanceId}/faro-keys`)).body;
    assert.deepEqual(
      keys.map((k: { prefix: string; allowedOrigins: string[] }) => [k.prefix, k.allowedOrigins]),
      [[first.slice(0, 10), ['https://smile.example.test']]],
    );
    // The form's answer is a redirect: reloading the page that shows the key shows it no more and issues none.
    assert.match(page.url(), new RegExp(`/console/fleet/instances/${instanceId}#faro$`));
    await page.reload();
    await page.getByRole('button', { name: 'Rotate the key' }).waitFor();
    assert.equal(await page.locator('#faro-key').count(), 0, 'the key is not shown again');
    assert.equal(
      (await cp.call('GET', `/api/v1/instances/${instanceId}/faro-keys`)).body.length,
      1,
      'no second key',
    );

    await page.getByLabel('The old key keeps working').selectOption('3600');
    await page.getByRole('button', { name: 'Rotate the key' }).click();
    const second = await page.locator('#faro-key').innerText();
    assert.notEqual(second, first);
    assert.equal(await page.locator('#faro-keys tbody tr').count(), 2);
    await page.getByRole('button', { name: 'Revoke every key now' }).click();
    await page.getByText('Revoked every working Faro app key').waitFor();
    assert.ok(await cp.ctx.faro.resolve(second).then((k) => k === undefined), 'the new key no longer works');
  });

  it('decommissions an instance only after its name is typed', async () => {
    await cp.call('POST', '/api/v1/instances', { body: instanceBody('smile-dental', 'smile-old') });
    await page.goto(cp.url + '/console/fleet');
    await page.getByRole('link', { name: 'smile-old', exact: true }).click();
    await page.getByRole('link', { name: 'Decommission smile-old…' }).click();
    await page.getByRole('heading', { name: 'Decommission smile-dental/smile-old' }).waitFor();
    await page.getByLabel(/Type the instance's name/).fill('smile-prod');
    await page.getByRole('button', { name: 'Decommission smile-old' }).click();
    const error = page.locator('#confirm-error');
    await error.waitFor();
    assert.equal(await error.innerText(), "The name must be the instance's name, smile-old, typed exactly.");
    await check('act-decommission-error');
    assert.equal((await cp.call('GET', '/api/v1/instances/smile-old')).body.status, 'active');
    await page.getByLabel(/Type the instance's name/).fill('smile-old');
    await page.getByRole('button', { name: 'Decommission smile-old' }).click();
    await page.locator('#instance-state', { hasText: 'decommissioned' }).waitFor();
    const old = (await cp.call('GET', '/api/v1/instances/smile-old')).body;
    assert.equal(old.status, 'decommissioned');
    assert.match(
      (await audit('instance', old.id)).find((r) => r.action === 'instance.decommission')?.actor ?? '',
      /otto@ops\.example\.test/,
    );
  });

  it('pages the fleet on the server and filters it by client, state and words', async () => {
    await cp.call('POST', '/api/v1/clients', { body: clientBody('bright-smiles') });
    const bright = (await cp.call('GET', '/api/v1/clients/bright-smiles')).body.id;
    await cp.db.query(
      `insert into instances (client_id, slug, environment, base_url)
       select $1, 'bright-' || lpad(g::text, 3, '0'), 'production', 'https://b' || g || '.example.test'
       from generate_series(1, 120) g`,
      [bright],
    );
    await page.goto(cp.url + '/console/fleet');
    // Active instances: 120 of bright-smiles and smile-prod (smile-old is decommissioned).
    assert.equal(await page.locator('#instance-total').innerText(), '121');
    assert.equal(await page.locator('#instance-rows tbody tr').count(), 50);
    await page.getByRole('link', { name: 'Next 50 instances' }).click();
    await page.getByRole('link', { name: 'First page' }).waitFor();
    assert.match(await page.locator('#instance-rows tbody tr').first().innerText(), /bright-051/);
    await page.getByRole('link', { name: 'Next 50 instances' }).click();
    await page.getByRole('link', { name: 'First page' }).waitFor();
    const last = page.locator('#instance-rows tbody tr');
    assert.equal(await last.count(), 21);
    assert.match(await last.last().innerText(), /smile-prod/);
    assert.equal(await page.getByRole('link', { name: /^Next/ }).count(), 0, 'no page after the last');
    await check('act-fleet-last-page');

    await page.getByLabel('Search').fill('bright-11');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.locator('#instance-total', { hasText: /^10$/ }).waitFor();
    await page.getByLabel('Search').fill('');
    await page.locator('#flt-client').selectOption('smile-dental');
    await page.getByLabel('State').selectOption('all');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.locator('#instance-total', { hasText: /^2$/ }).waitFor();
    assert.match(await page.locator('#instance-rows').innerText(), /smile-old[\s\S]*decommissioned/);

    const bad = await page.goto(cp.url + '/console/fleet?after=' + encodeURIComponent('NOT A CURSOR'));
    assert.equal(bad?.status(), 400);
    assert.match(await page.locator('main').innerText(), /The page link must be /);
  });
});
