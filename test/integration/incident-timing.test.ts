import assert from 'node:assert/strict';
import { alertPayload, randomFingerprint, waitFor } from '../helpers/alerts.ts';
import {
  clientBody,
  instanceBody,
  startControlPlane,
  type TestControlPlane,
} from '../helpers/control-plane.ts';
import { SmtpSink } from '../helpers/smtp-sink.ts';
import { TwilioStandIn } from '../helpers/twilio-standin.ts';

const OLIVIA = { phone: '+15551239001', email: 'olivia@ops.example.test' };

/** One series' value on /metrics, or undefined when it is absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('incident timing: failure to page and failure to ack', () => {
  let cp: TestControlPlane;
  let tw: TwilioStandIn;
  let smtp: SmtpSink;
  let am: string;

  before(async () => {
    tw = await new TwilioStandIn().start();
    smtp = await new SmtpSink().start();
    cp = await startControlPlane({
      TWILIO_ACCOUNT_SID: 'AC' + '0123456789abcdef'.repeat(2),
      TWILIO_AUTH_TOKEN: 'twilio-auth-token-for-tests-0123456789',
      TWILIO_FROM_NUMBER: '+15005550006',
      TWILIO_API_URL: tw.url,
      SMTP_URL: smtp.url,
      MAIL_FROM: 'concierge-ops <pager@ops.example.test>',
      PUBLIC_URL: 'https://ops.example.test',
      WORKER_POLL_INTERVAL_MS: '100',
    });
    await cp.call('POST', '/api/v1/clients', { body: clientBody('smile-dental') });
    await cp.call('POST', '/api/v1/instances', { body: instanceBody('smile-dental', 'smile-prod') });
    am = await cp.token('alertmanager');
    await cp.db.query(
      `insert into responders (name, role, phone, email) values ('Olivia', 'oncall-engineer', $1, $2)`,
      [OLIVIA.phone, OLIVIA.email],
    );
  });
  after(async () => {
    await cp.close();
    await tw.stop();
    await smtp.stop();
  });

  const hook = (body: unknown) => cp.call('POST', '/api/v1/alertmanager/webhook', { token: am, body });
  const metrics = async () => (await cp.call('GET', '/metrics')).text;
  const incident = async (code: string) => (await cp.call('GET', `/api/v1/incidents/${code}`)).body;
  const firstPaged = (code: string) =>
    waitFor('first page recorded', async () => {
      const i = await incident(code);
      return i.firstPageAt ? i : undefined;
    });

  it("records an alert's startsAt as when the failure began and the Twilio-accepted page as the first page, counted once", async () => {
    const startsAt = new Date(Date.now() - 3 * 60_000).toISOString();
    const before = Date.now();
    const r = await hook(
      alertPayload({ groupKey: 'g-timing-critical', startsAt, fingerprints: [randomFingerprint()] }),
    );
    assert.equal(r.status, 200);
    const code = r.body.incident as string;
    // Critical: SMS, voice and e-mail, three pages the providers accept; the first of them is the first page.
    await waitFor('three pages accepted', () =>
      tw.messages(OLIVIA.phone).length >= 1 &&
      tw.calls(OLIVIA.phone).length >= 1 &&
      smtp.to(OLIVIA.email).length >= 1
        ? true
        : undefined,
    );
    const inc = await firstPaged(code);
    assert.equal(inc.failureBeganAt, startsAt);
    assert.equal(inc.confirmedAt, inc.openedAt);
    assert.ok(Date.parse(inc.confirmedAt) >= before - 1000, 'confirmed when the control plane opened it');
    const firstSms = tw.messages(OLIVIA.phone)[0]!.at;
    assert.ok(
      Date.parse(inc.firstPageAt) >= firstSms - 1000 && Date.parse(inc.firstPageAt) <= Date.now(),
      `first page at ${inc.firstPageAt}, the stand-in took the SMS at ${new Date(firstSms).toISOString()}`,
    );
    assert.equal(inc.acknowledgedAt, null);
    await waitFor('every page marked sent', async () => {
      const { rows } = await cp.db.query(
        `select count(*)::int as n from notifications n join incidents i on i.id = n.incident_id
         where i.code = $1 and n.status = 'sent'`,
        [code],
      );
      return rows[0].n === 3 ? true : undefined;
    });
    const text = await metrics();
    // Three accepted pages, one incident: observed once, about 3 minutes after the failure began.
    assert.equal(sample(text, 'concierge_ops_failure_to_page_seconds_count{severity="critical"}'), 1);
    assert.equal(
      sample(text, 'concierge_ops_failure_to_page_seconds_bucket{le="120",severity="critical"}'),
      0,
    );
    assert.equal(
      sample(text, 'concierge_ops_failure_to_page_seconds_bucket{le="300",severity="critical"}'),
      1,
    );
    const seconds = sample(text, 'concierge_ops_failure_to_page_seconds_sum{severity="critical"}')!;
    assert.ok(seconds >= 180 && seconds < 200, `failure to page ${seconds} s`);
    assert.equal(sample(text, 'concierge_ops_failure_to_ack_seconds_count{severity="critical"}'), 0);

    const ack = await cp.call('POST', `/api/v1/incidents/${code}/ack`, { body: {} });
    assert.equal(ack.status, 200);
    assert.equal(ack.body.failureBeganAt, startsAt);
    assert.ok(ack.body.acknowledgedAt);
    // A second acknowledgement changes nothing and is not counted again.
    await cp.call('POST', `/api/v1/incidents/${code}/ack`, { body: {} });
    const after = await metrics();
    assert.equal(sample(after, 'concierge_ops_failure_to_ack_seconds_count{severity="critical"}'), 1);
    assert.equal(
      sample(after, 'concierge_ops_failure_to_ack_seconds_bucket{le="120",severity="critical"}'),
      0,
    );
    assert.equal(
      sample(after, 'concierge_ops_failure_to_ack_seconds_bucket{le="300",severity="critical"}'),
      1,
    );
    assert.equal(sample(after, 'concierge_ops_failure_to_page_seconds_count{severity="critical"}'), 1);
    await cp.call('POST', `/api/v1/incidents/${code}/resolve`, { body: {} });
  });

  it('takes the earliest startsAt of the opening alerts, and the SMTP server accepting the mail as the first page', async () => {
    const early = new Date(Date.now() - 50_000).toISOString();
    const late = new Date(Date.now() - 20_000).toISOString();
    const p = alertPayload({
      groupKey: 'g-timing-info',
      severity: 'info',
      startsAt: late,
      fingerprints: [randomFingerprint(), randomFingerprint()],
    });
    p.alerts[1]!.startsAt = early;
    const r = await hook(p);
    const code = r.body.incident as string;
    // Info pages by e-mail alone: the SMTP sink's acceptance is the first page.
    await waitFor('mail accepted', () =>
      smtp.mails.some((m) => m.subject?.includes(code)) ? true : undefined,
    );
    const inc = await firstPaged(code);
    assert.equal(inc.failureBeganAt, early);
    const text = await metrics();
    assert.equal(sample(text, 'concierge_ops_failure_to_page_seconds_count{severity="info"}'), 1);
    assert.equal(sample(text, 'concierge_ops_failure_to_page_seconds_bucket{le="30",severity="info"}'), 0);
    assert.equal(sample(text, 'concierge_ops_failure_to_page_seconds_bucket{le="60",severity="info"}'), 1);
    await cp.call('POST', `/api/v1/incidents/${code}/resolve`, { body: {} });
  });

  it('never dates a failure after its confirmation, nor before the group last resolved', async () => {
    const future = new Date(Date.now() + 3_600_000).toISOString();
    const r1 = await hook(alertPayload({ groupKey: 'g-timing-clock', startsAt: future, severity: 'info' }));
    const i1 = await incident(r1.body.incident);
    assert.equal(i1.failureBeganAt, i1.confirmedAt);
    await cp.call('POST', `/api/v1/incidents/${i1.code}/resolve`, { body: {} });
    const resolvedAt = (await incident(i1.code)).resolvedAt as string;
    // The same alert still firing (an operator resolved it by hand): the new incident's failure begins no earlier.
    const old = new Date(Date.now() - 3_600_000).toISOString();
    const r2 = await hook(
      alertPayload({ groupKey: 'g-timing-clock', startsAt: old, severity: 'info', fingerprints: ['ffee'] }),
    );
    const i2 = await incident(r2.body.incident);
    assert.notEqual(i2.code, i1.code);
    assert.equal(i2.failureBeganAt, resolvedAt);
    await cp.call('POST', `/api/v1/incidents/${i2.code}/resolve`, { body: {} });
  });

  it('dates a hand-made incident from the time given, or its creation; a future time is a 400 naming it', async () => {
    const began = new Date(Date.now() - 10 * 60_000).toISOString();
    const given = await cp.call('POST', '/api/v1/incidents', {
      body: { title: 'Phones down at the front desk', severity: 'warning', failureBeganAt: began },
    });
    assert.equal(given.status, 201);
    assert.equal(given.body.failureBeganAt, began);
    assert.equal(given.body.firstPageAt, null);
    const plain = await cp.call('POST', '/api/v1/incidents', {
      body: { title: 'Reported by a clinic', severity: 'info' },
    });
    assert.equal(plain.body.failureBeganAt, plain.body.openedAt);
    const bad = await cp.call('POST', '/api/v1/incidents', {
      body: {
        title: 'From the future',
        severity: 'info',
        failureBeganAt: new Date(Date.now() + 3_600_000).toISOString(),
      },
    });
    assert.equal(bad.status, 400);
    assert.equal(bad.headers.get('content-type')?.split(';')[0], 'application/problem+json');
    assert.deepEqual(
      bad.body.errors.map((e: { field: string }) => e.field),
      ['/failureBeganAt'],
    );
    await firstPaged(given.body.code);
    for (const code of [given.body.code, plain.body.code])
      await cp.call('POST', `/api/v1/incidents/${code}/resolve`, { body: {} });
  });
});
