import assert from 'node:assert/strict';
import {
  clientBody,
  instanceBody,
  startControlPlane,
  type TestControlPlane,
} from '../helpers/control-plane.ts';
import { pdfText } from '../fixtures/reports/pdf-pages.ts';

/**
 * Issue 27's example: an instance registered with monitoredSince at the start of October and four outages an
 * operator recorded in November, nothing else measured. Before, the report said "Uptime 24.4898 % ... missed
 * ... Credit due: 50 %", and its chart drew the outage days near 0 % on a -0.5 %..100 % axis.
 */
const MONTH = '2026-11';
// Down 864 s on 3 November (a 99.000 % day once the day is measured), 1200 s and 1636 s; degraded 1200 s.
const OUTAGES = [
  { state: 'down', start: '2026-11-03T10:00:00Z', end: '2026-11-03T10:14:24Z' },
  { state: 'down', start: '2026-11-10T10:00:00Z', end: '2026-11-10T10:20:00Z' },
  { state: 'down', start: '2026-11-17T10:00:00Z', end: '2026-11-17T10:27:16Z' },
  { state: 'degraded', start: '2026-11-24T10:00:00Z', end: '2026-11-24T10:20:00Z' },
];
const DOWN = 864 + 1200 + 1636;
const RECORDED = DOWN + 1200;
const NOVEMBER = 30 * 86400;
const squash = (s: string) => s.replace(/\s+/g, '');

