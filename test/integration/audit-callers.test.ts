/**
 * Records written for Alertmanager's webhook name its token and source like any API call's; records of the
 * control plane's own jobs (an escalation step) name the job, as role `system`.
 */
import assert from 'node:assert/strict';
import { alertPayload } from '../helpers/alerts.ts';
import {
  clientBody,
  instanceBody,
  startControlPlane,
  type TestControlPlane,
} from '../helpers/control-plane.ts';

interface Rec {
  action: string;
  actor: string;
  after: Record<string, unknown> | null;
  tokenId: string | null;
  tokenName: string | null;
  role: string | null;
  clientId: string | null;
  ip: string | null;
  userAgent: string | null;
}

const AM_AGENT = 'Alertmanager/0.25.0';

describe('audit records of the webhook and of jobs', () => {
  let cp: TestControlPlane;
  let am: string;
  let amId: string;
  before(async () => {
    cp = await startControlPlane({ WORKERS: 'off' });
    await cp.call('POST', '/api/v1/clients', { body: clientBody('smile-dental') });
    await cp.call('POST', '/api/v1/instances', { body: instanceBody('smile-dental', 'smile-prod') });
    am = await cp.token('alertmanager');
    const tokens = await cp.call('GET', '/api/v1/tokens');
    amId = tokens.body.find((t: { name: string }) => t.name === 'test-alertmanager').id;
    // Level 2 of the shipped ladder pages the DevOps lead; level 1 (on-call engineers) finds no one.
    await cp.db.query(
      `insert into responders (name, role, email) values ('Dev', 'devops-lead', 'dev@ops.example.test')`,
    );
  });
  after(() => cp.close());

  const hook = (body: unknown) =>
    cp.call('POST', '/api/v1/alertmanager/webhook', {
      token: am,
      body,
      headers: { 'user-agent': AM_AGENT },
    });
  /** The incident's records as GET /api/v1/audit shows them, oldest first. */
  async function records(code: string): Promise<Rec[]> {
    const inc = await cp.call('GET', `/api/v1/incidents/${code}`);
    assert.equal(inc.status, 200, inc.text);
    const r = await cp.call('GET', `/api/v1/audit?targetType=incident&targetId=${inc.body.id}`);
    assert.equal(r.status, 200, r.text);
    return (r.body as Rec[]).reverse();
  }
  const caller = (r: Rec | undefined) =>
    r && {
      actor: r.actor,
      tokenId: r.tokenId,
      tokenName: r.tokenName,
      role: r.role,
      clientId: r.clientId,
      userAgent: r.userAgent,
      loopback: /127\.0\.0\.1/.test(r.ip ?? ''),
    };
  const webhook = () => ({
    actor: 'alertmanager',
    tokenId: amId,
    tokenName: 'test-alertmanager',
    role: 'alertmanager',
    clientId: null,
    userAgent: AM_AGENT,
    loopback: true,
  });

  it("names the webhook's token, source address and user agent on an incident it opened, changed and resolved", async () => {
    // The first opening for a client goes the usual way (a transaction), the next in one statement: both.
    const codes: string[] = [];
    for (const groupKey of ['g-callers-1', 'g-callers-2']) {
      const r = await hook(alertPayload({ groupKey, fingerprints: ['c0ffee0000000001'] }));
      assert.equal(r.status, 200, r.text);
      assert.equal(r.body.opened, true);
      codes.push(r.body.incident);
    }
    // Another alert joins the second incident, then every alert resolves and the incident resolves itself.
    const two = ['c0ffee0000000001', 'c0ffee0000000002'];
    assert.equal((await hook(alertPayload({ groupKey: 'g-callers-2', fingerprints: two }))).status, 200);
    const resolved = await hook(
      alertPayload({ groupKey: 'g-callers-2', fingerprints: two, status: 'resolved' }),
    );
    assert.equal(resolved.body.resolved, true, resolved.text);

    const [first, second] = [await records(codes[0]!), await records(codes[1]!)];
    assert.deepEqual(
      first.map((r) => r.action),
      ['incident.opened'],
    );
    assert.deepEqual(caller(first[0]), webhook());
    // In any order: a staged record joins the chain after its commit, the resolution's is chained at once.
    assert.deepEqual(second.map((r) => r.action).sort(), [
      'incident.alerts_changed',
      'incident.alerts_changed',
      'incident.opened',
      'incident.resolved',
    ]);
    for (const r of second) assert.deepEqual(caller(r), webhook(), r.action);
  });

  it('names the escalation job, as role system, on the record of an escalation step', async () => {
    const r = await hook(alertPayload({ groupKey: 'g-callers-step', fingerprints: ['c0ffee0000000003'] }));
    assert.equal(r.status, 200, r.text);
    const code = r.body.incident as string;
    // Level 2 is due in 5 minutes: due now, and run as the job runs it.
    const due = await cp.db.query(
      `update escalation_steps s set due_at = now() from incidents i
       where i.id = s.incident_id and i.code = $1 and s.level = 2`,
      [code],
    );
    assert.equal(due.rowCount, 1);
    assert.ok((await cp.ctx.paging.escalation.runDue()) >= 1);

    const steps = (await records(code)).filter((x) => x.action === 'incident.escalated');
    assert.equal(steps.length, 1, JSON.stringify(await records(code)));
    const step = steps[0]!;
    assert.deepEqual(
      { ...caller(step), loopback: undefined, ip: step.ip },
      {
        actor: 'escalation',
        tokenId: '00000000-escalation',
        tokenName: 'escalation',
        role: 'system',
        clientId: null,
        userAgent: null,
        loopback: undefined,
        ip: null,
      },
    );
    assert.equal(step.after?.code, code);
    assert.equal(step.after?.level, 2);
    assert.deepEqual(step.after?.responders, ['Dev']);
    assert.equal(step.after?.pages, 1);
  });
});
