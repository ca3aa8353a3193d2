import assert from 'node:assert/strict';
import { startControlPlane, type TestControlPlane } from '../helpers/control-plane.ts';
import { INTERNAL, MONTH, loadFixture } from '../fixtures/reports/fixture-month.ts';
import { pdfPages, pdfText } from '../fixtures/reports/pdf-pages.ts';

// What a reader must find in the fixture month's report (hand-computed: test/fixtures/reports/fixture-month.md).
const MUST_SHOW = [
  'Uptime 99.7757 % against a target of 99.90 %: missed',
  '99.5962 %', // fixture-main: 1 - 10800/2674800
  '99.9551 %', // fixture-standby: 1 - 1200/2674800
  'Credit due: 10 %',
  'Error budget used: 3 h 20 min of 1 h 29 min 10 s (224.3 %)',
  '1 h 30 min', // the outage across the end of summer time
  '2026-10-31 23:30 GMT', // the outage across the month's end, clipped at midnight
  'The assistant was unavailable after a failed update; it was rolled back.',
  'FIXTURE-5',
  'database upgrade',
  '2026-10-09, 2026-10-17', // missed backup slots
  '29 of 31',
  '1 h 15 min 30 s', // mean time to resolve, critical
  '3 min 30 s', // mean time to acknowledge, critical
  'not available (PROMETHEUS_URL is not configured)',
  'still down as the month ends',
];
const squash = (s: string) => s.replace(/\s+/g, '');

describe('monthly report as HTML and PDF', () => {
  let cp: TestControlPlane;
  let html: string;
  let pdf: Buffer;

  before(async () => {
    cp = await startControlPlane({ WORKERS: 'off' });
    await loadFixture(cp);
    const h = await cp.call('GET', `/api/v1/clients/fixture/reports/${MONTH}.html`);
    assert.equal(h.status, 200, h.text);
    assert.match(h.headers.get('content-type')!, /^text\/html/);
    html = h.text;
    const p = await fetch(`${cp.url}/api/v1/clients/fixture/reports/${MONTH}`, {
      headers: { authorization: `Bearer ${cp.adminToken}`, accept: 'application/pdf' },
    });
    assert.equal(p.status, 200);
    assert.equal(p.headers.get('content-type'), 'application/pdf');
    pdf = Buffer.from(await p.arrayBuffer());
  });
  after(() => cp.close());

  it('HTML states every hand-computed figure, and no internal note', () => {
    const text = html.replace(/<[^>]+>/g, '').replace(/&#39;/g, "'");
    for (const s of MUST_SHOW) assert.ok(text.includes(s), `HTML lacks ${JSON.stringify(s)}`);
    assert.ok(!html.includes(INTERNAL));
    assert.ok(!html.includes('internal alert title'));
  });

  it('HTML is readable without images: language, captions, headers, a described chart and its table', () => {
    assert.match(html, /<html lang="en">/);
    assert.ok(!/<img\b/.test(html), 'no images to download');
    assert.match(
      html,
      /<svg role="img" aria-label="Daily uptime chart\. 4 day\(s\) below the 99\.9 % target: 2026-10-15, 2026-10-20, 2026-10-25, 2026-10-31\./,
    );
    assert.ok((html.match(/<caption>/g) ?? []).length >= 6);
    assert.match(html, /<th scope="col">Uptime<\/th>/);
    assert.match(html, /<th scope="row">2026-10-25<\/th><td>97\.000 %<\/td>/);
  });

  it('PDF text states every hand-computed figure, and no internal note', () => {
    const text = squash(pdfText(pdf));
    for (const s of MUST_SHOW) assert.ok(text.includes(squash(s)), `PDF lacks ${JSON.stringify(s)}`);
    assert.ok(!text.includes(squash(INTERNAL)));
  });

  it('PDF pages are neither blank nor clipped', () => {
    const pages = pdfPages(pdf);
    assert.ok(pages.length >= 2, `expected several pages, got ${pages.length}`);
    pages.forEach((p, i) => {
      assert.ok(p.inkRatio > 0.01, `page ${i + 1} is blank (ink ${p.inkRatio})`);
      assert.equal(p.edgeInk, 0, `page ${i + 1} has content at its edge`);
    });
  });

  it('the JSON API answers the same month through Accept', async () => {
    const r = await cp.call('GET', `/api/v1/clients/fixture/reports/${MONTH}`, {
      headers: { accept: 'application/json' },
    });
    assert.equal(r.status, 200);
    assert.equal(r.body.overall.downtimeSeconds, 12000);
  });

  it('rejects a malformed month naming the field, and an unknown format', async () => {
    for (const m of ['2026-13', '2026-1', '2026-10.doc', 'latest']) {
      const r = await cp.call('GET', `/api/v1/clients/fixture/reports/${m}`);
      assert.equal(r.status, 400, m);
      assert.equal(r.body.errors[0].field, '/month');
    }
  });
});
