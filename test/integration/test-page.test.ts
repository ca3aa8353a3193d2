import assert from 'node:assert/strict';
import { waitFor } from '../helpers/alerts.ts';
import { clientBody, startControlPlane, type TestControlPlane } from '../helpers/control-plane.ts';
import { SmtpSink } from '../helpers/smtp-sink.ts';
import { TwilioStandIn } from '../helpers/twilio-standin.ts';

describe('test pages to a responder', () => {
  let cp: TestControlPlane;
  let tw: TwilioStandIn;
  let sink: SmtpSink;
  let ann: string;
  let bob: string;
  const phone = '+15551270001';

  before(async () => {
    tw = await new TwilioStandIn().start();
    sink = await new SmtpSink().start();
    cp = await startControlPlane({
      TWILIO_ACCOUNT_SID: 'AC' + '0123456789abcdef'.repeat(2),
      TWILIO_AUTH_TOKEN: 'twilio-auth-token-for-tests-0123456789',
      TWILIO_FROM_NUMBER: '+15005550006',
      TWILIO_API_URL: tw.url,
      SMTP_URL: sink.url,
      PUBLIC_URL: 'https://ops.example.test',
      WORKER_POLL_INTERVAL_MS: '100',
    });
    await cp.call('POST', '/api/v1/clients', { body: clientBody('testpage-dental') });
    const a = await cp.call('POST', '/api/v1/responders', {
      body: { name: 'Ann', role: 'engineer', phone, email: 'ann@example.test' },
    });
    ann = a.body.id;
    const b = await cp.call('POST', '/api/v1/responders', { body: { name: 'Bob', role: 'engineer' } });
    bob = b.body.id;
  });
  after(async () => {
    await cp.close();
    await tw.stop();
    await sink.stop();
  });

  const testPage = (id: string, channel: string, token?: string) =>
    cp.call('POST', `/api/v1/responders/${id}/test-page`, { body: { channel }, ...(token ? { token } : {}) });

  it('sends an SMS, a call and an e-mail marked TEST through the outbox, each audited', async () => {
    for (const channel of ['sms', 'voice', 'email']) {
      const r = await testPage(ann, channel);
      assert.equal(r.status, 202, JSON.stringify(r.body));
      assert.deepEqual(r.body.responder, { id: ann, name: 'Ann' });
      assert.equal(r.body.channel, channel);
    }
    const sms = await waitFor('the test SMS', () => tw.messages(phone)[0]);
    assert.match(sms.params.Body!, /^\[TEST\] concierge-ops TEST page: no incident, no action needed\./);
    const call = await waitFor('the test call', () => tw.calls(phone)[0]);
    assert.match(call.params.Twiml!, /test page for Ann\. There is no incident/);
    assert.doesNotMatch(call.params.Twiml!, /Gather/);
    const mail = await waitFor('the test e-mail', () => sink.to('ann@example.test')[0]);
    assert.equal(mail.subject, '[TEST] concierge-ops test page');
    assert.doesNotMatch(mail.text ?? '', /ack-link/);
    // Through the outbox: each a row, sent, with its attempt; no incident was opened for it.
    await waitFor('rows sent', async () => {
      const { rows } = await cp.db.query(
        `select channel, status from notifications where test and responder_id = $1 order by channel`,
        [ann],
      );
      return rows.every((x) => x.status === 'sent') && rows.length === 3 ? true : undefined;
    });
    assert.equal(await cp.count('incidents'), 0);
    const audit = await cp.call('GET', '/api/v1/audit?targetType=responder');
    const tests = audit.body.filter((e: { action: string }) => e.action === 'responder.test_page');
    assert.deepEqual(tests.map((e: { after: { channel: string } }) => e.after.channel).sort(), [
      'email',
      'sms',
      'voice',
    ]);
    assert.ok(!JSON.stringify(audit.body).includes('+1555127'), 'a phone number reached the audit log');
    assert.ok(
      !JSON.stringify(audit.body).includes('ann@example.test'),
      'an e-mail address reached the audit log',
    );
  });

  it('refuses a channel the responder cannot be reached on, another role, and an unknown responder', async () => {
    const before = await cp.count('notifications');
    const noPhone = await testPage(bob, 'sms');
    assert.equal(noPhone.status, 400);
    assert.equal(noPhone.body.errors[0].field, '/channel');
    assert.match(noPhone.body.errors[0].message, /no phone number/);
    const bad = await testPage(ann, 'pigeon');
    assert.equal(bad.status, 400);
    assert.equal(bad.body.errors[0].field, '/channel');
    assert.equal((await testPage('00000000-0000-4000-8000-000000000000', 'sms')).status, 404);
    assert.equal((await testPage('not-a-uuid', 'sms')).status, 404);
    const client = await cp.token('client', 'testpage-dental');
    assert.equal((await testPage(ann, 'sms', client)).status, 403);
    await cp.call('PATCH', `/api/v1/responders/${ann}`, { body: { active: false } });
    assert.equal((await testPage(ann, 'sms')).status, 409);
    assert.equal(await cp.count('notifications'), before);
  });
});
