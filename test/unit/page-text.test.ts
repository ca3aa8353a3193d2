import assert from 'node:assert/strict';
import { septets, smsText } from '../../control-plane/src/notify/page.ts';
import type { DbPage } from '../../control-plane/src/notify/store.ts';

const page = (summary: string) =>
  ({
    severity: 'critical',
    code: 'INC-000123',
    client_slug: 'smile-dental',
    unassigned: false,
    instance: 'smile-prod',
    service: 'backend',
    summary,
    title: 'ConciergeBackendDown',
  }) as unknown as DbPage;

describe('SMS page text', () => {
  it('counts GSM-7 extension characters as two septets', () => {
    assert.equal(septets('[CRIT] a'), 10);
    assert.equal(septets('{x}|~^\\€'), 15); // seven extension characters and an x
    assert.equal(septets('plain text, 0-9: ok?'), 20);
  });

  it('fits one 160-septet segment with a long summary, keeping the code and the ack hint', () => {
    const text = smsText(
      page('The backend of smile-prod has not answered its health check for 5 minutes; '.repeat(4)),
    );
    assert.ok(septets(text) <= 160, `${septets(text)} septets: ${text}`);
    assert.ok(septets(text) >= 155, 'the summary is cut further than it needs to be');
    assert.ok(text.startsWith('[CRIT] INC-000123 smile-dental/smile-prod/backend: '));
    assert.ok(text.endsWith('... Reply ACK INC-000123'));
  });

  it('keeps a short summary whole and turns characters outside GSM-7 into spaces', () => {
    const text = smsText(page('Écran {noir} – “down”'));
    assert.equal(
      text,
      '[CRIT] INC-000123 smile-dental/smile-prod/backend: Ecran noir down Reply ACK INC-000123',
    );
    assert.ok(septets(text) <= 160);
  });
});
