import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import twilio from 'twilio';
import { alertPayload, waitFor } from '../helpers/alerts.ts';
import {
  clientBody,
  instanceBody,
  startControlPlane,
  type TestControlPlane,
} from '../helpers/control-plane.ts';
import { renderOpsMail } from '../../control-plane/src/ops/mail.ts';
import { SmtpSink } from '../helpers/smtp-sink.ts';
import { TwilioStandIn } from '../helpers/twilio-standin.ts';

const SID = 'AC' + '0123456789abcdef'.repeat(2);
const AUTH = 'twilio-auth-token-for-tests-0123456789';
const PUBLIC = 'https://ops.example.test';
const OLIVIA = { phone: '+15551238001', email: 'olivia@ops.example.test' };
const DEV = { phone: '+15551238002', email: 'dev@ops.example.test' };

/** The number a page names: INC-000042 is read and replied to as 42. */
const number = (code: string) => String(Number(code.replace(/^INC-/, '')));

describe('failure drills', () => {
  let cp: TestControlPlane;
  let tw: TwilioStandIn;
  let smtp: SmtpSink;
  let clientToken: string;
  let operator: string;

  before(async () => {
    tw = await new TwilioStandIn().start();
    smtp = await new SmtpSink().start();
    cp = await startControlPlane({
      TWILIO_ACCOUNT_SID: SID,
      TWILIO_AUTH_TOKEN: AUTH,
      TWILIO_FROM_NUMBER: '+15005550006',
      TWILIO_API_URL: tw.url,
      SMTP_URL: smtp.url,
      MAIL_FROM: 'concierge-ops <pager@ops.example.test>',
      PUBLIC_URL: PUBLIC,
      ACK_LINK_SECRET: 'ack-link-secret-for-tests-0123456789abcdef',
      WORKER_POLL_INTERVAL_MS: '100',
    });
    await cp.call('POST', '/api/v1/clients', { body: clientBody('drill-dental') });
    await cp.call('POST', '/api/v1/instances', { body: instanceBody('drill-dental', 'drill-prod') });
    clientToken = await cp.token('client', 'drill-dental');
    operator = await cp.token('operator');
    await cp.db.query(
      `insert into responders (name, role, phone, email) values
         ('Olivia', 'oncall-engineer', $1, $2), ('Dev', 'devops-lead', $3, $4)`,
      [OLIVIA.phone, OLIVIA.email, DEV.phone, DEV.email],
    );
  });
  after(async () => {
    await cp.close();
    await tw.stop();
    await smtp.stop();
  });

  const reply = (from: string, body: string) => {
    const params = { From: from, To: '+15005550006', Body: body, MessageSid: 'SM' + '1'.repeat(32) };
    return cp.call('POST', '/api/v1/twilio/inbound', {
      token: null,
      raw: new URLSearchParams(params).toString(),
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-twilio-signature': twilio.getExpectedTwilioSignature(
          AUTH,
          PUBLIC + '/api/v1/twilio/inbound',
          params,
        ),
      },
    });
  };
  const report = async (id: string) => (await cp.call('GET', `/api/v1/drills/${id}`)).body;

  describe('API: validation, roles and tenancy', () => {
    it('answers 400 naming the field for a missing or wrong target, and starts nothing', async () => {
      const before = await cp.count('drills');
      const cases: [unknown, string][] = [
        [{}, '/kind'],
        [{ kind: 'volcano' }, '/kind'],
        [{ kind: 'instance' }, '/instance'],
        [{ kind: 'instance', instance: 'no-such-instance' }, '/instance'],
        [{ kind: 'instance', instance: 'drill-prod', policy: 'default' }, '/policy'],
        [{ kind: 'policy', policy: 'no-such-policy' }, '/policy'],
        [{ kind: 'rotation', rotation: 'no-such-rotation' }, '/rotation'],
        [{ kind: 'policy', policy: 'default', severity: 'apocalyptic' }, '/severity'],
      ];
      for (const [body, field] of cases) {
        const r = await cp.call('POST', '/api/v1/drills', { body });
        assert.equal(r.status, 400, JSON.stringify(body));
        assert.equal(r.headers.get('content-type'), 'application/problem+json; charset=utf-8');
        assert.ok(
          r.body.errors.some((e: { field: string }) => e.field === field),
          `${JSON.stringify(body)}: ${JSON.stringify(r.body.errors)}`,
        );
      }
      assert.equal(await cp.count('drills'), before);
    });

    it('refuses client tokens (403) and answers 404 for an unknown drill', async () => {
      const before = await cp.count('drills');
      for (const path of ['/api/v1/drills', '/api/v1/drill-schedules'])
        assert.equal((await cp.call('GET', path, { token: clientToken })).status, 403);
      const refused = await cp.call('POST', '/api/v1/drills', {
        token: clientToken,
        body: { kind: 'instance', instance: 'drill-prod' },
      });
      assert.equal(refused.status, 403);
      assert.equal(await cp.count('drills'), before);
      assert.equal((await cp.call('GET', '/api/v1/drills/not-a-uuid')).status, 404);
      assert.equal((await cp.call('GET', '/api/v1/drills/00000000-0000-4000-8000-000000000000')).status, 404);
      const listed = await cp.call('GET', '/api/v1/drills?limit=500', { token: operator });
      assert.equal(listed.status, 400);
      assert.equal(listed.body.errors[0].field, '/limit');
    });
  });

  it('an instance drill pages marked DRILL, reports its times, ends on an SMS reply, and stays out of the SLA and of clients', async () => {
    // The instance measured up from a minute ago: the SLA window below holds the whole drill.
    const from = new Date(Date.now() - 60_000).toISOString();
    const instanceId = (await cp.call('GET', '/api/v1/instances/drill-prod')).body.id as string;
    const prober = await cp.token('prober');
    const up = await cp.call('POST', '/api/v1/availability/transitions', {
      token: prober,
      body: {
        prober: 'p1',
        transitions: ['proxy', 'backend'].map((service) => ({
          id: crypto.randomUUID(),
          instanceId,
          service,
          state: 'up',
          at: from,
        })),
      },
    });
    assert.equal(up.status, 200, up.text);
    const started = await cp.call('POST', '/api/v1/drills', {
      token: operator,
      body: { kind: 'instance', instance: 'drill-prod' },
    });
    assert.equal(started.status, 201, started.text);
    const id = started.body.id as string;
    // No ALERTMANAGER_URL: the alert went straight into the webhook's handling and opened the incident.
    assert.equal(started.body.via, 'direct');
    assert.equal(started.body.status, 'running');
    assert.match(started.body.startedBy, /\(operator, token /);
    const code = started.body.incident as string;
    assert.match(code, /^INC-/);

    // Warning (the default): SMS and e-mail to level 1, both marked.
    const sms = await waitFor('the drill SMS', () => tw.messages(OLIVIA.phone)[0]);
    assert.match(sms.params.Body!, new RegExp(`^DRILL \\[WARN\\] ${code} drill-dental/drill-prod: `));
    assert.ok(sms.params.Body!.length <= 160);
    const mail = await waitFor('the drill e-mail', () => smtp.to(OLIVIA.email)[0]);
    assert.match(mail.subject ?? '', new RegExp(`^\\[DRILL\\] \\[WARNING\\] ${code} `));
    assert.match(mail.text ?? '', /This is a failure drill, not a real failure/);

    const paged = await waitFor('pages accepted', async () => {
      const r = await report(id);
      return r.levels[0]?.pages.every((p: { acceptedAt: string | null }) => p.acceptedAt) ? r : undefined;
    });
    assert.equal(paged.levels.length, 1);
    assert.deepEqual(
      paged.levels[0].pages
        .map((p: { responder: string; channel: string }) => `${p.responder}/${p.channel}`)
        .sort(),
      ['Olivia/email', 'Olivia/sms'],
    );
    const t = paged.times;
    assert.ok(Date.parse(t.detectedAt) >= Date.parse(t.startedAt));
    assert.ok(Date.parse(t.firstPageAt) >= Date.parse(t.incidentOpenedAt));
    assert.equal(t.acknowledgedAt, null);
    assert.deepEqual(paged.unreachable, [{ responder: 'Olivia', level: 1, reason: 'no acknowledgement' }]);

    // The client never learns of the drill: not listed, its incident 404, as another client's would be.
    const mine = await cp.call('GET', '/api/v1/incidents', { token: clientToken });
    assert.equal(mine.status, 200);
    assert.ok(!mine.body.some((i: { code: string }) => i.code === code));
    assert.equal((await cp.call('GET', `/api/v1/incidents/${code}`, { token: clientToken })).status, 404);
    assert.equal(
      (await cp.call('GET', `/api/v1/incidents/${code}/timeline`, { token: clientToken })).status,
      404,
    );
    // Staff see it among incidents.
    const staff = await cp.call('GET', '/api/v1/incidents?client=drill-dental');
    assert.ok(staff.body.some((i: { code: string }) => i.code === code));

    const ack = await reply(OLIVIA.phone, `ACK ${number(code)}`);
    assert.equal(ack.status, 200);
    assert.match(ack.text, new RegExp(`${code} acknowledged by Olivia`));
    const ended = await report(id);
    assert.equal(ended.status, 'ended');
    assert.equal(ended.acknowledgedBy, 'Olivia (sms)');
    assert.ok(ended.times.acknowledgedAt && ended.times.endedAt);
    assert.ok(ended.seconds.toAcknowledge >= ended.seconds.toFirstPage);
    assert.equal(ended.levels[0].acknowledged, true);
    assert.deepEqual(ended.unreachable, []);
    // A re-sent firing alert of the drill opens nothing new: the drill is over.
    const again = await cp.ctx.paging.incidents.list(
      { tokenId: 't', name: 't', role: 'admin', clientId: null },
      { client: 'drill-dental' },
      100,
      { drills: true },
    );
    assert.equal(again.filter((i) => i.code === code && i.status === 'resolved').length, 1);

    // SLA unaffected, and the report's incident list and the morning report's leave the drill out.
    const sla = await cp.call(
      'GET',
      `/api/v1/clients/drill-dental/sla?from=${encodeURIComponent(from)}&to=${encodeURIComponent(new Date().toISOString())}`,
    );
    assert.equal(sla.status, 200, sla.text);
    assert.equal(sla.body.downtimeSeconds, 0);
    assert.equal(sla.body.uptime, 1);
    // A real incident of the client beside it: the monthly report and the morning list show that one only.
    const real = await cp.call('POST', '/api/v1/incidents', {
      body: { title: 'real outage', severity: 'info', client: 'drill-dental' },
    });
    assert.equal(real.status, 201, real.text);
    const month = new Intl.DateTimeFormat('en-CA', {
      timeZone: 'America/New_York',
      year: 'numeric',
      month: '2-digit',
    })
      .format(new Date())
      .slice(0, 7);
    const admin = { tokenId: '00000000-test', name: 'test', role: 'admin' as const, clientId: null };
    const monthly = await cp.ctx.reports.preview(admin, 'drill-dental', month);
    const reported = monthly.incidents.list.map((i) => i.code);
    assert.ok(reported.includes(real.body.code), `${real.body.code} in ${reported.join(', ')}`);
    assert.ok(!reported.includes(code));
    const daily = await cp.ctx.ops.daily();
    assert.ok(daily.incidents.some((i) => i.code === real.body.code));
    assert.ok(!daily.incidents.some((i) => i.code === code));
    const listed = daily.drills.find((x) => x.id === id)!;
    assert.equal(listed.status, 'ended');
    assert.equal(listed.acknowledgedBy, 'Olivia (sms)');
    assert.equal(listed.target, 'drill-prod');
    const morning = renderOpsMail(daily).text;
    assert.match(morning, /Failure drills in the last 24 h/);
    assert.match(
      morning,
      new RegExp(`instance drill-prod started .* ended \\(${code}\\).*acknowledged by Olivia \\(sms\\)`),
    );
    const audit = await cp.db.query(
      `select actor from audit_log where action = 'drill.started' and target_id = $1`,
      [id],
    );
    assert.equal(audit.rows.length, 1);
    assert.match(audit.rows[0].actor, /\(operator, token /);
  });

  it('a policy drill pages each level in turn and reports the level nobody acknowledged as unreachable', async () => {
    await cp.db.query(`update escalation_levels set delay_seconds = 2 where level = 2`);
    try {
      const started = await cp.call('POST', '/api/v1/drills', {
        body: { kind: 'policy', policy: 'default', severity: 'warning' },
      });
      assert.equal(started.status, 201, started.text);
      assert.equal(started.body.via, 'escalation');
      assert.equal(started.body.policy.name, 'default');
      const id = started.body.id as string;
      const code = started.body.incident as string;
      const devSms = await waitFor('level 2 paged', () =>
        tw.messages(DEV.phone).find((m) => m.params.Body!.includes(code)),
      );
      assert.match(devSms.params.Body!, /^DRILL \[WARN\] /);
      assert.equal((await reply(DEV.phone, `ACK ${number(code)}`)).status, 200);
      const r = await report(id);
      assert.equal(r.status, 'ended');
      assert.deepEqual(
        r.levels.map((l: { level: number; acknowledged: boolean }) => [l.level, l.acknowledged]),
        [
          [1, false],
          [2, true],
        ],
      );
      assert.deepEqual(r.unreachable, [{ responder: 'Olivia', level: 1, reason: 'no acknowledgement' }]);
      const list = await cp.call('GET', '/api/v1/drills?limit=1');
      assert.deepEqual(
        list.body.drills.map((d: { id: string }) => d.id),
        [id],
      );
      const older = await cp.call(
        'GET',
        `/api/v1/drills?limit=5&before=${encodeURIComponent(list.body.drills[0].times.startedAt)}`,
      );
      assert.ok(older.body.drills.length >= 1);
      assert.ok(!older.body.drills.some((d: { id: string }) => d.id === id));
    } finally {
      await cp.db.query(`update escalation_levels set delay_seconds = 300 where level = 2`);
    }
  });

  it('a rotation drill pages whoever is on call at once, and names them unreachable when every page failed', async () => {
    const pat = await cp.call('POST', '/api/v1/responders', {
      body: { name: 'Pat', role: 'night-shift', phone: '+15551238003' },
    });
    assert.equal(pat.status, 201, pat.text);
    const rota = await cp.call('POST', '/api/v1/rotations', {
      body: {
        name: 'drill-rota',
        timeZone: 'Europe/Berlin',
        handoff: 'weekly',
        handoffTime: '09:00',
        startDate: '2026-01-05',
        members: [pat.body.id],
      },
    });
    assert.equal(rota.status, 201, rota.text);
    // Twilio refuses the SMS for good (a 4xx), and Pat has no e-mail address to fall back to.
    tw.fail(1, 400);
    const started = await cp.call('POST', '/api/v1/drills', {
      body: { kind: 'rotation', rotation: 'drill-rota' },
    });
    assert.equal(started.status, 201, started.text);
    assert.equal(started.body.rotation.name, 'drill-rota');
    const id = started.body.id as string;
    const r = await waitFor('the page failed', async () => {
      const x = await report(id);
      return x.levels[0]?.pages.every((p: { status: string }) => p.status === 'failed') ? x : undefined;
    });
    assert.equal(r.levels[0].level, 0);
    assert.ok(
      r.levels[0].pages.some((p: { channel: string; error: string }) => p.channel === 'sms' && p.error),
    );
    assert.equal(r.times.firstPageAt, null);
    assert.deepEqual(r.unreachable, [{ responder: 'Pat', level: 0, reason: 'every page failed' }]);
    await cp.call('POST', `/api/v1/incidents/${r.incident}/resolve`, { body: {} });
    assert.equal((await report(id)).status, 'ended');
  });

  it('runs a scheduled drill once when due, whichever replica ticks, and moves the schedule on', async () => {
    const firstRunAt = new Date(Date.now() - 3 * 86400_000 - 60_000).toISOString();
    const made = await cp.call('POST', '/api/v1/drill-schedules', {
      body: { name: 'weekly-instance', kind: 'instance', instance: 'drill-prod', every: 'week', firstRunAt },
    });
    assert.equal(made.status, 201, made.text);
    const dup = await cp.call('POST', '/api/v1/drill-schedules', {
      body: { name: 'weekly-instance', kind: 'policy', policy: 'default', every: 'day', firstRunAt },
    });
    assert.equal(dup.status, 400);
    assert.equal(dup.body.errors[0].field, '/name');
    // Two replicas tick at once: one takes the schedule.
    const ran = await Promise.all([cp.ctx.drills.runDue(), cp.ctx.drills.runDue()]);
    assert.deepEqual(ran.sort(), [0, 1]);
    assert.equal(await cp.ctx.drills.runDue(), 0);
    const { body } = await cp.call('GET', '/api/v1/drill-schedules');
    const s = body.schedules.find((x: { id: string }) => x.id === made.body.id);
    // Missed runs are not caught up: the next is the first after now, a whole number of weeks on.
    assert.ok(Date.parse(s.nextRunAt) > Date.now());
    assert.equal(Date.parse(s.nextRunAt), Date.parse(firstRunAt) + 7 * 86400_000);
    const drills = await cp.call('GET', '/api/v1/drills');
    const scheduled = drills.body.drills.filter(
      (d: { scheduleId: string | null }) => d.scheduleId === made.body.id,
    );
    assert.equal(scheduled.length, 1);
    assert.equal(scheduled[0].startedBy, 'drill-schedule');
    assert.equal((await cp.call('DELETE', `/api/v1/drill-schedules/${made.body.id}`)).status, 204);
    assert.equal((await cp.call('DELETE', `/api/v1/drill-schedules/${made.body.id}`)).status, 404);
  });

  it('never counts a drill in the open-incidents gauge or the escalation levels reached on /metrics', async () => {
    const metrics = async () => (await cp.call('GET', '/metrics')).text;
    const open = (text: string) =>
      /^concierge_ops_incidents_open\{client="drill-dental",severity="warning"\} (\d+)$/m.exec(text)?.[1];
    const level1 = (text: string) =>
      Number(/^concierge_ops_escalation_levels_reached_total\{level="1"\} (\d+)$/m.exec(text)?.[1] ?? 0);
    const before = await metrics();
    // An instance drill (warning, the default) open and paging level 1.
    const started = await cp.call('POST', '/api/v1/drills', {
      token: operator,
      body: { kind: 'instance', instance: 'drill-prod' },
    });
    assert.equal(started.status, 201, started.text);
    const code = started.body.incident as string;
    await waitFor('the drill SMS', () =>
      tw.messages(OLIVIA.phone).find((m) => m.params.Body!.startsWith(`DRILL [WARN] ${code} `)),
    );
    const during = await metrics();
    assert.equal(open(during), undefined, 'an open drill is no open incident');
    assert.equal(level1(during), level1(before), 'a drill paging level 1 is no level reached');
    // A real warning incident of the same client beside it: counted, and its page reaches level 1.
    const real = await cp.call('POST', '/api/v1/incidents', {
      body: { title: 'real warning', severity: 'warning', client: 'drill-dental' },
    });
    assert.equal(real.status, 201, real.text);
    await waitFor('the real page', () =>
      tw.messages(OLIVIA.phone).find((m) => m.params.Body!.includes(real.body.code)),
    );
    const after = await metrics();
    assert.equal(open(after), '1');
    assert.equal(level1(after), level1(before) + 1);
    assert.equal((await reply(OLIVIA.phone, `ACK ${number(code)}`)).status, 200);
    await cp.call('POST', `/api/v1/incidents/${real.body.code}/resolve`, { body: {} });
  });

  describe('with Alertmanager configured', () => {
    let am: http.Server;
    const received: { labels: Record<string, string>; endsAt: string }[] = [];
    let cp2: TestControlPlane;

    before(async () => {
      am = http.createServer((req, res) => {
        let data = '';
        req.on('data', (c: Buffer) => (data += c.toString()));
        req.on('end', () => {
          if (req.method === 'POST' && req.url === '/api/v2/alerts') received.push(...JSON.parse(data));
          res.writeHead(200).end();
        });
      });
      await new Promise<void>((r) => am.listen(0, '127.0.0.1', r));
      cp2 = await startControlPlane({
        ALERTMANAGER_URL: `http://127.0.0.1:${(am.address() as AddressInfo).port}`,
        WORKERS: 'off',
      });
      await cp2.call('POST', '/api/v1/clients', { body: clientBody('drill-dental') });
      await cp2.call('POST', '/api/v1/instances', { body: instanceBody('drill-dental', 'drill-prod') });
    });
    after(async () => {
      await cp2.close();
      await new Promise((r) => am.close(r));
    });

    it("sends the drill's alert to Alertmanager, and its webhook delivery opens the drill's incident", async () => {
      const started = await cp2.call('POST', '/api/v1/drills', {
        body: { kind: 'instance', instance: 'drill-prod' },
      });
      assert.equal(started.status, 201, started.text);
      assert.equal(started.body.via, 'alertmanager');
      assert.equal(started.body.status, 'waiting');
      const id = started.body.id as string;
      assert.equal(received.length, 1);
      assert.deepEqual(received[0]!.labels, {
        alertname: 'ConciergeDrill',
        client: 'drill-dental',
        instance: 'drill-prod',
        severity: 'warning',
        drill: id,
      });
      assert.ok(Date.parse(received[0]!.endsAt) > Date.now(), 'expires by itself if never resolved');
      // What Alertmanager delivers for it: a real incident, marked as the drill's.
      const payload = alertPayload({
        groupKey: `{}:{alertname="ConciergeDrill", client="drill-dental", instance="drill-prod"}`,
        alertname: 'ConciergeDrill',
        client: 'drill-dental',
        instance: 'drill-prod',
        service: null,
        severity: 'warning',
      });
      for (const a of payload.alerts) (a.labels as Record<string, string>).drill = id;
      (payload as { commonLabels?: Record<string, string> }).commonLabels = { drill: id };
      const hook = await cp2.call('POST', '/api/v1/alertmanager/webhook', { body: payload });
      assert.equal(hook.status, 200, hook.text);
      const after = (await cp2.call('GET', `/api/v1/drills/${id}`)).body;
      assert.equal(after.status, 'running');
      assert.equal(after.incident, hook.body.incident);
      // A label naming no drill of ours is an ordinary alert: it is not hidden from the client.
      const forged = alertPayload({ groupKey: 'g-forged', client: 'drill-dental', instance: 'drill-prod' });
      for (const a of forged.alerts)
        (a.labels as Record<string, string>).drill = '00000000-0000-4000-8000-000000000000';
      const f = await cp2.call('POST', '/api/v1/alertmanager/webhook', { body: forged });
      const client = await cp2.token('client', 'drill-dental');
      assert.equal(
        (await cp2.call('GET', `/api/v1/incidents/${f.body.incident}`, { token: client })).status,
        200,
      );
    });
  });
});
