/**
 * Monthly audit reports as an auditor reads them: access by actor and role, the changes, denied bursts, exports,
 * reads and flags of the month, the verification and the checkpoint covering it; per client nothing of another
 * client; stored as immutable versions and mailed to the compliance contacts with the PDF attached.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { clientBody, startControlPlane, type TestControlPlane } from '../helpers/control-plane.ts';
import { SmtpSink } from '../helpers/smtp-sink.ts';
import { pdfText } from '../fixtures/reports/pdf-pages.ts';

const CONTACT = 'compliance@provider.example.test';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('monthly audit reports: POST/GET /api/v1/audit/reports', () => {
  let cp: TestControlPlane;
  let sink: SmtpSink;
  let dir: string;
  let acmeId: string;
  let globexId: string;
  const month = new Date().toISOString().slice(0, 7);
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the JSON as an auditor reads it
  let provider: any;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  let acme: any;
  let providerMeta: { id: string; version: number; sha256: string; pdfSha256: string };

  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'audit-report-'));
    const keyFile = path.join(dir, 'signing-key.pem');
    const { privateKey } = crypto.generateKeyPairSync('ed25519');
    await fs.writeFile(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    sink = await new SmtpSink().start();
    cp = await startControlPlane({
      SMTP_URL: sink.url,
      AUDIT_REPORT_CONTACTS: CONTACT,
      REPORT_SCHEDULER: 'off',
      WORKER_POLL_INTERVAL_MS: '100',
      SECURITY_DENIED_BURST: '3',
      SECURITY_DENIED_WINDOW_SECONDS: '60',
      AUDIT_SIGNING_KEY_FILE: keyFile,
      AUDIT_CHECKPOINT_DIR: dir,
    });
    acmeId = (await cp.call('POST', '/api/v1/clients', { body: clientBody('acme') })).body.id;
    globexId = (await cp.call('POST', '/api/v1/clients', { body: clientBody('globex') })).body.id;
    const operator = await cp.token('operator');
    const acmeToken = await cp.token('client', 'acme');
    const globexToken = await cp.token('client', 'globex');
    // Configuration changes: by the operator for acme, by globex's own... (a client cannot) so by admin for globex.
    for (const [token, slug] of [
      [operator, 'acme'],
      [cp.adminToken, 'globex'],
    ] as const) {
      const r = await cp.call('PATCH', `/api/v1/clients/${slug}/report-settings`, {
        token,
        body: { reviewBeforeSend: true },
      });
      assert.equal(r.status, 200, r.text);
    }
    // Reads of client data: acme's token reads its report list; globex's reads its own.
    assert.equal((await cp.call('GET', '/api/v1/clients/acme/reports', { token: acmeToken })).status, 200);
    assert.equal(
      (await cp.call('GET', '/api/v1/clients/globex/reports', { token: globexToken })).status,
      200,
    );
    // A burst of denied requests: globex's token three times at the audit log (SECURITY_DENIED_BURST=3).
    for (let i = 0; i < 3; i++)
      assert.equal((await cp.call('GET', '/api/v1/audit', { token: globexToken })).status, 403);
    // An export of the log.
    assert.equal((await cp.call('GET', '/api/v1/audit/export?format=json')).status, 200);

    const p = await cp.call('POST', '/api/v1/audit/reports', { body: { month } });
    assert.equal(p.status, 201, p.text);
    providerMeta = p.body;
    provider = (await cp.call('GET', `/api/v1/audit/reports/${p.body.id}.json`)).body;
    const a = await cp.call('POST', '/api/v1/audit/reports', { body: { month, client: 'acme' } });
    assert.equal(a.status, 201, a.text);
    acme = (await cp.call('GET', `/api/v1/audit/reports/${a.body.id}.json`)).body;
  });

  after(async () => {
    await cp?.close();
    await sink?.stop();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it("counts the month's records by actor and role, reads and changes apart", () => {
    const by = (name: string) =>
      provider.access.byActor.find((a: { tokenName: string }) => a.tokenName === name);
    assert.equal(by('test-operator').role, 'operator');
    assert.ok(by('test-operator').changes >= 1, JSON.stringify(by('test-operator')));
    assert.equal(by('test-client').role, 'client');
    assert.ok(by('test-client').reads >= 1);
    const adminCreates = provider.access.byAction.find(
      (x: { action: string; role: string }) => x.action === 'token.create' && x.role === 'admin',
    );
    assert.equal(adminCreates.count, 3);
    assert.equal(provider.period.complete, false);
  });

  it('lists the configuration changes, the denied burst, the export, the reads and the flags', () => {
    const actions = (xs: { action: string }[]) => xs.map((x) => x.action);
    assert.equal(actions(provider.changes.items).filter((a) => a === 'report_settings.update').length, 2);
    assert.equal(actions(provider.changes.items).filter((a) => a === 'token.create').length, 3);
    assert.ok(provider.denied.bursts >= 1, JSON.stringify(provider.denied));
    assert.equal(provider.denied.items[0].action, 'security.denied_burst');
    assert.equal(provider.exports.count, 1);
    assert.equal(provider.exports.items[0].detail.format, 'json');
    assert.ok(actions(provider.reads.items).includes('report.list'));
    const flagged = actions(provider.flagged.items);
    assert.ok(flagged.includes('security.denied_burst') && flagged.includes('audit.export'), flagged.join());
  });

  it('says the chain verified and names the signed checkpoint covering the month', async () => {
    const v = provider.verification;
    assert.equal(v.atGeneration.ok, true);
    assert.ok(v.checkpoint.seq >= v.lastSeq, JSON.stringify(v));
    const file = await fs.readFile(path.join(dir, 'audit-checkpoints.jsonl'), 'utf8');
    const lines = file
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { seq: number; hash: string });
    assert.ok(lines.some((l) => l.seq === v.checkpoint.seq && l.hash === v.checkpoint.hash));
  });

  it("holds nothing of another client in a client's report", () => {
    assert.deepEqual(acme.scope, { kind: 'client', id: acmeId, slug: 'acme', name: acme.scope.name });
    const text = JSON.stringify({ ...acme, verification: null });
    assert.ok(!text.includes(globexId), 'globex id in acme report');
    assert.ok(!text.includes('globex'), 'globex slug in acme report');
    assert.equal(acme.denied.bursts, 0);
    assert.equal(acme.exports.count, 0);
    const actions = acme.changes.items.map((x: { action: string }) => x.action);
    assert.deepEqual(actions.filter((a: string) => a === 'report_settings.update').length, 1);
    assert.ok(acme.reads.items.some((x: { action: string }) => x.action === 'report.list'));
    assert.equal(acme.verification.atGeneration.ok, true);
  });

  it('renders a PDF with the headings an auditor looks for', async () => {
    const r = await cp.call('GET', `/api/v1/audit/reports/${providerMeta.id}.pdf`);
    assert.equal(r.status, 200);
    const res = await fetch(`${cp.url}/api/v1/audit/reports/${providerMeta.id}.pdf`, {
      headers: { authorization: `Bearer ${cp.adminToken}` },
    });
    const pdf = Buffer.from(await res.arrayBuffer());
    assert.equal(pdf.subarray(0, 5).toString(), '%PDF-');
    assert.equal(crypto.createHash('sha256').update(pdf).digest('hex'), providerMeta.pdfSha256);
    const text = pdfText(pdf).replace(/\s+/g, ' ');
    for (const h of [
      `Provider: audit report for ${month}`,
      'Verification',
      'Chain and checkpoints verified at generation: OK',
      'Access by actor and role',
      'Configuration changes',
      'Denied requests',
      'Exports of the audit log (1)',
      'Reads of client data',
      'Flagged as suspicious',
    ])
      assert.ok(text.includes(h), `missing "${h}" in ${text.slice(0, 400)}`);
  });

  it('stores each generation as a new version and never edits one', async () => {
    const again = await cp.call('POST', '/api/v1/audit/reports', { body: { month } });
    assert.equal(again.status, 201);
    assert.equal(again.body.version, providerMeta.version + 1);
    assert.notEqual(again.body.id, providerMeta.id);
    const first = await cp.call('GET', `/api/v1/audit/reports/${providerMeta.id}.json`);
    assert.equal(crypto.createHash('sha256').update(first.text).digest('hex'), providerMeta.sha256);
    await assert.rejects(
      cp.db.query(`update audit_reports set json = '{}' where id = $1`, [providerMeta.id]),
      /immutable/,
    );
    await assert.rejects(
      cp.db.query(`delete from audit_reports where id = $1`, [providerMeta.id]),
      /immutable/,
    );
    const list = await cp.call('GET', '/api/v1/audit/reports');
    assert.deepEqual(
      list.body.reports
        .filter((x: { scope: string }) => x.scope === 'provider')
        .map((x: { version: number }) => x.version),
      [2, 1],
    );
    const acmeList = await cp.call('GET', '/api/v1/audit/reports?client=acme');
    assert.deepEqual(
      acmeList.body.reports.map((x: { clientId: string }) => x.clientId),
      [acmeId],
    );
  });

  it('the monthly job stores one report per scope once, however often it runs', async () => {
    const nextMonth = new Date(Date.UTC(Number(month.slice(0, 4)), Number(month.slice(5)), 1, 1));
    const before = await cp.count('audit_reports');
    // Provider and acme have this month already; globex gets its first.
    assert.deepEqual(await cp.ctx.auditReports.runMonthly(nextMonth), { generated: 1 });
    assert.deepEqual(await cp.ctx.auditReports.runMonthly(nextMonth), { generated: 0 });
    assert.equal(await cp.count('audit_reports'), before + 1);
  });

  it('mails every stored report to the compliance contacts with the PDF attached', async () => {
    for (let i = 0; i < 100 && sink.to(CONTACT).length < 2; i++) await sleep(100);
    const mail = sink.to(CONTACT).find((m) => m.subject === `Provider: audit report for ${month}`);
    assert.ok(
      mail,
      sink
        .to(CONTACT)
        .map((m) => m.subject)
        .join('; '),
    );
    const pdf = mail.attachments.find((x) => x.contentType === 'application/pdf');
    assert.ok(pdf);
    assert.equal(crypto.createHash('sha256').update(pdf.content).digest('hex'), providerMeta.pdfSha256);
    assert.ok(mail.attachments.some((x) => x.contentType === 'application/json'));
    const meta = await cp.call('GET', `/api/v1/audit/reports/${providerMeta.id}`);
    assert.deepEqual(meta.body.deliveries, [{ contact: CONTACT, status: 'sent', attempts: 1 }]);
  });

  it('refuses a future month, and a month outside the shared rule, naming the field and recording nothing', async () => {
    await cp.ctx.audit.flush();
    const records = await cp.count('audit_log');
    for (const m of ['9999-12', '0000-01', '2026-13', '2026-1']) {
      const r = await cp.call('POST', '/api/v1/audit/reports', { body: { month: m } });
      assert.equal(r.status, 400, `${m}: ${r.text}`);
      assert.equal(r.body.errors[0].field, '/month');
    }
    const r = await cp.call('POST', '/api/v1/audit/reports', { body: { month: '9999-12' } });
    assert.match(r.body.errors[0].message, /after the current month/);
    await cp.ctx.audit.flush();
    assert.equal(await cp.count('audit_log'), records);
  });

  it('refuses other roles', async () => {
    const operator = await cp.token('operator');
    const r = await cp.call('POST', '/api/v1/audit/reports', { token: operator, body: { month } });
    assert.equal(r.status, 403);
  });
});
