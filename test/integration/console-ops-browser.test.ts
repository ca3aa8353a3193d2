/**
 * The console's operations pages in a real browser (Debian's Chromium through playwright-core), checked with
 * axe-core: on call (an override added and seen), escalation levels, maintenance windows (the preview before
 * saving), backups, and reports (approved and mailed). Screenshots go to test/artifacts/console-ops/.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { DateTime } from 'luxon';
import type { Page } from 'playwright-core';
import type { Chromium } from '../helpers/chromium.ts';
import {
  clientBody,
  instanceBody,
  startControlPlane,
  type TestControlPlane,
} from '../helpers/control-plane.ts';
import { browserSignedIn, onboard, waitForMail, type ConsoleClient, useSession } from '../helpers/console.ts';
import { SmtpSink } from '../helpers/smtp-sink.ts';
import { screenshotAndAxe } from '../helpers/axe.ts';

const ARTIFACTS = path.resolve('test/artifacts/console-ops');
const ZONE = 'America/New_York';
const CONTACT = 'ops@smile-dental.example.test';
const PAGES = [
  '/console/oncall',
  '/console/policies',
  '/console/maintenance',
  '/console/backups',
  '/console/reports',
];

describe('the console’s operations pages in a browser', function () {
  this.timeout(180_000);
  let cp: TestControlPlane;
  let sink: SmtpSink;
  let browser: Chromium;
  let page: Page;
  let rotationId = '';
  const people: Record<string, string> = {};

  /** Screenshot for the artifacts, and no serious or critical axe violation on the page as it is. */
  async function check(name: string): Promise<void> {
    await screenshotAndAxe(page, ARTIFACTS, name);
  }

  /** The page at phone width (375 px): kept as a screenshot, and the page itself does not scroll sideways. */
  async function onPhone(name: string): Promise<void> {
    await page.setViewportSize({ width: 375, height: 812 });
    await page.screenshot({ path: path.join(ARTIFACTS, `${name}-phone.png`), fullPage: true });
    const wide = await page.evaluate(() => document.documentElement.scrollWidth);
    await page.setViewportSize({ width: 1280, height: 800 });
    assert.ok(wide <= 375, `${name}: the page is ${wide} px wide on a 375 px phone`);
  }

  async function signInAs(c: ConsoleClient): Promise<void> {
    await browser.context.clearCookies();
    await useSession(browser, cp.url, c);
  }

  /** The audit records of `action` as the API's audit log answers them. */
  async function audited(action: string) {
    const all = (await cp.call('GET', '/api/v1/audit?limit=200')).body as { action: string; actor: string }[];
    return all.filter((r) => r.action === action);
  }

  before(async () => {
    await fs.mkdir(ARTIFACTS, { recursive: true });
    sink = await new SmtpSink().start();
    cp = await startControlPlane({
      SMTP_URL: sink.url,
      WORKER_POLL_INTERVAL_MS: '100',
      REPORT_SCHEDULER: 'off',
    });
    await cp.call('POST', '/api/v1/clients', { body: clientBody('smile-dental', { timeZone: ZONE }) });
    await cp.call('POST', '/api/v1/instances', { body: instanceBody('smile-dental', 'smile-prod') });
    for (const [name, role, phone] of [
      ['Olivia', 'oncall-engineer', '+15551230001'],
      ['Dev', 'devops-lead', '+15551230002'],
      ['Priya', 'oncall-engineer', '+15551230003'],
    ] as const) {
      const r = await cp.call('POST', '/api/v1/responders', { body: { name, role, phone } });
      assert.equal(r.status, 201, r.text);
      people[name] = r.body.id;
    }
    const rot = await cp.call('POST', '/api/v1/rotations', {
      body: {
        name: 'primary',
        timeZone: ZONE,
        handoff: 'daily',
        handoffTime: '09:00',
        startDate: '2026-01-01',
        members: [people.Olivia, people.Dev],
      },
    });
    assert.equal(rot.status, 201, rot.text);
    rotationId = rot.body.id;
    const pol = await cp.call('POST', '/api/v1/escalation-policies', {
      body: {
        name: 'smile-dental rota',
        client: 'smile-dental',
        levels: [
          { delaySeconds: 0, targets: { rotations: [rotationId] }, channels: { critical: ['sms', 'voice'] } },
          { delaySeconds: 900, targets: { roles: ['devops-lead'] } },
        ],
      },
    });
    assert.equal(pol.status, 201, pol.text);
    const agent = await cp.token('backup-agent');
    const yesterday = DateTime.now().minus({ days: 1 }).startOf('hour');
    const run = await cp.call('POST', '/api/v1/backups/runs', {
      token: agent,
      body: {
        runId: 'nightly-1',
        instance: 'smile-prod',
        tool: 'pg_dump',
        kind: 'full',
        startedAt: yesterday.toUTC().toISO(),
        finishedAt: yesterday.plus({ minutes: 3 }).toUTC().toISO(),
        status: 'success',
        sizeBytes: 123_456_789,
        verified: true,
      },
    });
    assert.equal(run.status, 201, run.text);
    const restore = await cp.call('POST', '/api/v1/backups/restore-tests', {
      token: agent,
      body: {
        testId: 'restore-1',
        instance: 'smile-prod',
        backupRunId: 'nightly-1',
        startedAt: yesterday.plus({ hours: 1 }).toUTC().toISO(),
        finishedAt: yesterday.plus({ hours: 1, minutes: 2 }).toUTC().toISO(),
        success: true,
        durationSeconds: 120,
      },
    });
    assert.equal(restore.status, 201, restore.text);
    // A run that failed four days ago: the slots since then are owed, and the days between have none.
    const failed = await cp.call('POST', '/api/v1/backups/runs', {
      token: agent,
      body: {
        runId: 'nightly-0',
        instance: 'smile-prod',
        tool: 'pg_dump',
        kind: 'full',
        startedAt: yesterday.minus({ days: 3 }).toUTC().toISO(),
        finishedAt: yesterday.minus({ days: 3 }).plus({ minutes: 1 }).toUTC().toISO(),
        status: 'failed',
        error: 'disk full',
      },
    });
    assert.equal(failed.status, 201, failed.text);
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
  });

  it('shows who is on call now and the levels that page them; an added override shows there and in the calendar', async () => {
    await page.goto(cp.url + '/console/oncall');
    const now = (await cp.call('GET', '/api/v1/oncall/now')).body.oncall[0];
    const row = page.locator('#oncall-now tbody tr', { hasText: 'primary' });
    assert.match(await row.innerText(), new RegExp(now.responder.name));
    assert.match(await row.innerText(), /smile-dental rota, level 1 after 0 s/);
    assert.doesNotMatch(await row.innerText(), /\d{4}-\d{2}-\d{2}T/, 'no raw ISO times');
    assert.equal(await page.locator('#calendar-days > li').count(), 14, 'two weeks of days');
    await check('oncall');

    // A bad period first: the API's own check, shown at its field, and nothing added.
    const local = (d: DateTime) => d.setZone(ZONE).toFormat("yyyy-MM-dd'T'HH:mm");
    const start = DateTime.now().minus({ minutes: 5 });
    await page.getByLabel('Who is on call instead').selectOption({ label: 'Priya (oncall-engineer)' });
    await page.getByLabel(`From (${ZONE})`).fill(local(start));
    await page.getByLabel(`To (${ZONE})`).fill(local(start.minus({ hours: 1 })));
    await page.getByRole('button', { name: 'Add override' }).click();
    const error = page.locator('#f-end-error');
    await error.waitFor();
    assert.match(await error.innerText(), /must be after start/);
    assert.equal(await page.getByLabel(`To (${ZONE})`).getAttribute('aria-invalid'), 'true');
    await check('oncall-override-error');
    assert.equal((await cp.call('GET', `/api/v1/rotations/${rotationId}`)).body.overrides.length, 0);

    await page.getByLabel(`To (${ZONE})`).fill(local(start.plus({ hours: 3 })));
    await page.getByLabel('Reason (optional)').fill('Olivia at the dentist');
    await page.getByRole('button', { name: 'Add override' }).click();
    await page.getByText(/Priya is on call for primary from/).waitFor();
    assert.match(await row.innerText(), /Priya \(override\)/);
    const today = page.locator('#calendar-days > li').first();
    assert.match(await today.innerText(), /Priya \(override\)/);
    assert.match(await page.locator('#override-list').innerText(), /Olivia at the dentist/);
    await check('oncall-override-added');
    await onPhone('oncall');
    const [record] = await audited('rotation.override');
    assert.match(record!.actor, /otto@ops\.example\.test \(operator, user /);

    await page.getByRole('button', { name: /Remove the override of Priya/ }).click();
    await page.getByText('Override removed.').waitFor();
    assert.doesNotMatch(await row.innerText(), /Priya/);
    assert.equal((await audited('rotation.override_delete')).length, 1);
  });

  it("lists escalation policies with their levels and edits levels with the API's errors at the field", async () => {
    await page.goto(cp.url + '/console/policies');
    const section = page.locator('section.policy', { hasText: 'smile-dental rota' });
    assert.match(await section.innerText(), /on call in primary/);
    assert.match(await section.innerText(), /critical: sms\+voice/);
    assert.match(await section.innerText(), /role devops-lead/);
    await check('policies');
    await onPhone('policies');
    await section.getByRole('link', { name: 'smile-dental rota' }).click();
    await page.getByRole('heading', { name: 'Edit the levels' }).waitFor();
    // Level 2 may not come before level 1: the policy service's rule, named at level 2's delay.
    await page.locator('#l0-delay').fill('1200');
    await page.getByRole('button', { name: 'Save levels' }).click();
    await page.locator('#l1-delay-error').waitFor();
    assert.match(await page.locator('#l1-delay-error').innerText(), /must not be less than the level before/);
    assert.equal(await page.locator('#l0-delay').inputValue(), '1200', 'the form keeps what was typed');
    await check('policy-error');
    await page.locator('#l0-delay').fill('60');
    await page.locator('#l2-delay').fill('1800');
    await page.locator('#l2-roles').fill('cto');
    await page.getByRole('button', { name: 'Save levels' }).click();
    await page.getByText('Saved.').waitFor();
    const saved = (await cp.call('GET', '/api/v1/escalation-policies')).body.find(
      (p: { name: string }) => p.name === 'smile-dental rota',
    );
    assert.deepEqual(
      saved.levels.map((l: { delaySeconds: number }) => l.delaySeconds),
      [60, 900, 1800],
    );
    assert.deepEqual(saved.levels[0].targets.rotations, [rotationId]);
    assert.deepEqual(saved.levels[2].targets.roles, ['cto']);
    assert.match((await audited('escalation_policy.replace'))[0]!.actor, /otto@ops\.example\.test/);
    await check('policy-saved');
    await onPhone('policy-saved');
  });

  it('previews the next occurrences of a maintenance window before creating it, then deletes it', async () => {
    await page.goto(cp.url + '/console/maintenance');
    await check('maintenance-empty');
    await page
      .getByLabel('For')
      .selectOption({ label: 'Practice smile-dental (smile-dental), every instance' });
    await page.getByLabel('Reason').fill('Wednesday database upgrade');
    // From tomorrow: its first five Wednesdays, 02:00 New York time. The page lists the windows of the next 30
    // days, so a series fixed to begin on 1 January next year was listed only when the suite ran in December.
    // Wednesdays, as no clock change falls on one (on the second Sunday of March 02:00 does not exist there).
    const begins = DateTime.now().setZone(ZONE).startOf('day').plus({ days: 1 });
    const first = begins.plus({ days: (3 - begins.weekday + 7) % 7 }).set({ hour: 2 });
    const wednesdays = [0, 1, 2, 3, 4].map((w) => first.plus({ weeks: w }));
    await page.getByLabel('Starts (one-off) or series begins').fill(`${begins.toISODate()}T00:00`);
    await page.getByLabel('Weekly', { exact: true }).check();
    await page.getByLabel('Wednesday').check();
    await page.getByLabel('Starts at (local time)').fill('02:00');
    await page.getByLabel('Lasts (minutes)').fill('120');
    await page.getByRole('button', { name: 'Preview' }).click();
    const items = page.locator('#preview-list li');
    await items.first().waitFor();
    assert.equal(await items.count(), 5);
    // 02:00 in New York is 07:00 UTC in winter (EST), 06:00 in summer (EDT).
    assert.equal(
      await items.first().locator('time').first().getAttribute('datetime'),
      wednesdays[0]!.toUTC().toISO(),
    );
    assert.equal(wednesdays[0]!.toUTC().hour, wednesdays[0]!.isInDST ? 6 : 7);
    for (const [k, d] of wednesdays.entries())
      assert.equal(
        await items.nth(k).innerText(),
        `${d.toFormat('d LLL yyyy')}, 02:00–04:00 ${d.isInDST ? 'EDT' : 'EST'}`,
      );
    const nextYear = `from=${begins.toUTC().toISO()}&to=${begins.plus({ days: 365 }).toUTC().toISO()}`;
    assert.equal(
      (await cp.call('GET', `/api/v1/maintenance-windows?${nextYear}`)).body.length,
      0,
      'a preview saves nothing',
    );
    await check('maintenance-preview');
    await onPhone('maintenance-preview');
    await page.getByRole('button', { name: 'Create' }).click();
    await page.getByText('Created a maintenance window for smile-dental.').waitFor();
    const listed = page.locator('#window-list tbody tr', { hasText: 'Wednesday database upgrade' });
    assert.match(await listed.innerText(), /every Wednesday at 02:00 \(America\/New_York\) for 2 h/);
    await check('maintenance-created');
    assert.match((await audited('maintenance.create'))[0]!.actor, /otto@ops\.example\.test/);

    // A one-off without its end: the service's rule, at the field.
    await page.getByLabel('For').selectOption({ label: 'smile-dental/smile-prod' });
    await page.getByLabel('Reason').fill('Certificate swap');
    await page.getByLabel('Starts (one-off) or series begins').fill(`${begins.toISODate()}T10:00`);
    await page.getByRole('button', { name: 'Create' }).click();
    await page.locator('#f-end-error').waitFor();
    assert.match(await page.locator('#f-end-error').innerText(), /is required/);

    await listed.getByRole('button', { name: /Delete the window/ }).click();
    await page.getByText('Maintenance window deleted.').waitFor();
    assert.equal(await page.locator('#window-list').count(), 0);
    assert.equal((await audited('maintenance.delete')).length, 1);
  });

  it("shows a client's backups: status, missing slots and restore tests", async () => {
    await page.goto(cp.url + '/console/backups?client=smile-dental');
    const section = page.locator('section.backup', { hasText: 'smile-dental/smile-prod' });
    const text = await section.innerText();
    assert.match(text, /full by pg_dump/);
    assert.match(text, /123\.5 MB, verified/);
    assert.match(text, /Restore test\s+passed/);
    // Since the failed run four days ago, only yesterday has a backup: the days between are missing.
    assert.match(text, /needs attention/);
    assert.match(text, /daily slots missing: \d{4}-\d{2}-\d{2}/);
    assert.match(text, /nightly-0\s+full \(pg_dump\)\s+.*failed: disk full/);
    assert.match(text, /restore-1/);
    await check('backups');
    await onPhone('backups');
  });

  it('previews a report waiting for review in the page, approves it, and the mail goes out', async () => {
    const s = await cp.call('PATCH', '/api/v1/clients/smile-dental/report-settings', {
      body: { reviewBeforeSend: true },
    });
    assert.equal(s.status, 200, s.text);
    // On 1 December after the send time (08:00 New York): November's report, whatever today is.
    assert.deepEqual(await cp.ctx.reports.runMonthly(new Date('2026-12-01T14:00:00Z')), { generated: 1 });
    const month = '2026-11';
    await page.goto(cp.url + `/console/reports?month=${month}`);
    assert.match(
      await page.locator('#month-list').innerText(),
      /Practice smile-dental[\s\S]*waiting for review/,
    );
    await check('reports-month');
    await page.goto(cp.url + '/console/reports?client=smile-dental');
    const row = page.locator('#report-list tbody tr', { hasText: month });
    assert.match(await row.innerText(), /waiting for review/);
    await check('reports');
    await row.getByRole('link', { name: 'version 1' }).click();
    await page.getByRole('button', { name: 'Approve and send' }).waitFor();
    const frame = page.frameLocator('iframe.report');
    await frame.locator('body', { hasText: 'Practice smile-dental' }).waitFor();
    await check('report-pending');
    assert.equal(sink.to(CONTACT).length, 0, 'nothing is mailed before approval');

    await page.getByRole('button', { name: 'Approve and send' }).click();
    await page.getByText('Approved: the report is on its way').waitFor();
    assert.equal(await page.locator('#report-status').innerText(), 'sent');
    const [mail] = await waitForMail(sink, CONTACT);
    assert.match(mail!.subject!, /Practice smile-dental: service report for/);
    assert.equal(mail!.attachments.length, 1);
    const [approved] = await audited('report.approve');
    assert.match(approved!.actor, /otto@ops\.example\.test \(operator, user /);
    await page.reload();
    assert.match(await page.locator('#deliveries').innerText(), new RegExp(`${CONTACT}\\s+sent`));
    await check('report-sent');
    await onPhone('report-sent');

    // Correct: a reason too short is the API's error at the field; then a real one makes version 2.
    await page.getByRole('link', { name: `All versions of ${month}` }).click();
    await page.getByLabel('Reason (the client reads it)').fill('no');
    await page.getByRole('button', { name: 'Issue correction' }).click();
    await page.locator('#f-reason-error').waitFor();
    assert.match(await page.locator('#f-reason-error').innerText(), /must be at least 3 characters long/);
    await check('report-correct-error');
    await page.getByLabel('Reason (the client reads it)').fill('An outage was counted twice');
    await page.getByRole('button', { name: 'Issue correction' }).click();
    await page.getByText('Correction stored.').waitFor();
    assert.match(await page.locator('h1').innerText(), /version 2/);
    assert.match((await audited('report.correct'))[0]!.actor, /otto@ops\.example\.test/);

    // Resend the sent version of the month: every contact gets it again.
    await page.getByRole('link', { name: `All versions of ${month}` }).click();
    await page.getByRole('button', { name: 'Send version 1 again' }).click();
    await page.getByText('Sending again to every report contact.').waitFor();
    await waitForMail(sink, CONTACT, 2);
    assert.match((await audited('report.resend'))[0]!.actor, /otto@ops\.example\.test/);
    assert.ok(
      (await audited('report.read')).some((r) => /otto@ops\.example\.test/.test(r.actor)),
      'reads recorded',
    );
  });

  it('a client user cannot open the operations pages, nor see their links', async () => {
    const { client } = await onboard(cp, sink, {
      email: 'front-desk@smile-dental.example.test',
      name: 'Front desk',
      role: 'client',
      client: 'smile-dental',
    });
    // A form posted anyway (with the session's own CSRF token) is refused as well, and changes nothing.
    await client.get('/console/oncall');
    const posted = await client.post(`/console/oncall/${rotationId}/overrides`, {
      responder: people.Priya!,
      start: '2027-01-01T00:00',
      end: '2027-01-02T00:00',
    });
    assert.equal(posted.status, 403);
    assert.equal((await cp.call('GET', `/api/v1/rotations/${rotationId}`)).body.overrides.length, 0);
    await signInAs(client);
    for (const p of PAGES) {
      const res = await page.goto(cp.url + p);
      assert.equal(res?.status(), 403, p);
    }
    await page.goto(cp.url + '/console/reports');
    await page.getByText('not open to the client role').waitFor();
    assert.equal(await page.getByRole('link', { name: 'On call' }).count(), 0);
    assert.equal(await page.getByRole('link', { name: 'Reports' }).count(), 0);
    await check('ops-forbidden-client');
  });
});
