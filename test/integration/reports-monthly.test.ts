import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { startControlPlane, type TestControlPlane } from '../helpers/control-plane.ts';
import { SmtpSink } from '../helpers/smtp-sink.ts';
import { MONTH, loadFixture } from '../fixtures/reports/fixture-month.ts';

const sha = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('monthly report job: stored, immutable, mailed once per contact, review before send', () => {
  let cp: TestControlPlane;
  let sink: SmtpSink;
  let operator: string;
  const FX = ['it@fixture.example.test', 'director@fixture.example.test'];
  const RV = ['it@review.example.test'];

  async function waitForMails(n: number, ms = 15000) {
    const until = Date.now() + ms;
    while (sink.mails.length < n && Date.now() < until) await sleep(50);
    // A little longer: a duplicate would arrive now.
    await sleep(700);
  }

  before(async () => {
    sink = await new SmtpSink().start();
    cp = await startControlPlane({
      SMTP_URL: sink.url,
      REPORT_SCHEDULER: 'off',
      WORKER_POLL_INTERVAL_MS: '100',
      SEND_RETRY_BASE_MS: '50',
    });
    await loadFixture(cp, 'fixture', FX);
    await loadFixture(cp, 'review', RV);
    operator = await cp.token('operator');
    const s = await cp.call('PATCH', '/api/v1/clients/review/report-settings', {
      token: operator,
      body: { reviewBeforeSend: true, sendAt: '09:30' },
    });
    assert.equal(s.status, 200, s.text);
  });
  after(async () => {
    await cp.close();
    await sink.stop();
  });

  it('does nothing before the send time on the 1st (local), then sends once however often it runs', async () => {
    // 07:59 GMT on 1 November is 07:59 in London: before the default 08:00.
    assert.deepEqual(await cp.ctx.reports.runMonthly(new Date('2026-11-01T07:59:00Z')), { generated: 0 });
    assert.equal(await cp.count('reports'), 0);
    const first = await cp.ctx.reports.runMonthly(new Date('2026-11-01T08:00:00Z'));
    assert.deepEqual(first, { generated: 1 });
    const again = await cp.ctx.reports.runMonthly(new Date('2026-11-01T08:05:00Z'));
    assert.deepEqual(again, { generated: 0 });
    await waitForMails(2);
    assert.equal(sink.mails.length, 2, sink.mails.map((m) => m.subject).join('; '));
    for (const c of FX) assert.equal(sink.to(c).length, 1, c);
  });

  it('mails the HTML body with the PDF attached, whose SHA-256 is the stored one', async () => {
    const { rows } = await cp.db.query<{ id: string; sha256: string; status: string }>(
      `select r.id, r.sha256, r.status from reports r join clients c on c.id = r.client_id where c.slug = 'fixture'`,
    );
    assert.equal(rows.length, 1);
    assert.equal(rows[0]!.status, 'sent');
    const m = sink.to(FX[0]!)[0]!;
    assert.equal(m.subject, 'Practice fixture: service report for October 2026');
    assert.ok(String(m.html).includes('99.7757 %'));
    assert.equal(m.attachments.length, 1);
    const a = m.attachments[0]!;
    assert.equal(a.contentType, 'application/pdf');
    assert.equal(a.filename, 'fixture-2026-10.pdf');
    assert.equal(sha(a.content), rows[0]!.sha256);
    const d = await cp.db.query<{ status: string; message_id: string | null }>(
      'select status, message_id from report_deliveries where report_id = $1',
      [rows[0]!.id],
    );
    assert.deepEqual(
      d.rows.map((x) => x.status),
      ['sent', 'sent'],
    );
    assert.ok(d.rows.every((x) => x.message_id));
  });

  it('serves the sent report as stored, and PostgreSQL refuses to change it', async () => {
    const mine = await cp.token('client', 'fixture');
    const list = await cp.call('GET', '/api/v1/clients/fixture/reports', { token: mine });
    assert.equal(list.status, 200);
    assert.equal(list.body.reports.length, 1);
    const stored = list.body.reports[0];
    assert.equal(stored.version, 1);
    assert.equal(stored.deliveries, undefined, 'clients do not see the delivery log');
    const pdf = await fetch(`${cp.url}/api/v1/clients/fixture/reports/${MONTH}.pdf`, {
      headers: { authorization: `Bearer ${mine}` },
    });
    assert.equal(sha(Buffer.from(await pdf.arrayBuffer())), stored.sha256);
    const byId = await cp.call('GET', `/api/v1/reports/${stored.id}`, { token: mine });
    assert.equal(byId.status, 200);
    assert.equal(byId.body.report.overall.downtimeSeconds, 12000);
    await assert.rejects(
      cp.db.query(`update reports set html = 'tampered' where id = $1`, [stored.id]),
      /immutable/,
    );
    await assert.rejects(cp.db.query(`delete from reports where id = $1`, [stored.id]), /immutable/);
  });

  it('holds a review client’s report until an operator edits and approves it', async () => {
    // 09:29 London is before review's 09:30; at 09:30 its report is generated but not sent.
    assert.deepEqual(await cp.ctx.reports.runMonthly(new Date('2026-11-01T09:29:00Z')), { generated: 0 });
    assert.deepEqual(await cp.ctx.reports.runMonthly(new Date('2026-11-01T09:30:00Z')), { generated: 1 });
    await sleep(1000);
    assert.equal(sink.to(RV[0]!).length, 0, 'held for review');
    const clientToken = await cp.token('client', 'review');
    assert.deepEqual(
      (await cp.call('GET', '/api/v1/clients/review/reports', { token: clientToken })).body.reports,
      [],
    );
    const list = await cp.call('GET', '/api/v1/clients/review/reports', { token: operator });
    const pending = list.body.reports[0];
    assert.equal(pending.status, 'pending_review');
    assert.equal((await cp.call('GET', `/api/v1/reports/${pending.id}`, { token: clientToken })).status, 404);

    const bad = await cp.call('PATCH', `/api/v1/reports/${pending.id}`, {
      token: operator,
      body: { publicSummaries: { 'REVIEW-2': '' } },
    });
    assert.equal(bad.status, 400);
    const edit = await cp.call('PATCH', `/api/v1/reports/${pending.id}`, {
      token: operator,
      body: { publicSummaries: { 'REVIEW-2': 'A short network interruption at the hosting provider.' } },
    });
    assert.equal(edit.status, 200, edit.text);
    assert.notEqual(edit.body.sha256, pending.sha256, 'the edit re-rendered the PDF');
    const ok = await cp.call('POST', `/api/v1/reports/${pending.id}/approve`, { token: operator });
    assert.equal(ok.status, 200, ok.text);
    await waitForMails(3);
    const m = sink.to(RV[0]!);
    assert.equal(m.length, 1);
    assert.ok(String(m[0]!.html).includes('A short network interruption at the hosting provider.'));
    assert.equal(sha(m[0]!.attachments[0]!.content), edit.body.sha256);
    const again = await cp.call('POST', `/api/v1/reports/${pending.id}/approve`, { token: operator });
    assert.equal(again.status, 409);
    const audit = await cp.db.query<{ action: string }>(
      // The changes; the reads of reports (report.list, report.read) are recorded too, and not asked for here.
      `select action from audit_log where action like 'report%' and action not in ('report.list', 'report.read')
       order by seq`,
    );
    assert.deepEqual(
      audit.rows.map((r) => r.action),
      ['report_settings.update', 'report.edit_summaries', 'report.approve'],
    );
  });

  it('a correction is a new version with its reason, audited and mailed; a re-send mails again', async () => {
    const before = sink.mails.length;
    const bad = await cp.call('POST', `/api/v1/clients/fixture/reports/${MONTH}/corrections`, {
      token: operator,
      body: {},
    });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.errors[0].field, '/reason');
    const c = await cp.call('POST', `/api/v1/clients/fixture/reports/${MONTH}/corrections`, {
      token: operator,
      body: { reason: 'An outage on 20 October was attributed to the wrong instance.' },
    });
    assert.equal(c.status, 201, c.text);
    assert.equal(c.body.version, 2);
    assert.equal(c.body.reason, 'An outage on 20 October was attributed to the wrong instance.');
    await waitForMails(before + 2);
    assert.equal(sink.mails.length, before + 2);
    assert.ok(sink.mails.slice(before).every((m) => m.subject!.endsWith('(correction 1)')));
    const list = await cp.call('GET', '/api/v1/clients/fixture/reports', { token: operator });
    assert.deepEqual(
      list.body.reports.map((r: { version: number }) => r.version),
      [2, 1],
    );
    const r = await cp.call('POST', `/api/v1/clients/fixture/reports/${MONTH}/resend`, { token: operator });
    assert.equal(r.status, 202, r.text);
    await waitForMails(before + 4);
    assert.equal(sink.mails.length, before + 4);
    const client = await cp.token('client', 'fixture');
    assert.equal(
      (await cp.call('POST', `/api/v1/clients/fixture/reports/${MONTH}/resend`, { token: client })).status,
      403,
    );
  });
});
