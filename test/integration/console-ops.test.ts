/**
 * The console's operations pages over plain HTTP: hostile and bad input is shown at its field and changes
 * nothing, unknown ids are 404, and the report frame carries its own sandboxing policy.
 */
import assert from 'node:assert/strict';
import {
  clientBody,
  instanceBody,
  startControlPlane,
  type TestControlPlane,
} from '../helpers/control-plane.ts';
import { onboard, type ConsoleClient } from '../helpers/console.ts';
import { SmtpSink } from '../helpers/smtp-sink.ts';

describe('console operations pages (HTTP)', function () {
  this.timeout(120_000);
  let cp: TestControlPlane;
  let sink: SmtpSink;
  let op: ConsoleClient;
  let rotation = '';
  let priya = '';

  before(async () => {
    sink = await new SmtpSink().start();
    cp = await startControlPlane({
      SMTP_URL: sink.url,
      WORKER_POLL_INTERVAL_MS: '100',
      REPORT_SCHEDULER: 'off',
    });
    await cp.call('POST', '/api/v1/clients', { body: clientBody('smile-dental') });
    await cp.call('POST', '/api/v1/instances', { body: instanceBody('smile-dental', 'smile-prod') });
    const r = await cp.call('POST', '/api/v1/responders', {
      body: { name: 'Priya', role: 'oncall-engineer' },
    });
    priya = r.body.id;
    const rot = await cp.call('POST', '/api/v1/rotations', {
      body: {
        name: 'primary',
        timeZone: 'Europe/London',
        handoff: 'weekly',
        handoffTime: '09:00',
        startDate: '2026-01-05',
        members: [priya],
      },
    });
    rotation = rot.body.id;
    op = (await onboard(cp, sink, { email: 'otto@ops.example.test', name: 'Otto', role: 'operator' })).client;
  });
  after(async () => {
    await cp?.close();
    await sink?.stop();
  });

  it('refuses a NUL in an override reason at its field, and adds nothing', async () => {
    await op.get('/console/oncall');
    const res = await op.post(`/console/oncall/${rotation}/overrides`, {
      responder: priya,
      start: '2027-01-01T09:00',
      end: '2027-01-02T09:00',
      reason: 'away\u0000',
    });
    assert.equal(res.status, 400);
    assert.match(res.html, /id="f-reason-error">[^<]*NUL character/);
    assert.equal((await cp.call('GET', `/api/v1/rotations/${rotation}`)).body.overrides.length, 0);
  });

  it('reads override times in the rotation’s zone and names a time that is not one', async () => {
    const bad = await op.post(`/console/oncall/${rotation}/overrides`, {
      responder: priya,
      start: '0000-01-01T09:00',
      end: '2027-01-02T09:00',
    });
    assert.equal(bad.status, 400);
    assert.match(
      bad.html,
      /id="f-start-error">From \(Europe\/London\) must be a date and time like 2026-12-07T14:05:00Z/,
    );
    const year = new Date().getUTCFullYear() + 1;
    const ok = await op.post(`/console/oncall/${rotation}/overrides`, {
      responder: priya,
      start: `${year}-07-01T09:00`,
      end: `${year}-07-02T09:00`,
    });
    assert.equal(ok.status, 201, ok.html);
    const [o] = (await cp.call('GET', `/api/v1/rotations/${rotation}`)).body.overrides;
    // 09:00 in London in July is 08:00 UTC (BST).
    assert.equal(o.start, `${year}-07-01T08:00:00.000Z`);
  });

  it('answers 404 for a rotation, override, policy, window or report that does not exist', async () => {
    const none = '00000000-0000-4000-8000-000000000000';
    await op.get('/console/oncall');
    assert.equal((await op.post(`/console/oncall/nope/overrides`, { responder: priya })).status, 404);
    assert.equal((await op.post(`/console/oncall/${rotation}/overrides/${none}/delete`, {})).status, 404);
    assert.equal((await op.get(`/console/policies/${none}`)).status, 404);
    assert.equal((await op.post(`/console/maintenance/${none}/delete`, {})).status, 404);
    assert.equal((await op.get(`/console/reports/version/${none}`)).status, 404);
    assert.equal((await op.get(`/console/reports/version/${none}/content`)).status, 404);
    assert.equal((await op.get(`/console/backups?client=nope`)).status, 404);
  });

  it('names a calendar date or a month that is not one', async () => {
    const cal = await op.get('/console/oncall?from=0000-01-01');
    assert.equal(cal.status, 400);
    assert.match(cal.html, /id="f-from-error">must be a date/);
    const month = await op.get('/console/reports?client=smile-dental&month=0000-13');
    assert.equal(month.status, 400);
    assert.match(month.html, /id="f-month-error">Month must be YYYY-MM/);
    assert.equal((await op.get('/console/reports/month/smile-dental/2026-13')).status, 400);
  });

  it('checks a maintenance window with the API’s schema before a preview, at the field', async () => {
    await op.get('/console/maintenance');
    const res = await op.post('/console/maintenance', {
      target: 'client:smile-dental',
      reason: 'upgrade',
      start: '2027-01-01T00:00',
      kind: 'weekly',
      'recurrence.byDay': 'SU',
      'recurrence.startTime': '25:00',
      'recurrence.durationMinutes': 'two hours',
      intent: 'preview',
    });
    assert.equal(res.status, 400);
    assert.match(
      res.html,
      /id="f-recurrence-startTime-error">Starts at \(local time\) must be a time of day as HH:MM/,
    );
    assert.match(
      res.html,
      /id="f-recurrence-durationMinutes-error">Lasts \(minutes\) must be a whole number/,
    );
    const other = await op.post('/console/maintenance', {
      target: 'instance:nope',
      reason: 'upgrade',
      start: '2027-01-01T00:00',
      end: '2027-01-01T02:00',
      intent: 'create',
    });
    assert.equal(other.status, 400);
    assert.match(other.html, /id="f-target-error">For: no such instance/);
    assert.equal(await cp.count('maintenance_windows'), 0);
  });

  it('serves a report in a sandboxed frame of its own, framed only by the console', async () => {
    const page = await op.get('/console/reports/month/smile-dental/2026-11');
    assert.equal(page.status, 200);
    assert.match(
      page.html,
      /<iframe class="report" src="\/console\/reports\/month\/smile-dental\/2026-11\/content"[^>]* sandbox>/,
    );
    const res = await fetch(cp.url + '/console/reports/month/smile-dental/2026-11/content', {
      headers: { cookie: [...op.cookies].map(([k, v]) => `${k}=${v}`).join('; ') },
    });
    assert.equal(res.status, 200);
    const csp = res.headers.get('content-security-policy')!;
    assert.match(csp, /^sandbox;/);
    assert.match(csp, /frame-ancestors 'self'/);
    assert.doesNotMatch(csp, /script-src/);
    assert.match(await res.text(), /service report for November 2026/);
  });

  it('approves a report through the service; admins see what was done to it, from the audit log', async () => {
    await cp.call('PATCH', '/api/v1/clients/smile-dental/report-settings', {
      body: { reviewBeforeSend: true },
    });
    // On 1 December after the send time (08:00 New York): November's report, whatever today is.
    await cp.ctx.reports.runMonthly(new Date('2026-12-01T14:00:00Z'));
    const { rows } = await cp.db.query<{ id: string }>(
      `select id from reports where status = 'pending_review'`,
    );
    const id = rows[0]!.id;
    // The month across every client: the one waiting for review is there to open.
    const across = await op.get('/console/reports?month=2026-11');
    assert.equal(across.status, 200);
    assert.match(
      across.html,
      /id="month-list"[\s\S]*Practice smile-dental[\s\S]*version 1[\s\S]*waiting for review/,
    );
    assert.match((await op.get('/console/reports')).html, /<h2>Reports for \d{4}-\d{2}, every client<\/h2>/);
    const before = await op.get(`/console/reports/version/${id}`);
    assert.match(before.html, /Approve and send/);
    assert.doesNotMatch(before.html, /<h2>History<\/h2>/, 'the audit log is for admins');
    const approved = await op.post(`/console/reports/version/${id}/approve`, {});
    assert.equal(approved.status, 303);
    assert.equal((await op.post(`/console/reports/version/${id}/approve`, {})).status, 409, 'sent already');
    const admin = (await onboard(cp, sink, { email: 'ada@ops.example.test', name: 'Ada', role: 'admin' }))
      .client;
    const page = await admin.get(`/console/reports/version/${id}`);
    assert.match(page.html, /<h2>History<\/h2>/);
    assert.match(page.html, /<strong>report\.approve<\/strong> by otto@ops\.example\.test \(operator, user /);
    assert.doesNotMatch(page.html, /report\.read/);
  });

  it('saves a policy of many levels with every channel ticked (hundreds of form fields)', async () => {
    const levels = Array.from({ length: 12 }, (_, i) => ({
      delaySeconds: i * 60,
      targets: { roles: ['cto'] },
    }));
    const pol = await cp.call('POST', '/api/v1/escalation-policies', {
      body: { name: 'long ladder', levels },
    });
    assert.equal(pol.status, 201, pol.text);
    await op.get(`/console/policies/${pol.body.id}`);
    const form: [string, string][] = [['_csrf', op.csrf]];
    levels.forEach((l, i) => {
      form.push([`levels.${i}.was`, String(i)], [`levels.${i}.delaySeconds`, String(l.delaySeconds + 30)]);
      form.push([`levels.${i}.roles`, 'cto, devops-lead']);
      for (const s of ['critical', 'warning', 'info'])
        for (const c of ['sms', 'voice', 'email', 'webhook', 'slack', 'teams'])
          form.push([`levels.${i}.channels.${s}`, c]);
    });
    assert.ok(form.length > 200);
    const res = await fetch(`${cp.url}/console/policies/${pol.body.id}`, {
      method: 'POST',
      redirect: 'manual',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        cookie: [...op.cookies].map(([k, v]) => `${k}=${v}`).join('; '),
      },
      body: new URLSearchParams(form).toString(),
    });
    assert.equal(res.status, 303, await res.text());
    const saved = (await cp.call('GET', '/api/v1/escalation-policies')).body.find(
      (p: { name: string }) => p.name === 'long ladder',
    );
    assert.equal(saved.levels.length, 12);
    assert.equal(saved.levels[11].delaySeconds, 11 * 60 + 30);
    assert.deepEqual(saved.levels[11].targets.roles, ['cto', 'devops-lead']);
    assert.equal(saved.levels[0].channels.info.length, 6);
  });

  it('saves 20 levels with every channel, off-hours channel and weekday ticked, and refuses NUL in a time zone at its field', async () => {
    const levels = Array.from({ length: 20 }, (_, i) => ({
      delaySeconds: i * 60,
      targets: { roles: ['cto'] },
    }));
    const pol = await cp.call('POST', '/api/v1/escalation-policies', {
      body: { name: 'office hours', levels },
    });
    assert.equal(pol.status, 201, pol.text);
    await op.get(`/console/policies/${pol.body.id}`);
    const post = (form: [string, string][]) =>
      fetch(`${cp.url}/console/policies/${pol.body.id}`, {
        method: 'POST',
        redirect: 'manual',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          cookie: [...op.cookies].map(([k, v]) => `${k}=${v}`).join('; '),
        },
        body: new URLSearchParams([['_csrf', op.csrf], ...form]).toString(),
      });
    const formOf = (zone: string) => {
      const form: [string, string][] = [];
      levels.forEach((l, i) => {
        const n = `levels.${i}`;
        form.push(
          [`${n}.was`, String(i)],
          [`${n}.delaySeconds`, String(l.delaySeconds)],
          [`${n}.roles`, 'cto'],
        );
        form.push([`${n}.hoursForm`, '1'], [`${n}.hours.timeZone`, zone]);
        form.push([`${n}.hours.start`, '08:00'], [`${n}.hours.end`, '18:00']);
        for (const d of ['MO', 'TU', 'WE', 'TH', 'FR', 'SA', 'SU']) form.push([`${n}.hours.days`, d]);
        for (const s of ['critical', 'warning', 'info'])
          for (const c of ['sms', 'voice', 'email', 'webhook', 'slack', 'teams'])
            form.push([`${n}.channels.${s}`, c], [`${n}.offHoursChannels.${s}`, c]);
      });
      return form;
    };
    const bad = await post(formOf('America/New_York\u0000'));
    assert.equal(bad.status, 400);
    assert.match(await bad.text(), /id="l0-hours-error">Time zone /);
    const unchanged = (await cp.call('GET', '/api/v1/escalation-policies')).body.find(
      (p: { id: string }) => p.id === pol.body.id,
    );
    assert.equal(unchanged.levels[0].hours ?? null, null, 'nothing saved');
    const form = formOf('Europe/Berlin');
    // With _csrf, more fields than the form parser allowed before (1,000).
    assert.ok(form.length >= 1000, `${form.length} fields`);
    const res = await post(form);
    assert.equal(res.status, 303, await res.text());
    const saved = (await cp.call('GET', '/api/v1/escalation-policies')).body.find(
      (p: { id: string }) => p.id === pol.body.id,
    );
    assert.equal(saved.levels[19].hours.timeZone, 'Europe/Berlin');
    assert.equal(saved.levels[19].hours.days.length, 7);
    assert.equal(saved.levels[19].offHoursChannels.info.length, 6);
  });

  it('lists the windows that begin after the next 30 days apart, each deletable from the page', async () => {
    const DAY = 86_400_000;
    const make = async (inDays: number, reason: string, recurrence?: object) => {
      const start = new Date(Math.ceil((Date.now() + inDays * DAY) / 3_600_000) * 3_600_000);
      const r = await cp.call('POST', '/api/v1/maintenance-windows', {
        body: recurrence
          ? { client: 'smile-dental', start: start.toISOString(), reason, recurrence }
          : {
              instance: 'smile-prod',
              start: start.toISOString(),
              end: new Date(start.getTime() + 2 * 3_600_000).toISOString(),
              reason,
            },
      });
      assert.equal(r.status, 201, r.text);
      return r.body.id as string;
    };
    const soon = await make(10, 'disk swap');
    const far = await make(60, 'datacentre move');
    const series = await make(45, 'quarterly patching', {
      freq: 'weekly',
      byDay: ['WE'],
      startTime: '02:00',
      durationMinutes: 60,
    });
    const page = await op.get('/console/maintenance');
    assert.equal(page.status, 200);
    const section = (id: string) => {
      const m = new RegExp(`<table class="stack" id="${id}">([\\s\\S]*?)</table>`).exec(page.html);
      assert.ok(m, `no table #${id} on the page`);
      return m[1]!;
    };
    const next30 = section('window-list');
    const later = section('later-list');
    assert.match(next30, /disk swap/);
    assert.doesNotMatch(next30, /datacentre move|quarterly patching/);
    assert.match(page.html, /<h2 id="later">Windows that begin later<\/h2>/);
    // Soonest first: the series (45 days) before the move (60 days), each with its delete button.
    assert.match(later, /quarterly patching[\s\S]*datacentre move/);
    assert.doesNotMatch(later, /disk swap/);
    assert.match(later, new RegExp(`action="/console/maintenance/${far}/delete"`));
    assert.match(later, new RegExp(`action="/console/maintenance/${series}/delete"`));
    assert.match(later, /every Wednesday at 02:00/);

    const del = await op.post(`/console/maintenance/${far}/delete`, { client: '' });
    assert.ok([200, 303].includes(del.status), String(del.status));
    const live = await cp.call(
      'GET',
      `/api/v1/maintenance-windows?from=${new Date().toISOString()}&to=${new Date(Date.now() + 365 * DAY).toISOString()}`,
    );
    assert.deepEqual(live.body.map((w: { id: string }) => w.id).sort(), [soon, series].sort());
    const after = await op.get('/console/maintenance');
    assert.doesNotMatch(after.html, /datacentre move/);
  });
});
