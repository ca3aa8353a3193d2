import assert from 'node:assert/strict';
import { alertPayload, waitFor } from '../helpers/alerts.ts';
import { clientBody, startControlPlane, type TestControlPlane } from '../helpers/control-plane.ts';
import { TwilioStandIn } from '../helpers/twilio-standin.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** An Alertmanager delivery whose alerts carry `extra` labels (class, urgency) besides the usual ones. */
function labelled(opts: Parameters<typeof alertPayload>[0], extra: Record<string, string>) {
  const p = alertPayload(opts);
  for (const a of p.alerts) Object.assign(a.labels, extra);
  Object.assign(p.commonLabels, extra);
  return p;
}

describe('incident classes and urgency', () => {
  let cp: TestControlPlane;
  let tw: TwilioStandIn;
  let am: string;
  // One responder per role of the shipped default ladder (engineer at once, then lead, security, CTO).
  const people = {
    eng: { role: 'oncall-engineer', phone: '+15551260001' },
    lead: { role: 'devops-lead', phone: '+15551260002' },
    sec: { role: 'security-lead', phone: '+15551260003' },
    cto: { role: 'cto', phone: '+15551260004' },
  };

  before(async () => {
    tw = await new TwilioStandIn().start();
    cp = await startControlPlane({
      TWILIO_ACCOUNT_SID: 'AC' + '0123456789abcdef'.repeat(2),
      TWILIO_AUTH_TOKEN: 'twilio-auth-token-for-tests-0123456789',
      TWILIO_FROM_NUMBER: '+15005550006',
      TWILIO_API_URL: tw.url,
      PUBLIC_URL: 'https://ops.example.test',
      WORKER_POLL_INTERVAL_MS: '100',
    });
    await cp.call('POST', '/api/v1/clients', { body: clientBody('class-dental') });
    am = await cp.token('alertmanager');
    for (const [name, p] of Object.entries(people)) {
      const r = await cp.call('POST', '/api/v1/responders', { body: { name, role: p.role, phone: p.phone } });
      assert.equal(r.status, 201, JSON.stringify(r.body));
    }
  });
  after(async () => {
    await cp.close();
    await tw.stop();
  });

  const hook = async (body: unknown) => {
    const r = await cp.call('POST', '/api/v1/alertmanager/webhook', { token: am, body });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body.incident as string;
  };
  const smsFor = (code: string, to: string) => tw.messages(to).filter((m) => m.params.Body?.includes(code));
  const callsTo = (to: string) => tw.calls(to).length;

  it('pages the security lead at level 1 for a security incident, and shows the class on the incident', async () => {
    const pol = await cp.call('POST', '/api/v1/escalation-policies', {
      body: {
        name: 'security first',
        classes: ['security'],
        levels: [{ delaySeconds: 0, targets: { roles: ['security-lead'] }, channels: { warning: ['sms'] } }],
      },
    });
    assert.equal(pol.status, 201, JSON.stringify(pol.body));
    assert.deepEqual(pol.body.classes, ['security']);

    // Unclassified: the default ladder's engineer, not the security lead.
    const plain = await hook(
      alertPayload({ groupKey: 'cls-plain', client: 'class-dental', severity: 'warning' }),
    );
    await waitFor('SMS to the engineer', () => (smsFor(plain, people.eng.phone).length ? true : undefined));
    // The second of each kind opens in one statement from the policy read for the first: both ways select.
    for (const group of ['cls-sec-1', 'cls-sec-2']) {
      const code = await hook(
        labelled({ groupKey: group, client: 'class-dental', severity: 'warning' }, { class: 'security' }),
      );
      await waitFor(`SMS to the security lead for ${group}`, () =>
        smsFor(code, people.sec.phone).length ? true : undefined,
      );
      const inc = await cp.call('GET', `/api/v1/incidents/${code}`);
      assert.equal(inc.status, 200);
      assert.equal(inc.body.class, 'security');
      assert.equal(inc.body.urgency, null);
      await sleep(200);
      assert.equal(
        smsFor(code, people.eng.phone).length,
        0,
        'the engineer was paged for a security incident',
      );
    }
    await sleep(200);
    assert.equal(smsFor(plain, people.sec.phone).length, 0);
    assert.equal((await cp.call('GET', `/api/v1/incidents/${plain}`)).body.class, null);
    // A label that names no class is no class.
    const odd = await hook(
      labelled({ groupKey: 'cls-odd', client: 'class-dental', severity: 'warning' }, { class: 'weird' }),
    );
    assert.equal((await cp.call('GET', `/api/v1/incidents/${odd}`)).body.class, null);
  });

  it('pages the whole ladder at once, by voice, for urgency="emergency"', async () => {
    const before = Object.fromEntries(Object.entries(people).map(([k, p]) => [k, callsTo(p.phone)]));
    const code = await hook(
      labelled(
        {
          groupKey: 'cls-emergency',
          client: 'class-dental',
          severity: 'critical',
          alertname: 'ConciergeHighLatency',
        },
        { urgency: 'emergency', class: 'crisis' },
      ),
    );
    // The default ladder's CTO is 15 minutes away; an emergency calls every level now.
    for (const [k, p] of Object.entries(people))
      await waitFor(`a call to ${k}`, () => (callsTo(p.phone) > before[k]! ? true : undefined));
    const inc = await cp.call('GET', `/api/v1/incidents/${code}`);
    assert.equal(inc.body.urgency, 'emergency');
    assert.equal(inc.body.class, 'crisis');
    const tl = await cp.call('GET', `/api/v1/incidents/${code}/timeline`);
    const step = tl.body.find((e: { kind: string }) => e.kind === 'escalated');
    assert.equal(step.detail.emergency, true);
    assert.deepEqual([...step.detail.responders].sort(), ['cto', 'eng', 'lead', 'sec']);
    assert.ok(step.detail.channels.includes('voice'));
    // The later levels are passed over: nothing more is scheduled for this cycle.
    const { rows } = await cp.db.query(
      `select level from escalation_steps s join incidents i on i.id = s.incident_id where i.code = $1`,
      [code],
    );
    assert.deepEqual(rows, []);
  });

  it('sets the class by hand: later steps follow that class, bad input named, clients refused', async () => {
    const opened = await cp.call('POST', '/api/v1/incidents', {
      body: { title: 'Audit log export failing', severity: 'info', client: 'class-dental' },
    });
    assert.equal(opened.status, 201, JSON.stringify(opened.body));
    assert.equal(opened.body.class, null);
    const bad = await cp.call('POST', `/api/v1/incidents/${opened.body.id}/class`, {
      body: { class: 'nope' },
    });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.errors[0].field, '/class');
    const client = await cp.token('client', 'class-dental');
    const refused = await cp.call('POST', `/api/v1/incidents/${opened.body.id}/class`, {
      token: client,
      body: { class: 'compliance' },
    });
    assert.equal(refused.status, 403);
    assert.equal((await cp.call('GET', `/api/v1/incidents/${opened.body.id}`)).body.class, null);
    const set = await cp.call('POST', `/api/v1/incidents/${opened.body.id}/class`, {
      body: { class: 'compliance', note: 'export is an audit duty' },
    });
    assert.equal(set.status, 200, JSON.stringify(set.body));
    assert.equal(set.body.class, 'compliance');
    const tl = await cp.call('GET', `/api/v1/incidents/${opened.body.id}/timeline`);
    const ev = tl.body.find((e: { kind: string }) => e.kind === 'class_set');
    assert.deepEqual(ev.detail, { from: null, class: 'compliance', note: 'export is an audit duty' });
    const manual = await cp.call('POST', '/api/v1/incidents', {
      body: { title: 'Suspicious logins', severity: 'warning', client: 'class-dental', class: 'security' },
    });
    assert.equal(manual.body.class, 'security');
    await waitFor('SMS to the security lead', () =>
      smsFor(manual.body.code, people.sec.phone).length ? true : undefined,
    );
  });

  it('refuses classes on the default policy', async () => {
    const list = await cp.call('GET', '/api/v1/escalation-policies');
    const def = list.body.find((p: { isDefault: boolean }) => p.isDefault);
    const r = await cp.call('PUT', `/api/v1/escalation-policies/${def.id}`, {
      body: {
        name: def.name,
        classes: ['crisis'],
        levels: [{ delaySeconds: 0, targets: { roles: ['cto'] } }],
      },
    });
    assert.equal(r.status, 400);
    assert.equal(r.body.errors[0].field, '/classes');
  });
});