describe('SLA and reports of a month mostly unmeasured (issue 27): the measured share, no automatic credit', () => {
  let cp: TestControlPlane;

  before(async () => {
    cp = await startControlPlane({ WORKERS: 'off' });
    const c = await cp.call('POST', '/api/v1/clients', {
      body: clientBody('partial', { timeZone: 'Europe/London', slaTarget: 0.999 }),
    });
    assert.equal(c.status, 201, c.text);
    const i = await cp.call('POST', '/api/v1/instances', {
      body: instanceBody('partial', 'partial-prod', { monitoredSince: '2026-10-01T00:00:00Z' }),
    });
    assert.equal(i.status, 201, i.text);
    for (const o of OUTAGES) {
      const r = await cp.call('POST', '/api/v1/availability/intervals', {
        body: { instance: 'partial-prod', service: 'backend', reason: 'recorded from the old tool', ...o },
      });
      assert.equal(r.status, 201, r.text);
    }
  });
  after(() => cp.close());

  it('the SLA answer states the measured share and, below the minimum, neither a result nor a credit', async () => {
    const r = await cp.call('GET', `/api/v1/instances/partial-prod/sla?month=${MONTH}`);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.measuredSeconds, RECORDED);
    assert.equal(r.body.uptime, 1 - DOWN / RECORDED); // 24.4898 %: what was measured, shown as such
    assert.equal(r.body.measuredShare, RECORDED / NOVEMBER);
    assert.equal(r.body.insufficientData, true);
    assert.equal(r.body.met, null);
    assert.equal(r.body.credit, null);
    const client = await cp.call('GET', `/api/v1/clients/partial/sla?month=${MONTH}`);
    assert.equal(client.body.insufficientData, true);
    assert.equal(client.body.credit, null);
    assert.equal(client.body.measuredShare, RECORDED / NOVEMBER);
  });

  it('the JSON report states the measured share per instance, overall and per day', async () => {
    const r = await cp.call('GET', `/api/v1/clients/partial/reports/${MONTH}.json`);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.minMeasuredShare, 0.9);
    assert.equal(r.body.overall.measuredShare, RECORDED / NOVEMBER);
    assert.equal(r.body.overall.insufficientData, true);
    assert.equal(r.body.overall.creditPercent, null);
    assert.equal(r.body.overall.met, null);
    assert.equal(r.body.overall.errorBudgetUsedRatio, null);
    assert.equal(r.body.instances[0].insufficientData, true);
    const day3 = r.body.daily.find((d: { date: string }) => d.date === '2026-11-03');
    assert.equal(day3.measuredShare, 864 / 86400);
    assert.equal(r.body.daily.find((d: { date: string }) => d.date === '2026-11-04').measuredShare, 0);
  });

  it('HTML and PDF say the month has insufficient data and grant no credit', async () => {
    const h = await cp.call('GET', `/api/v1/clients/partial/reports/${MONTH}.html`);
    assert.equal(h.status, 200, h.text);
    const text = h.text.replace(/<[^>]+>/g, '').replace(/&#39;/g, "'");
    const p = await fetch(`${cp.url}/api/v1/clients/partial/reports/${MONTH}`, {
      headers: { authorization: `Bearer ${cp.adminToken}`, accept: 'application/pdf' },
    });
    assert.equal(p.status, 200);
    const pdf = squash(pdfText(Buffer.from(await p.arrayBuffer())));
    for (const [name, body] of [
      ['HTML', text],
      ['PDF', pdf],
    ] as const) {
      const has = (s: string) => (name === 'PDF' ? body.includes(squash(s)) : body.includes(s));
      assert.ok(has('Insufficient data: only 0.19 % of the period was measured'), `${name}: ${body}`);
      assert.ok(has('at least 90.00 % is needed for a result'), name);
      assert.ok(has('Over the measured time alone the uptime was 24.4898 %'), name);
      assert.ok(has('Credit due: none granted automatically (insufficient data)'), name);
      assert.ok(!has('missed'), `${name} gives no result`);
      assert.ok(!has('Credit due: 50 %'), name);
      assert.ok(!has('75510'), `${name} states no budget figure from 0.19 % of the month`);
    }
    assert.ok(pdf.includes('nodata'), 'the PDF chart marks unmeasured days');
  });

  it('the chart marks every day measured less than the minimum "no data", none as 100 % or near 0 %', async () => {
    const h = (await cp.call('GET', `/api/v1/clients/partial/reports/${MONTH}.html`)).text;
    const svg = h.slice(h.indexOf('<svg'), h.indexOf('</svg>'));
    assert.match(svg, /30 day\(s\) with no data/);
    assert.equal((svg.match(/>no data<\/text>/g) ?? []).length, 30);
    assert.ok(!svg.includes('#c62828'), 'no red bar');
    assert.ok(svg.includes('2026-11-03: no data (1.0 % of the day measured)'));
  });

  it('an operator decides the credit of such a month through the API, audited; SLA and report then state it', async () => {
    const path = `/api/v1/clients/partial/sla/credit-decisions/${MONTH}`;
    const body = { creditPercent: 10, reason: 'the old tool showed four outages; goodwill credit' };
    const denied = await cp.call('PUT', path, { token: await cp.token('client', 'partial'), body });
    assert.equal(denied.status, 403, denied.text);
    for (const [p, b, field] of [
      [path, { ...body, creditPercent: 101 }, '/creditPercent'],
      [path, { ...body, reason: '' }, '/reason'],
      ['/api/v1/clients/partial/sla/credit-decisions/2026-13', body, '/month'],
    ] as const) {
      const r = await cp.call('PUT', p, { body: b });
      assert.equal(r.status, 400, r.text);
      assert.equal(r.body.errors[0].field, field);
    }
    assert.equal(await cp.count('sla_credit_decisions'), 0);
    const r = await cp.call('PUT', path, { body });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.creditPercent, 10);
    const audit = await cp.db.query<{ after: { creditPercent: number; reason: string } }>(
      `select after from audit_log where action = 'sla.credit-decision'`,
    );
    assert.deepEqual(
      audit.rows.map((a) => [a.after.creditPercent, a.after.reason]),
      [[10, body.reason]],
    );
    const sla = await cp.call('GET', `/api/v1/clients/partial/sla?month=${MONTH}`);
    assert.equal(sla.body.insufficientData, true);
    assert.equal(sla.body.credit, 10);
    assert.equal(sla.body.creditDecision.reason, body.reason);
    const json = await cp.call('GET', `/api/v1/clients/partial/reports/${MONTH}.json`);
    assert.equal(json.body.overall.creditPercent, 10);
    const html = (await cp.call('GET', `/api/v1/clients/partial/reports/${MONTH}.html`)).text;
    assert.ok(
      html.replace(/<[^>]+>/g, '').includes(`Credit due: 10 % (decided by the provider: ${body.reason})`),
    );
    assert.ok(html.includes('Insufficient data'));
  });

  it('the morning report states the month-to-date measured share of a client at risk', async () => {
    const r = await cp.call('POST', '/api/v1/availability/intervals', {
      body: {
        instance: 'partial-prod',
        service: 'backend',
        state: 'down',
        start: '2026-12-01T10:00:00Z',
        end: '2026-12-01T11:00:00Z',
        reason: 'recorded',
      },
    });
    assert.equal(r.status, 201, r.text);
    const d = await cp.call('GET', '/api/v1/ops/daily');
    assert.equal(d.status, 200, d.text);
    // The report as of 8 December 2026 (the route's answer is OpsService.daily() at the wall clock): the hour
    // down on the 1st then lies in the month to date whatever the date the suite runs. At the wall clock this
    // failed from January 2027, the hour then in a month before the report's.
    const daily = JSON.parse(JSON.stringify(await cp.ctx.ops.daily(new Date('2026-12-08T12:00:00Z'))));
    const risk = daily.slaAtRisk.find((s: { client: string }) => s.client === 'partial');
    assert.ok(risk, JSON.stringify(daily.slaAtRisk));
    assert.equal(risk.insufficientData, true);
    assert.ok(risk.measuredShare > 0 && risk.measuredShare < 0.01, String(risk.measuredShare));
  });
});
