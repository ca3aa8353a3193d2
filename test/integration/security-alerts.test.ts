/**
 * Suspicious access (issue 21): each event moves its metric on /metrics (what prometheus/rules/audit.yml alerts
 * on), with no address or token id in any label, and the morning report lists it from the audit log.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DateTime } from 'luxon';
import { renderOpsMail } from '../../control-plane/src/ops/mail.ts';
import { clientBody, startControlPlane, type TestControlPlane } from '../helpers/control-plane.ts';
import { requireTool } from '../helpers/tools.ts';

const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

/** The value of one series in an exposition, or undefined when it is absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('suspicious access: metrics for the alerts and the morning report', () => {
  let cp: TestControlPlane;
  let dir: string;
  let operator: string;
  let client: string;
  let base: string;
  let now: string;

  /** A request as if from `ip`: the loopback peer is a trusted proxy here, so X-Forwarded-For is believed. */
  const from = (ip: string, token: string | null, p = '/api/v1/clients') =>
    cp.call('GET', p, { token, headers: { 'x-forwarded-for': ip } });
  const metrics = async () => {
    const m = await cp.call('GET', '/metrics');
    assert.equal(m.status, 200, m.text);
    return m.text;
  };

  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'security-alerts-'));
    const keyFile = path.join(dir, 'signing-key.pem');
    const { privateKey } = crypto.generateKeyPairSync('ed25519');
    await fs.writeFile(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    // Business days are every day but today (UTC), so whatever an admin does during this test is after hours.
    const today = DateTime.utc().weekday;
    cp = await startControlPlane({
      TRUSTED_PROXIES: 'loopback',
      SECURITY_DENIED_BURST: '5',
      SECURITY_DENIED_WINDOW_SECONDS: '60',
      SECURITY_BUSINESS_DAYS: WEEKDAYS.filter((_, i) => i + 1 !== today).join(','),
      SECURITY_TIME_ZONE: 'UTC',
      AUDIT_SIGNING_KEY_FILE: keyFile,
      AUDIT_CHECKPOINT_DIR: dir,
      AUDIT_CHECKPOINT_EVERY_SECONDS: '60',
      // The verify and checkpoint jobs are run by hand below: no checkpoint is ever due in this test.
      WORKERS: 'off',
    });
    assert.equal((await cp.call('POST', '/api/v1/clients', { body: clientBody('acme') })).status, 201);
    operator = await cp.token('operator');
    client = await cp.token('client', 'acme');
    // The first scrape is the baseline: counters start at 0 from here.
    base = await metrics();

    // A burst of 401s from one source; 4 from another stay under the threshold of 5.
    for (let i = 0; i < 5; i++) assert.equal((await from('198.51.100.9', 'cop_not-a-token')).status, 401);
    for (let i = 0; i < 4; i++) assert.equal((await from('198.51.100.10', null)).status, 401);
    // A burst of 403s with one client token from one address: a burst by token and one by source.
    for (let i = 0; i < 5; i++) assert.equal((await from('192.0.2.1', client, '/api/v1/audit')).status, 403);
    // The operator's token from its usual address, then from a new one (flagged once), then again (not again).
    assert.equal((await from('203.0.113.1', operator)).status, 200);
    assert.equal((await from('203.0.113.2', operator)).status, 200);
    assert.equal((await from('203.0.113.2', operator)).status, 200);
    // An admin token created (after hours, as everything an admin does today).
    const t = await cp.call('POST', '/api/v1/tokens', { body: { name: 'second-admin', role: 'admin' } });
    assert.equal(t.status, 201, t.text);
    // An audit export, recorded as GET /api/v1/audit/export records it (action audit.export, the admin caller).
    const admin = await cp.ctx.tokens.authenticate(cp.adminToken);
    await cp.ctx.audit.record(cp.ctx.pool, { ...admin!, ip: '203.0.113.50' }, 'req-export', {
      action: 'audit.export',
      targetType: 'audit',
      targetId: null,
      after: { format: 'csv' },
    });
    await cp.ctx.audit.flush();
    now = await metrics();
  });
  after(async () => {
    await cp.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('counts a burst of denied requests per source and per token, and not below the threshold', () => {
    assert.equal(sample(base, 'concierge_ops_auth_denied_bursts_total{by="source"}'), 0);
    assert.equal(sample(base, 'concierge_ops_auth_denied_bursts_total{by="token"}'), 0);
    assert.equal(sample(now, 'concierge_ops_auth_denied_bursts_total{by="source"}'), 2);
    assert.equal(sample(now, 'concierge_ops_auth_denied_bursts_total{by="token"}'), 1);
  });

  it('counts a token used from a new source address once, not its first address', () => {
    assert.equal(sample(base, 'concierge_ops_token_new_source_total{role="operator"}'), 0);
    assert.equal(sample(now, 'concierge_ops_token_new_source_total{role="operator"}'), 1);
    // The admin's and the client's tokens were only ever used from one address each.
    assert.equal(sample(now, 'concierge_ops_token_new_source_total{role="admin"}'), 0);
    assert.equal(sample(now, 'concierge_ops_token_new_source_total{role="client"}'), 0);
  });

  it('counts an admin token created, an audit export and admin actions after hours', () => {
    assert.equal(sample(base, 'concierge_ops_audit_admin_tokens_created_total'), 0);
    assert.equal(sample(now, 'concierge_ops_audit_admin_tokens_created_total'), 1);
    assert.equal(sample(base, 'concierge_ops_audit_records_total{action="audit.export",role="admin"}'), 0);
    assert.equal(sample(now, 'concierge_ops_audit_records_total{action="audit.export",role="admin"}'), 1);
    assert.equal(sample(now, 'concierge_ops_audit_records_total{action="token.create",role="admin"}'), 1);
    // The two admin records (token.create, audit.export); the operator's new-source record is not an admin's.
    assert.equal(sample(base, 'concierge_ops_audit_admin_actions_outside_business_total'), 0);
    assert.equal(sample(now, 'concierge_ops_audit_admin_actions_outside_business_total'), 2);
  });

  it('puts no address or token id in any label, and promtool check metrics accepts /metrics', () => {
    assert.doesNotMatch(now, /198\.51\.100|203\.0\.113|192\.0\.2\./);
    for (const line of now.split('\n').filter((l) => /^concierge_ops_(audit|auth|token)/.test(l)))
      assert.doesNotMatch(line, /[0-9a-f]{8}-[0-9a-f]{4}-/, line);
    const check = spawnSync(requireTool('promtool'), ['check', 'metrics'], { input: now, encoding: 'utf8' });
    assert.equal(check.status, 0, check.stdout + check.stderr);
  });

  it('exports the checkpoint cadence, and the verify job result (0 with timestamp 0 before the first run)', async () => {
    assert.equal(sample(now, 'concierge_ops_audit_checkpoint_interval_seconds'), 60);
    assert.equal(sample(now, 'concierge_ops_audit_verify_ok'), 0);
    assert.equal(sample(now, 'concierge_ops_audit_verify_timestamp_seconds'), 0);
    const r = await cp.ctx.auditWatch.verify();
    assert.equal(r.ok, true);
    const m = await metrics();
    assert.equal(sample(m, 'concierge_ops_audit_verify_ok'), 1);
    const at = sample(m, 'concierge_ops_audit_verify_timestamp_seconds')!;
    assert.ok(Math.abs(at - Date.now() / 1000) < 30, String(at));
  });

  it('lists everything flagged in the morning report and its mail, from the audit log', async () => {
    // A superuser's change behind the triggers: the verify job fails, and says so in the report.
    await cp.db.query('alter table audit_log disable trigger user');
    try {
      await cp.db.query(`update audit_log set actor = 'someone else' where seq = 3`);
    } finally {
      await cp.db.query('alter table audit_log enable trigger user');
    }
    assert.equal((await cp.ctx.auditWatch.verify()).ok, false);
    assert.equal(sample(await metrics(), 'concierge_ops_audit_verify_ok'), 0);

    const res = await cp.call('GET', '/api/v1/ops/daily');
    assert.equal(res.status, 200, res.text);
    const s = res.body.suspicious;
    const bursts = s.deniedBursts.items.map((i: { what: string }) => i.what).sort();
    assert.equal(bursts.length, 3, bursts.join('\n'));
    assert.equal(bursts[0], '5 denied requests within 60 s from 192.0.2.1');
    assert.equal(bursts[1], '5 denied requests within 60 s from 198.51.100.9');
    assert.match(bursts[2], /^5 denied requests within 60 s with token test-client \(client, [0-9a-f]{8}\)$/);
    assert.equal(s.newSources.count, 1);
    assert.equal(s.newSources.items[0].ip, '203.0.113.2');
    assert.match(
      s.newSources.items[0].what,
      /token test-operator \(operator, [0-9a-f]{8}\) used from new address 203\.0\.113\.2/,
    );
    assert.equal(s.adminTokensCreated.count, 1);
    assert.match(s.adminTokensCreated.items[0].what, /admin token second-admin created by bootstrap-admin/);
    assert.equal(s.exports.count, 1);
    assert.equal(s.exports.items[0].ip, '203.0.113.50');
    // Every admin record of today: the tokens and client made before the baseline too (all after hours).
    assert.deepEqual(
      s.afterHoursAdmin.items.map((i: { action: string }) => i.action),
      ['client.create', 'token.create', 'token.create', 'token.create', 'audit.export'],
    );
    assert.equal(s.verifyFailures.length, 1);
    assert.equal(s.verifyFailures[0].seq, 3);
    // Checkpoints are on and none was ever written.
    assert.deepEqual(s.checkpointsMissing, { newestAt: null, everySeconds: 60 });

    const mail = renderOpsMail(res.body);
    assert.match(mail.text, /\[!!\] Suspicious access in the last 24 h\n/);
    for (const line of [
      /denied-request burst: 5 denied requests within 60 s from 198\.51\.100\.9 at /,
      /new source address: token test-operator .* used from new address 203\.0\.113\.2 at /,
      /admin action outside business hours \(08:00-18:00 UTC, ISO weekdays [0-9,]+\): token\.create by /,
      /admin token created: admin token second-admin created by /,
      /audit export: audit log exported by bootstrap-admin/,
      /audit verification FAILED at .*: seq 3: /,
      /audit checkpoints not written: the newest was signed never, one is due every 60 s/,
    ])
      assert.match(mail.text, line);
  });
});
