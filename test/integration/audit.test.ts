import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { clientBody, startControlPlane, type TestControlPlane } from '../helpers/control-plane.ts';

const run = promisify(execFile);

async function verifyCli(databaseUrl: string): Promise<{ code: number; out: string }> {
  try {
    const { stdout } = await run('npm', ['run', '--silent', 'audit:verify'], {
      env: { ...process.env, DATABASE_URL: databaseUrl },
    });
    return { code: 0, out: stdout };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: e.stdout + e.stderr };
  }
}

describe('audit log', () => {
  let cp: TestControlPlane;
  before(async () => {
    cp = await startControlPlane();
    for (const slug of ['a1', 'a2', 'a3'])
      await cp.call('POST', '/api/v1/clients', { body: clientBody(slug) });
    await cp.call('PATCH', '/api/v1/clients/a2', { body: { name: 'Renamed practice' } });
  });
  after(() => cp.close());

  it('records who changed what, with the request id, in a verified chain', async () => {
    const entries = await cp.call('GET', '/api/v1/audit?limit=2', {
      headers: { 'x-request-id': 'req-test-000001' },
    });
    assert.equal(entries.body.length, 2);
    assert.equal(entries.body[0].action, 'client.update');
    assert.equal(entries.body[0].after.name, 'Renamed practice');
    const patched = await cp.call('PATCH', '/api/v1/clients/a3', {
      body: { name: 'Third' },
      headers: { 'x-request-id': 'req-test-000002' },
    });
    assert.equal(patched.headers.get('x-request-id'), 'req-test-000002');
    // Reading the log is itself recorded (audit.read): the newest change is asked for by its target's type.
    const last = await cp.call('GET', '/api/v1/audit?targetType=client&limit=1');
    assert.equal(last.body[0].requestId, 'req-test-000002');
    const v = await cp.call('GET', '/api/v1/audit/verify');
    // No signing key here (DATABASE_URL without AUDIT_SIGNING_KEY_FILE): the chain alone is checked.
    assert.deepEqual(v.body, {
      ok: true,
      rows: 8, // six changes (the first admin token, three clients, two renames) and the two reads of the log
      firstBroken: null,
      verifiedThrough: null,
      deleted: null,
      checkpoints: {
        enabled: false,
        count: 0,
        newestSeq: null,
        newestAt: null,
        newestHash: null,
        keyId: null,
        file: null,
      },
    });
  });

  it("records the caller's token, role, client scope, source address and user agent", async () => {
    const tokens = await cp.call('GET', '/api/v1/tokens');
    const admin = tokens.body.find((t: { role: string }) => t.role === 'admin');
    await cp.call('PATCH', '/api/v1/clients/a1', {
      body: { name: 'Who did this' },
      headers: { 'user-agent': 'audit-test/1.0', 'x-forwarded-for': '203.0.113.9' },
    });
    const [last] = (await cp.call('GET', '/api/v1/audit?targetType=client&limit=1')).body;
    assert.equal(last.action, 'client.update');
    assert.equal(last.tokenId, admin.id);
    assert.equal(last.tokenName, admin.name);
    assert.equal(last.role, 'admin');
    assert.equal(last.clientId, null);
    assert.equal(last.userAgent, 'audit-test/1.0');
    // A spoofed X-Forwarded-For is not believed from a proxy nobody configured: the socket's address is kept.
    assert.equal(last.ip, '127.0.0.1');
    assert.equal((await cp.call('GET', '/api/v1/audit/verify')).body.ok, true);
  });

  it('believes X-Forwarded-For only from a proxy in TRUSTED_PROXIES', async () => {
    const behind = await startControlPlane({ TRUSTED_PROXIES: '127.0.0.1/32', WORKERS: 'off' });
    try {
      await behind.call('POST', '/api/v1/clients', {
        body: clientBody('p1'),
        headers: { 'x-forwarded-for': '198.51.100.7, 203.0.113.9' },
      });
      // The client's own record: reading the log from another address is itself flagged (token.new_source).
      const [last] = (await behind.call('GET', '/api/v1/audit?targetType=client&limit=1')).body;
      // The nearest address the trusted proxy saw: the one before it in the list is anyone's to write.
      assert.equal(last.ip, '203.0.113.9');
    } finally {
      await behind.close();
    }
  });

  it('is refused UPDATE, DELETE and TRUNCATE by the database itself, on the log and on each month', async () => {
    await assert.rejects(
      cp.db.query(`update audit_log set actor = 'me' where seq = 2`),
      /append-only: UPDATE refused/,
    );
    await assert.rejects(cp.db.query('delete from audit_log where seq = 2'), /append-only: DELETE refused/);
    await assert.rejects(cp.db.query('truncate audit_log'), /append-only: TRUNCATE refused/);
    // A month addressed directly: a TRUNCATE trigger is not inherited, so each month carries its own.
    const { rows } = await cp.db.query<{ month: string }>(
      'select tableoid::regclass::text as month from audit_log where seq = 2',
    );
    const month = rows[0]!.month;
    assert.match(month, /^audit_log_y[0-9]{4}m[0-9]{2}$/);
    await assert.rejects(cp.db.query(`truncate ${month}`), /append-only: TRUNCATE refused/);
    await assert.rejects(cp.db.query(`delete from ${month} where seq = 2`), /append-only: DELETE refused/);
    await assert.rejects(
      cp.db.query(`update ${month} set actor = 'me' where seq = 2`),
      /append-only: UPDATE refused/,
    );
  });

  it('names the first altered row when a row is changed behind the trigger, in the API and the CLI', async () => {
    assert.equal((await verifyCli(cp.databaseUrl)).code, 0);
    await cp.db.query('alter table audit_log disable trigger audit_log_no_update');
    await cp.db.query(`update audit_log set after = jsonb_set(after, '{name}', '"Forged"') where seq = 3`);
    await cp.db.query('alter table audit_log enable trigger audit_log_no_update');
    const v = await cp.call('GET', '/api/v1/audit/verify');
    assert.equal(v.body.ok, false);
    assert.equal(v.body.firstBroken.seq, 3);
    assert.match(v.body.firstBroken.reason, /altered/);
    const cli = await verifyCli(cp.databaseUrl);
    assert.equal(cli.code, 1);
    assert.match(cli.out, /audit log BROKEN at seq 3/);
  });

  it('names the row after a deleted one', async () => {
    const fresh = await startControlPlane();
    try {
      for (const slug of ['b1', 'b2', 'b3'])
        await fresh.call('POST', '/api/v1/clients', { body: clientBody(slug) });
      await fresh.db.query('alter table audit_log disable trigger audit_log_no_update');
      await fresh.db.query('delete from audit_log where seq = 2');
      await fresh.db.query('alter table audit_log enable trigger audit_log_no_update');
      const v = await fresh.call('GET', '/api/v1/audit/verify');
      assert.equal(v.body.firstBroken.seq, 3);
      assert.match(v.body.firstBroken.reason, /removed/);
    } finally {
      await fresh.close();
    }
  });
});
