import assert from 'node:assert/strict';
import { mailContent, septets, smsText, voiceTwiml } from '../../control-plane/src/notify/page.ts';
import type { DbPage } from '../../control-plane/src/notify/store.ts';

const page = (drill: boolean, summary = 'Failure drill of instance smile-prod: not a real failure.') =>
  ({
    severity: 'critical',
    code: 'INC-000123',
    client_slug: 'smile-dental',
    unassigned: false,
    instance: 'smile-prod',
    service: null,
    summary,
    title: 'ConciergeDrill',
    fallback_of: null,
    drill,
  }) as unknown as DbPage;

describe('drill pages', () => {
  it('say DRILL first on the SMS, in one segment even with a long summary, keeping the ack hint', () => {
    const text = smsText(page(true, 'x'.repeat(400)));
    assert.ok(text.startsWith('DRILL [CRIT] INC-000123 smile-dental/smile-prod: '), text);
    assert.ok(text.endsWith(' Reply ACK INC-000123'));
    assert.ok(septets(text) <= 160);
    assert.ok(smsText(page(false)).startsWith('[CRIT] INC-000123 '));
  });

  it('mark the e-mail subject and body, and the voice call before anything else', () => {
    const mail = mailContent(page(true), 'https://ops.example.test/ack?t=x');
    assert.ok(mail.subject.startsWith('[DRILL] [CRITICAL] INC-000123 '), mail.subject);
    assert.ok(mail.text.startsWith('This is a failure drill, not a real failure'));
    assert.ok(mail.html.startsWith('<p><b>This is a failure drill'));
    const real = mailContent(page(false), 'https://ops.example.test/ack?t=x');
    assert.ok(!real.subject.startsWith('[DRILL]') && !real.text.startsWith('This is a failure drill'));
    const twiml = voiceTwiml(page(true), 'https://ops.example.test/voice');
    assert.match(twiml, /<Say>This is a drill, not a real failure\. concierge ops critical page\./);
    assert.doesNotMatch(voiceTwiml(page(false), 'https://ops.example.test/voice'), /This is a drill/);
  });
});
