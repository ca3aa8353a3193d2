/**
 * Console forms for what was API-only, in Debian's Chromium with axe-core: reassigning an incident to a
 * rotation (whoever is on call there), an escalation level's business hours and off-hours channels, and what a
 * policy takes (client, severities, classes, hours). Each goes through the service the API's route calls, shows
 * the API's errors at the field, and is audited under the person. Screenshots in test/artifacts/console/.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { waitFor } from '../helpers/alerts.ts';
import type { Chromium } from '../helpers/chromium.ts';
import { clientBody, startControlPlane, type TestControlPlane } from '../helpers/control-plane.ts';
import { browserSignedIn } from '../helpers/console.ts';
import { SmtpSink } from '../helpers/smtp-sink.ts';
import { TwilioStandIn } from '../helpers/twilio-standin.ts';
import { fitsPhone, screenshotAndAxe } from '../helpers/axe.ts';

const ARTIFACTS = path.resolve('test/artifacts/console');
const OLIVIA_PHONE = '+15551230001';

interface ApiPolicy {
  id: string;
  name: string;
  clientId: string | null;
  severities: string[] | null;
  classes: string[] | null;
  hours: { timeZone: string; days: string[]; start: string; end: string } | null;
  levels: {
    delaySeconds: number;
    hours?: { timeZone: string; days: string[]; start: string; end: string } | null;
    offHoursChannels?: Record<string, string[]> | null;
  }[];
}

describe('console forms for rotations, level hours and policy selectors', function () {
  this.timeout(180_000);
  let cp: TestControlPlane;
  let sink: SmtpSink;
  let tw: TwilioStandIn;
  let browser: Chromium;
  let page: Page;
  let policyId = '';

  const check = (name: string) => screenshotAndAxe(page, ARTIFACTS, name);
  const policy = async () =>
    ((await cp.call('GET', '/api/v1/escalation-policies')).body as ApiPolicy[]).find(
      (p) => p.id === policyId,
    )!;
  const audited = async (action: string) => {
    await cp.ctx.audit.flush();
    const { rows } = await cp.db.query<{ token_name: string }>(
      `select token_name from audit_log where action = $1 order by seq`,
      [action],
    );
    return rows.map((r) => r.token_name);
  };

  before(async () => {
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
    });
    await cp.call('POST', '/api/v1/clients', { body: clientBody('smile-dental') });
    const olivia = await cp.call('POST', '/api/v1/responders', {
      body: { name: 'Olivia', role: 'oncall-engineer', phone: OLIVIA_PHONE },
    });
    assert.equal(olivia.status, 201, olivia.text);
    // "later" starts in 2099: nobody is on call in it now.
    for (const [name, startDate] of [
      ['primary', '2026-01-01'],
      ['later', '2099-01-01'],
    ] as const) {
      const r = await cp.call('POST', '/api/v1/rotations', {
        body: {
          name,
          timeZone: 'UTC',
          handoff: 'daily',
          handoffTime: '09:00',
          startDate,
          members: [olivia.body.id],
        },
      });
      assert.equal(r.status, 201, r.text);
    }
    const pol = await cp.call('POST', '/api/v1/escalation-policies', {
      body: {
        name: 'front desk',
        levels: [
          { delaySeconds: 0, targets: { roles: ['oncall-engineer'] }, channels: { critical: ['sms'] } },
          { delaySeconds: 600, targets: { roles: ['devops-lead'] } },
        ],
      },
    });
    assert.equal(pol.status, 201, pol.text);
    policyId = pol.body.id;
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

  it('reassigns an incident to whoever is on call in a rotation, and names a rotation with nobody on call at the field', async () => {
    const inc = (
      await cp.call('POST', '/api/v1/incidents', {
        body: { client: 'smile-dental', severity: 'warning', title: 'Front desk calls fail' },
      })
    ).body;
    await page.goto(cp.url + `/console/incidents/${inc.code}`);
    const who = page.getByLabel('Responder or rotation');
    const rotations = await who
      .locator('optgroup[label="Whoever is on call in a rotation"] option')
      .allInnerTexts();
    assert.ok(rotations.includes('On call in primary (now Olivia)'), rotations.join(', '));

    const timelineBefore = await page.locator('.timeline li').count();
    await who.selectOption({ label: 'On call in later (nobody now)' });
    await page.getByRole('button', { name: 'Reassign' }).click();
    const error = page.locator('#assignee-error');
    await error.waitFor();
    assert.equal(
      await error.innerText(),
      'Responder or rotation must name a rotation with someone on call now.',
    );
    assert.equal(await who.getAttribute('aria-invalid'), 'true');
    assert.equal(await page.locator('.timeline li').count(), timelineBefore, 'nothing changed');
    await check('forms-reassign-error');

    await who.selectOption({ label: 'On call in primary (now Olivia)' });
    await page.getByLabel('Note (internal, optional)').fill('the rota has it');
    await page.getByRole('button', { name: 'Reassign' }).click();
    await page.locator('.timeline', { hasText: 'to Olivia' }).waitFor();
    await waitFor('the reassignment SMS to Olivia', () =>
      tw.messages(OLIVIA_PHONE).some((m) => m.params.Body?.includes(inc.code)) ? true : undefined,
    );
    assert.deepEqual(await audited('incident.reassigned'), ['otto@ops.example.test']);
    await check('forms-reassigned');
  });

  it("edits a level's business hours and off-hours channels, with the API's errors at the fields", async () => {
    await page.goto(cp.url + `/console/policies/${policyId}`);
    const level1 = page.locator('fieldset#l0');
    await level1.getByLabel('Time zone').fill('Mars/Olympus_Mons');
    await level1.getByRole('checkbox', { name: 'MO', exact: true }).check();
    await level1.getByLabel('From (local)').fill('08:00');
    await level1.getByLabel('Until (local)').fill('18:00');
    await page.getByRole('button', { name: 'Save levels' }).click();
    const err = page.locator('#l0-hours-error');
    await err.waitFor();
    assert.match(await err.innerText(), /^Time zone must be /);
    assert.equal(
      await level1.getByLabel('Time zone').inputValue(),
      'Mars/Olympus_Mons',
      'what was typed stays',
    );
    assert.equal((await policy()).levels[0]!.hours ?? null, null, 'nothing saved');
    await check('forms-level-hours-error');

    const again = page.locator('fieldset#l0');
    await again.getByLabel('Time zone').fill('America/New_York');
    for (const d of ['TU', 'WE', 'TH', 'FR'])
      await again.getByRole('checkbox', { name: d, exact: true }).check();
    await again
      .getByRole('group', { name: 'critical' })
      .filter({ has: page.locator('input[name="levels.0.offHoursChannels.critical"]') })
      .getByRole('checkbox', { name: 'voice' })
      .check();
    await page.getByRole('button', { name: 'Save levels' }).click();
    await page.getByText('Saved.').waitFor();
    const saved = (await policy()).levels[0]!;
    assert.deepEqual(saved.hours, {
      timeZone: 'America/New_York',
      days: ['MO', 'TU', 'WE', 'TH', 'FR'],
      start: '08:00',
      end: '18:00',
    });
    assert.deepEqual(saved.offHoursChannels?.critical, ['voice']);
    assert.equal((await policy()).levels[1]!.hours ?? null, null, 'the other level keeps no hours');
    assert.match(
      await page.locator('table.levels').innerText(),
      /MO TU WE TH FR 08:00–18:00 America\/New_York/,
    );
    await check('forms-level-hours');
    await fitsPhone(page, ARTIFACTS, 'forms-level-hours-phone');
  });

  it("sets what a policy takes (client, severities, classes, hours), with the API's errors at the fields", async () => {
    await page.goto(cp.url + `/console/policies/${policyId}#selectors`);
    const form = page.locator('form[action$="/selectors#selectors"]');
    await form.getByLabel('Client').selectOption('smile-dental');
    await form.getByRole('checkbox', { name: 'critical' }).check();
    await form.getByRole('checkbox', { name: 'security' }).check();
    await form.getByLabel('From (local)').fill('20:00');
    await page.getByRole('button', { name: 'Save what it takes' }).click();
    const err = page.locator('#s-hours-error');
    await err.waitFor();
    assert.match(await err.innerText(), /Time zone|Days|Until|Hours/);
    const unchanged = await policy();
    assert.equal(unchanged.clientId, null, 'nothing saved');
    assert.equal(await form.getByLabel('Client').inputValue(), 'smile-dental', 'the choices stay');
    await check('forms-selectors-error');

    await form.getByLabel('From (local)').fill('');
    await page.getByRole('button', { name: 'Save what it takes' }).click();
    await page.getByText('Saved.').waitFor();
    const saved = await policy();
    assert.ok(saved.clientId, 'the client is set');
    assert.deepEqual(saved.severities, ['critical']);
    assert.deepEqual(saved.classes, ['security']);
    assert.equal(saved.hours, null);
    assert.equal(saved.levels[0]!.hours?.timeZone, 'America/New_York', "the levels' hours are kept");
    assert.deepEqual(await audited('escalation_policy.replace'), [
      'otto@ops.example.test',
      'otto@ops.example.test',
    ]);
    await check('forms-selectors');
  });
});
