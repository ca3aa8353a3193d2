/**
 * Heartbeat (push) monitors: staff create one per job, the job calls its push URL, the control plane says on
 * /metrics whether it reported in within interval + grace (HeartbeatMissing alerts on that), and the token is
 * the only credential of the push.
 */
import assert from 'node:assert/strict';
import {
  clientBody,
  instanceBody,
  startControlPlane,
  type TestControlPlane,
} from '../helpers/control-plane.ts';

function heartbeatUp(text: string, heartbeat: string): number | undefined {
  const m = new RegExp(
    `^concierge_ops_heartbeat_up\\{[^}]*heartbeat="${heartbeat}"[^}]*\\} (\\S+)$`,
    'm',
  ).exec(text);
  return m ? Number(m[1]) : undefined;
}

describe('heartbeat monitors', function () {
  let cp: TestControlPlane;
  let operator: string;
  let clientA: string;
  let clientB: string;
  let id: string;
  let token: string;

  /** /metrics after the one-second cache of scrape-time gauges has passed. */
  const metrics = async () => {
    await new Promise((r) => setTimeout(r, 1100));
    return (await cp.call('GET', '/metrics')).text;
  };

  before(async () => {
    cp = await startControlPlane();
    for (const c of ['acme', 'beta'])
      assert.equal((await cp.call('POST', '/api/v1/clients', { body: clientBody(c) })).status, 201);
    for (const [c, i] of [
      ['acme', 'acme-prod'],
      ['beta', 'beta-prod'],
    ])
      assert.equal((await cp.call('POST', '/api/v1/instances', { body: instanceBody(c!, i!) })).status, 201);
    operator = await cp.token('operator');
    clientA = await cp.token('client', 'acme');
    clientB = await cp.token('client', 'beta');
  });
  after(async () => cp?.close());

  it('creates a heartbeat whose push token is in the answer only, and audits it without the token', async () => {
    const res = await cp.call('POST', '/api/v1/heartbeats', {
      token: operator,
      body: { instance: 'acme-prod', name: 'nightly-export', intervalSeconds: 3600 },
    });
    assert.equal(res.status, 201, res.text);
    id = res.body.heartbeat.id;
    token = res.body.token;
    assert.match(token, /^hb_[A-Za-z0-9_-]{43}$/);
    assert.equal(res.body.pushPath, `/api/v1/push/${token}`);
    assert.deepEqual(
      {
        ...res.body.heartbeat,
        id: undefined,
        createdAt: undefined,
        createdBy: undefined,
        instance: undefined,
      },
      {
        id: undefined,
        createdAt: undefined,
        createdBy: undefined,
        instance: undefined,
        name: 'nightly-export',
        intervalSeconds: 3600,
        graceSeconds: 300,
        severity: 'warning',
        tokenPrefix: token.slice(0, 10),
        state: 'waiting',
        lastPushAt: null,
        lastStatus: null,
      },
    );
    const again = await cp.call('GET', `/api/v1/heartbeats/${id}`, { token: operator });
    assert.equal(again.status, 200);
    assert.ok(!again.text.includes(token), 'the token is never read back');
    const audit = await cp.db.query(
      `select after::text as detail from audit_log where action = 'heartbeat.create'
       union all select after::text as detail from audit_pending where action = 'heartbeat.create'`,
    );
    assert.equal(audit.rows.length, 1);
    assert.ok(!audit.rows[0].detail.includes(token.slice(10)), 'no token in the audit record');
    const dup = await cp.call('POST', '/api/v1/heartbeats', {
      token: operator,
      body: { instance: 'acme-prod', name: 'nightly-export', intervalSeconds: 60 },
    });
    assert.equal(dup.status, 409, dup.text);
  });

  it('refuses a bad heartbeat, naming the field, and creates nothing', async () => {
    const before = await cp.count('heartbeat_monitors');
    for (const [body, field] of [
      [{ instance: 'acme-prod', name: 'x', intervalSeconds: 59 }, '/intervalSeconds'],
      [{ instance: 'acme-prod', name: 'Bad Name', intervalSeconds: 60 }, '/name'],
      [{ instance: 'acme-prod', name: 'x', intervalSeconds: 60, graceSeconds: 86_401 }, '/graceSeconds'],
      [{ instance: 'acme-prod', name: 'x', intervalSeconds: 60, severity: 'info' }, '/severity'],
    ] as const) {
      const res = await cp.call('POST', '/api/v1/heartbeats', { token: operator, body });
      assert.equal(res.status, 400, res.text);
      assert.ok(
        res.body.errors.some((e: { field: string }) => e.field === field),
        `${field} named: ${res.text}`,
      );
    }
    assert.equal(await cp.count('heartbeat_monitors'), before);
  });

  it('takes pushes as Uptime Kuma push URLs do: GET or POST, status=up|down, msg dropped', async () => {
    assert.equal(heartbeatUp(await metrics(), 'nightly-export'), 1, 'a new heartbeat waits as up');
    const up = await cp.call(
      'GET',
      `/api/v1/push/${token}?status=up&msg=${encodeURIComponent('Jane Doe ok')}&ping=`,
      {
        token: null,
      },
    );
    assert.equal(up.status, 200, up.text);
    assert.deepEqual(up.body, { ok: true });
    let h = (await cp.call('GET', `/api/v1/heartbeats/${id}`, { token: operator })).body;
    assert.equal(h.state, 'up');
    assert.equal(h.lastStatus, 'up');
    assert.ok(Date.now() - Date.parse(h.lastPushAt) < 60_000);
    assert.ok(!JSON.stringify(h).includes('Jane'), 'the message is not kept');

    const down = await cp.call('POST', `/api/v1/push/${token}?status=down`, { token: null });
    assert.equal(down.status, 200, down.text);
    h = (await cp.call('GET', `/api/v1/heartbeats/${id}`, { token: operator })).body;
    assert.equal(h.state, 'down');
    assert.equal(heartbeatUp(await metrics(), 'nightly-export'), 0);

    assert.equal((await cp.call('GET', `/api/v1/push/${token}`, { token: null })).status, 200);
    assert.equal(heartbeatUp(await metrics(), 'nightly-export'), 1);
  });

  it('says missing once interval + grace have passed without a push, by the database clock', async () => {
    // interval 3600 s + grace 300 s: a push 3901 s ago is missing, one 3890 s ago is not.
    await cp.db.query(
      `update heartbeat_monitors set last_push_at = now() - interval '3901 seconds' where id = $1`,
      [id],
    );
    const h = (await cp.call('GET', `/api/v1/heartbeats/${id}`, { token: operator })).body;
    assert.equal(h.state, 'missing');
    const text = await metrics();
    assert.equal(heartbeatUp(text, 'nightly-export'), 0);
    assert.match(
      text,
      /concierge_ops_heartbeat_up\{client="acme",instance="acme-prod",heartbeat="nightly-export",severity="warning"\} 0/,
    );
    await cp.db.query(
      `update heartbeat_monitors set last_push_at = now() - interval '3890 seconds' where id = $1`,
      [id],
    );
    assert.equal((await cp.call('GET', `/api/v1/heartbeats/${id}`, { token: operator })).body.state, 'up');
  });

  it('answers 404 to a token no heartbeat holds, 400 to a bad status, and changes nothing', async () => {
    const before = (
      await cp.db.query(`select last_push_at, last_status from heartbeat_monitors where id = $1`, [id])
    ).rows;
    for (const t of [`hb_${'A'.repeat(43)}`, 'nope', token.slice(0, -1)])
      assert.equal((await cp.call('GET', `/api/v1/push/${t}`, { token: null })).status, 404, t);
    const bad = await cp.call('GET', `/api/v1/push/${token}?status=maybe`, { token: null });
    assert.equal(bad.status, 400, bad.text);
    const after = (
      await cp.db.query(`select last_push_at, last_status from heartbeat_monitors where id = $1`, [id])
    ).rows;
    assert.deepEqual(after, before);
  });

  it("keeps each client to its own heartbeats: another client's id is 404, staff only may change them", async () => {
    assert.equal((await cp.call('GET', `/api/v1/heartbeats/${id}`, { token: clientA })).status, 200);
    assert.equal((await cp.call('GET', `/api/v1/heartbeats/${id}`, { token: clientB })).status, 404);
    assert.deepEqual((await cp.call('GET', '/api/v1/heartbeats', { token: clientB })).body, []);
    assert.equal((await cp.call('GET', '/api/v1/heartbeats', { token: clientA })).body.length, 1);
    assert.equal(
      (await cp.call('GET', '/api/v1/heartbeats?instance=acme-prod', { token: clientB })).status,
      404,
    );
    assert.equal(
      (await cp.call('PATCH', `/api/v1/heartbeats/${id}`, { token: clientA, body: { graceSeconds: 0 } }))
        .status,
      403,
    );
    assert.equal(
      (
        await cp.call('POST', '/api/v1/heartbeats', {
          token: clientB,
          body: { instance: 'beta-prod', name: 'x', intervalSeconds: 60 },
        })
      ).status,
      403,
    );
  });

  it('rotates the push URL (the old one stops at once) and deletes, both audited', async () => {
    const rotated = await cp.call('POST', `/api/v1/heartbeats/${id}/rotate`, { token: operator });
    assert.equal(rotated.status, 200, rotated.text);
    assert.notEqual(rotated.body.token, token);
    assert.equal((await cp.call('GET', `/api/v1/push/${token}`, { token: null })).status, 404);
    assert.equal((await cp.call('GET', `/api/v1/push/${rotated.body.token}`, { token: null })).status, 200);
    const patched = await cp.call('PATCH', `/api/v1/heartbeats/${id}`, {
      token: operator,
      body: { severity: 'critical', graceSeconds: 0 },
    });
    assert.equal(patched.status, 200, patched.text);
    assert.equal(patched.body.severity, 'critical');
    assert.equal((await cp.call('DELETE', `/api/v1/heartbeats/${id}`, { token: operator })).status, 204);
    assert.equal((await cp.call('GET', `/api/v1/heartbeats/${id}`, { token: operator })).status, 404);
    assert.equal(heartbeatUp(await metrics(), 'nightly-export'), undefined);
    const actions = (
      await cp.db.query(
        `select action from audit_log where action like 'heartbeat.%'
         union all select action from audit_pending where action like 'heartbeat.%'`,
      )
    ).rows.map((r) => r.action);
    assert.deepEqual(actions.sort(), [
      'heartbeat.create',
      'heartbeat.delete',
      'heartbeat.rotate',
      'heartbeat.update',
    ]);
  });
});
