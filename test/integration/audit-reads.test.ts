/**
 * Reads auditors ask about leave a record naming the caller and what was read; the hot paths (Alertmanager's
 * webhook) leave none.
 */
import assert from 'node:assert/strict';
import { alertPayload } from '../helpers/alerts.ts';
import { clientBody, startControlPlane, type TestControlPlane } from '../helpers/control-plane.ts';

interface Rec {
  seq: number;
  action: string;
  targetType: string;
  targetId: string | null;
  after: Record<string, unknown> | null;
  tokenName: string | null;
  role: string | null;
  clientId: string | null;
  ip: string | null;
  userAgent: string | null;
}

const READ_ACTIONS = ['report.list', 'report.read', 'sla.read', 'responder.list', 'audit.read', 'token.list'];

describe('recorded reads', () => {
  let cp: TestControlPlane;
  let clientId: string;
  let clientToken: string;
  before(async () => {
    cp = await startControlPlane({ WORKERS: 'off' });
    const c = await cp.call('POST', '/api/v1/clients', { body: clientBody('smile-dental') });
    assert.equal(c.status, 201, c.text);
    clientId = c.body.id;
    clientToken = await cp.token('client', 'smile-dental');
  });
  after(() => cp.close());

  /** The records written since `seq`, read from the table (a read through the API would record itself). */
  async function since(seq: number): Promise<Rec[]> {
    await cp.ctx.audit.flush();
    const { rows } = await cp.db.query<Rec>(
      `select seq, action, target_type as "targetType", target_id as "targetId", after, token_name as "tokenName",
         role, client_id as "clientId", ip, user_agent as "userAgent"
       from audit_log where seq > $1 order by seq`,
      [seq],
    );
    return rows;
  }
  async function head(): Promise<number> {
    await cp.ctx.audit.flush();
    return (await cp.db.query<{ s: number }>('select coalesce(max(seq), 0)::int as s from audit_log'))
      .rows[0]!.s;
  }

  const cases: [string, string, string, () => string | null, string | null][] = [
    ["a client's report list", '/api/v1/clients/:client/reports', 'report.list', () => clientId, 'client'],
    ["a client's report", '/api/v1/clients/:client/reports/2026-01', 'report.read', () => clientId, 'client'],
    [
      "a client's report PDF",
      '/api/v1/clients/:client/reports/2026-01.pdf',
      'report.read',
      () => clientId,
      'client',
    ],
    ["a client's SLA", '/api/v1/clients/:client/sla?month=2026-01', 'sla.read', () => clientId, 'client'],
    ["responders' contact details", '/api/v1/responders', 'responder.list', () => null, null],
    ['the audit log', '/api/v1/audit?limit=5', 'audit.read', () => null, null],
    ['the token list', '/api/v1/tokens', 'token.list', () => null, null],
  ];
  for (const [what, path, action, target] of cases) {
    it(`records a read of ${what} with the caller and what was read`, async () => {
      const seq = await head();
      const r = await cp.call('GET', path.replace(':client', clientId), {
        headers: { 'user-agent': 'auditor-test/1' },
      });
      assert.equal(r.status, 200, r.text);
      const recs = (await since(seq)).filter((x) => x.action === action);
      assert.equal(recs.length, 1, JSON.stringify(await since(seq)));
      const rec = recs[0]!;
      assert.equal(rec.targetId, target());
      assert.equal(rec.tokenName, 'bootstrap-admin');
      assert.equal(rec.role, 'admin');
      assert.equal(rec.userAgent, 'auditor-test/1');
      assert.match(rec.ip!, /127\.0\.0\.1/);
      if (path.includes('2026-01')) assert.equal(rec.after?.month, '2026-01');
      if (path.endsWith('.pdf')) assert.equal(rec.after?.format, 'pdf');
    });
  }

  it("records a client's own read with its role and client scope", async () => {
    const seq = await head();
    const r = await cp.call('GET', `/api/v1/clients/${clientId}/sla`, { token: clientToken });
    assert.equal(r.status, 200, r.text);
    const [rec] = (await since(seq)).filter((x) => x.action === 'sla.read');
    assert.equal(rec?.role, 'client');
    assert.equal(rec?.clientId, clientId);
    assert.equal(rec?.targetId, clientId);
  });

  it('records no read that was refused', async () => {
    const other = await cp.call('POST', '/api/v1/clients', { body: clientBody('bright-clinic') });
    const seq = await head();
    const r = await cp.call('GET', `/api/v1/clients/${other.body.id}/sla`, { token: clientToken });
    assert.ok(r.status === 403 || r.status === 404, String(r.status));
    assert.deepEqual(
      (await since(seq)).filter((x) => READ_ACTIONS.includes(x.action)),
      [],
    );
  });

  it("records no read for Alertmanager's webhook", async () => {
    const am = await cp.token('alertmanager');
    const seq = await head();
    const r = await cp.call('POST', '/api/v1/alertmanager/webhook', {
      token: am,
      body: alertPayload({ groupKey: 'g-reads' }),
    });
    assert.equal(r.status, 200, r.text);
    const recs = await since(seq);
    assert.ok(
      recs.some((x) => x.action === 'incident.opened'),
      JSON.stringify(recs),
    );
    assert.deepEqual(
      recs.filter((x) => READ_ACTIONS.includes(x.action) || x.action.endsWith('.read')),
      [],
    );
  });
});
