import assert from 'node:assert/strict';
import { startControlPlane, type TestControlPlane } from '../helpers/control-plane.ts';
import { MONTH, loadFixture } from '../fixtures/reports/fixture-month.ts';
import { pdfText } from '../fixtures/reports/pdf-pages.ts';

/**
 * The fixture month's incidents, each with when its failure began and when its first page was accepted,
 * relative to its opening (seconds): failure to page and to acknowledge by hand, then p50 and p90 by nearest
 * rank. Page: 20, 40, 95, 130, 300 -> p50 95 (1 min 35 s), p90 300 (5 min). Ack (FIXTURE-3 never was): 150,
 * 270, 540, 720 -> p50 270 (4 min 30 s), p90 720 (12 min).
 */
const TIMING: Record<string, { began: number; paged: number; toPage: number; toAck: number | null }> = {
  'FIXTURE-1': { began: -120, paged: 10, toPage: 130, toAck: 720 },
  'FIXTURE-2': { began: -90, paged: 5, toPage: 95, toAck: 270 },
  'FIXTURE-3': { began: 0, paged: 20, toPage: 20, toAck: null },
  'FIXTURE-4': { began: -240, paged: 60, toPage: 300, toAck: 540 },
  'FIXTURE-5': { began: -30, paged: 10, toPage: 40, toAck: 150 },
};
const LINE =
  "From the failure's beginning to the first page accepted by the provider: p50 1 min 35 s, p90 5 min (5 " +
  'incidents paged). To its acknowledgement: p50 4 min 30 s, p90 12 min (4 acknowledged).';
const squash = (s: string) => s.replace(/\s+/g, '');

describe('monthly report: failure to page and to acknowledge', () => {
  let cp: TestControlPlane;

  before(async () => {
    cp = await startControlPlane({ WORKERS: 'off' });
    await loadFixture(cp);
    for (const [code, t] of Object.entries(TIMING))
      await cp.db.query(
        `update incidents set failure_began_at = opened_at + $2 * interval '1 second',
           first_page_at = opened_at + $3 * interval '1 second' where code = $1`,
        [code, t.began, t.paged],
      );
  });
  after(() => cp.close());

  it('gives each incident its failure to page and to acknowledge, and the p50 and p90 of both', async () => {
    const r = await cp.call('GET', `/api/v1/clients/fixture/reports/${MONTH}.json`);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(
      r.body.incidents.list.map((i: { code: string; failureToPageSeconds: number }) => [
        i.code,
        i.failureToPageSeconds,
        (i as unknown as { failureToAckSeconds: number | null }).failureToAckSeconds,
      ]),
      Object.entries(TIMING).map(([code, t]) => [code, t.toPage, t.toAck]),
    );
    assert.deepEqual(r.body.incidents.responseTimes, {
      paged: 5,
      failureToPageP50Seconds: 95,
      failureToPageP90Seconds: 300,
      acknowledged: 4,
      failureToAckP50Seconds: 270,
      failureToAckP90Seconds: 720,
    });
  });

  it('shows them in the HTML mail and the PDF a client receives', async () => {
    const h = await cp.call('GET', `/api/v1/clients/fixture/reports/${MONTH}.html`);
    assert.equal(h.status, 200);
    const text = h.text.replace(/<[^>]+>/g, '').replace(/&#39;/g, "'");
    assert.ok(text.includes(LINE), 'the HTML lacks the p50/p90 line');
    assert.match(h.text, /<th scope="col">Paged after failure<\/th>/);
    // FIXTURE-4's row: paged 5 minutes after its failure began, acknowledged 9 minutes after.
    assert.match(h.text, /FIXTURE-4<\/th><td>critical<\/td><td>[^<]+<\/td><td>5 min<\/td><td>9 min<\/td>/);
    const p = await fetch(`${cp.url}/api/v1/clients/fixture/reports/${MONTH}`, {
      headers: { authorization: `Bearer ${cp.adminToken}`, accept: 'application/pdf' },
    });
    assert.equal(p.status, 200);
    assert.ok(squash(pdfText(Buffer.from(await p.arrayBuffer()))).includes(squash(LINE)));
  });
});
