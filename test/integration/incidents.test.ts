import assert from 'node:assert/strict';
import fc from 'fast-check';
import { alertPayload, randomFingerprint, waitFor } from '../helpers/alerts.ts';
import {
  clientBody,
  instanceBody,
  startControlPlane,
  type TestControlPlane,
} from '../helpers/control-plane.ts';

describe('incidents from Alertmanager webhooks', () => {
  let cp: TestControlPlane;
  let am: string;
  const tables = ['incidents', 'incident_alerts', 'incident_events', 'notifications'];
  // Audit records chained and still staged, read in one snapshot (a record moves from one to the other).
  const audited = async () =>
    (
      await cp.db.query<{ n: number }>(
        `select (select count(*) from audit_log) + (select count(*) from audit_pending) as n`,
      )
    ).rows[0]!.n;
  const counts = async () => [...(await Promise.all(tables.map((t) => cp.count(t)))), await audited()];

  before(async () => {
    // Workers off: escalation runs in paging.test.ts; here row counts must only move with webhooks.
    cp = await startControlPlane({ WORKERS: 'off' });
    assert.equal(
      (await cp.call('POST', '/api/v1/clients', { body: clientBody('smile-dental') })).status,
      201,
    );
    assert.equal(
      (await cp.call('POST', '/api/v1/clients', { body: clientBody('bright-clinic') })).status,
      201,
    );
    // The instance the alerts name: an incident shows only an instance of its own client.
    assert.equal(
      (await cp.call('POST', '/api/v1/instances', { body: instanceBody('smile-dental', 'smile-prod') }))
        .status,
      201,
    );
    am = await cp.token('alertmanager');
  });
  after(() => cp.close());

  const hook = (body: unknown) => cp.call('POST', '/api/v1/alertmanager/webhook', { token: am, body });

  it('opens one incident with its alert for a firing group, after committing it', async () => {
    const r = await hook(alertPayload({ groupKey: 'g-open' }));
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.opened, true);
    assert.match(r.body.incident, /^INC-\d{6}$/);
    const inc = await cp.call('GET', `/api/v1/incidents/${r.body.incident}`);
    assert.equal(inc.body.client.slug, 'smile-dental');
    assert.equal(inc.body.unassigned, false);
    assert.equal(inc.body.instance.slug, 'smile-prod');
    assert.match(inc.body.instance.id, /^[0-9a-f-]{36}$/);
    assert.equal(inc.body.service, 'backend');
    assert.equal(inc.body.severity, 'critical');
    assert.equal(inc.body.status, 'open');
    assert.equal(inc.body.summary, 'Backend of smile-prod is not answering its health check');
    const tl = await cp.call('GET', `/api/v1/incidents/${r.body.incident}/timeline`);
    const kinds = tl.body.map((e: { kind: string }) => e.kind);
    assert.equal(kinds[0], 'opened');
    assert.ok(kinds.includes('alert_added'), kinds.join());
    // Audited in the webhook's transaction (the record joins the hash chain just after), and the chain holds.
    const audit = await cp.call('GET', `/api/v1/audit?targetType=incident&targetId=${inc.body.id}`);
    assert.deepEqual(
      audit.body.map((a: { action: string; actor: string }) => [a.action, a.actor]),
      [['incident.opened', 'alertmanager']],
    );
    assert.equal((await cp.call('GET', '/api/v1/audit/verify')).body.ok, true);
    assert.equal(await cp.count('audit_pending'), 0);
  });

  it('chains the audit record of a webhook just after commit, and one a dead process left staged when the log is read', async () => {
    const r = await hook(alertPayload({ groupKey: 'g-chain', severity: 'warning' }));
    const id = (await cp.call('GET', `/api/v1/incidents/${r.body.incident}`)).body.id as string;
    // Nobody reads the log: the record still joins the chain on its own.
    const chained = async () =>
      (await cp.db.query(`select seq from audit_log where target_id = $1`, [id])).rows.length === 1;
    await waitFor('the webhook audit record in the chain', async () =>
      (await chained()) ? true : undefined,
    );
    // Staged by a process that died before chaining it: the next reader chains it first.
    await cp.db.query(
      `insert into audit_pending (actor, action, target_type, target_id, after, at)
       values ('alertmanager', 'incident.alerts_changed', 'incident', $1, '{"left": true}', now() - interval '1 minute')`,
      [id],
    );
    const audit = await cp.call('GET', `/api/v1/audit?targetType=incident&targetId=${id}`);
    assert.deepEqual(
      audit.body.map((a: { action: string }) => a.action),
      ['incident.alerts_changed', 'incident.opened'],
    );
    // Nothing of this incident is left staged (the read of the log is itself staged, as an audit.read).
    const staged = await cp.db.query(`select 1 from audit_pending where target_id = $1`, [id]);
    assert.equal(staged.rows.length, 0);
    assert.equal((await cp.call('GET', '/api/v1/audit/verify')).body.ok, true);
  });

  it('keeps one incident and changes nothing when 3 HA Alertmanagers deliver the same group at once', async () => {
    const body = alertPayload({ groupKey: 'g-ha', fingerprints: [randomFingerprint(), randomFingerprint()] });
    const answers = await Promise.all([hook(body), hook(body), hook(body)]);
    assert.deepEqual(
      answers.map((a) => a.status),
      [200, 200, 200],
    );
    assert.equal(answers.filter((a) => a.body.opened).length, 1);
    assert.equal(new Set(answers.map((a) => a.body.incident)).size, 1);
    const { rows } = await cp.db.query(`select id from incidents where group_key = 'g-ha'`);
    assert.equal(rows.length, 1);
    assert.equal(await countWhere(`incident_alerts where incident_id = '${rows[0].id}'`), 2);
    const before = await counts();
    await Promise.all([hook(body), hook(body)]);
    assert.deepEqual(await counts(), before);
  });

  it('opens one incident per cluster for two clusters reusing an instance name, each titled with its cluster', async () => {
    // alertmanager.yml groups by cluster (the external label of the Prometheus that sent the alert), so the
    // same alert of two clusters comes as two groups; HA copies of one of them still join its incident.
    const inCluster = (cluster: string) => {
      const body = alertPayload({
        groupKey: `{}/{severity="critical"}:{alertname="DependencyDown", client="smile-dental", cluster="${cluster}", instance="smile-prod"}`,
        alertname: 'DependencyDown',
        fingerprints: [randomFingerprint()],
      });
      for (const a of body.alerts) Object.assign(a.labels, { cluster });
      Object.assign(body.commonLabels, { cluster });
      return body;
    };
    const eu = inCluster('eu-1');
    const us = inCluster('us-1');
    const [a, b, again] = await Promise.all([hook(eu), hook(us), hook(eu)]);
    assert.deepEqual([a.status, b.status, again.status], [200, 200, 200]);
    assert.equal(a.body.incident, again.body.incident);
    assert.notEqual(a.body.incident, b.body.incident);
    const shown = await Promise.all(
      [a, b].map(async (r) => (await cp.call('GET', `/api/v1/incidents/${r.body.incident}`)).body),
    );
    assert.deepEqual(
      shown.map((i) => [i.title, i.client.slug, i.instance.slug]),
      [
        ['DependencyDown (cluster eu-1)', 'smile-dental', 'smile-prod'],
        ['DependencyDown (cluster us-1)', 'smile-dental', 'smile-prod'],
      ],
    );
  });

  it('flags an alert for an unknown client as unassigned instead of dropping it', async () => {
    const r = await hook(alertPayload({ groupKey: 'g-unknown', client: 'nobody-we-know' }));
    assert.equal(r.status, 200);
    const inc = await cp.call('GET', `/api/v1/incidents/${r.body.incident}`);
    assert.equal(inc.body.client, null);
    assert.equal(inc.body.unassigned, true);
  });

  it('resolves the incident when all its alerts resolve, and a late firing duplicate does not reopen it', async () => {
    const fps = [randomFingerprint(), randomFingerprint()];
    const opened = await hook(alertPayload({ groupKey: 'g-res', fingerprints: fps }));
    const one = await hook(alertPayload({ groupKey: 'g-res', fingerprints: [fps[0]!], status: 'resolved' }));
    assert.equal(one.body.resolved, false);
    const all = await hook(alertPayload({ groupKey: 'g-res', fingerprints: fps, status: 'resolved' }));
    assert.equal(all.body.resolved, true);
    const inc = await cp.call('GET', `/api/v1/incidents/${opened.body.incident}`);
    assert.equal(inc.body.status, 'resolved');
    assert.equal(inc.body.resolvedBy, 'alertmanager');
    const late = await hook(alertPayload({ groupKey: 'g-res', fingerprints: fps }));
    assert.equal(late.status, 200);
    assert.equal(late.body.incident, null);
    assert.equal(await countWhere(`incidents where group_key = 'g-res'`), 1);
    // A new occurrence (later startsAt) is a new incident.
    const again = await hook(
      alertPayload({ groupKey: 'g-res', fingerprints: fps, startsAt: '2026-11-25T11:00:00Z' }),
    );
    assert.equal(again.body.opened, true);
    assert.notEqual(again.body.incident, opened.body.incident);
  });

  it('says on the timeline when Alertmanager left alerts out of a delivery (truncatedAlerts), once', async () => {
    const body = {
      ...alertPayload({ groupKey: 'g-truncated', fingerprints: ['aa01', 'aa02'] }),
      truncatedAlerts: 7,
    };
    const r = await hook(body);
    assert.equal(r.status, 200);
    assert.equal((await hook(body)).status, 200); // the same delivery again changes nothing
    const tl = await cp.call('GET', `/api/v1/incidents/${r.body.incident}/timeline`);
    const cut = tl.body.filter((e: { kind: string }) => e.kind === 'alerts_truncated');
    assert.deepEqual(
      cut.map((e: { detail: object }) => e.detail),
      [{ truncatedAlerts: 7, delivered: 2 }],
    );
    const plain = await hook(alertPayload({ groupKey: 'g-not-truncated' }));
    const tl2 = await cp.call('GET', `/api/v1/incidents/${plain.body.incident}/timeline`);
    assert.ok(!tl2.body.some((e: { kind: string }) => e.kind === 'alerts_truncated'));
  });

  it('refuses malformed payloads with 400 naming the field and changes nothing', async () => {
    const good = alertPayload({ groupKey: 'g-bad' });
    const before = await counts();
    const cases: unknown[] = [
      { ...good, version: '3' },
      { ...good, alerts: [] },
      { ...good, groupKey: undefined },
      { ...good, alerts: [{ ...good.alerts[0], status: 'pending' }] },
      { ...good, alerts: [{ ...good.alerts[0], fingerprint: "x'; drop table incidents; --" }] },
      { ...good, alerts: [{ ...good.alerts[0], startsAt: 'yesterday' }] },
      { ...good, alerts: [{ ...good.alerts[0], labels: { severity: 'critical' } }] },
      [good],
      'alert',
    ];
    for (const body of cases) {
      const r = await hook(body);
      assert.equal(r.status, 400, JSON.stringify(body).slice(0, 200));
      assert.equal(r.headers.get('content-type'), 'application/problem+json; charset=utf-8');
      assert.ok(r.body.errors?.length > 0 || r.body.detail);
    }
    const raw = await cp.call('POST', '/api/v1/alertmanager/webhook', { token: am, raw: '{"alerts": [' });
    assert.equal(raw.status, 400);
    const noToken = await cp.call('POST', '/api/v1/alertmanager/webhook', { token: null, body: good });
    assert.equal(noToken.status, 401);
    assert.deepEqual(await counts(), before);
  });

  it('never answers 500 to fuzzed webhook bodies, and a rejected one changes nothing (fast-check)', async () => {
    const base = alertPayload({ groupKey: 'g-fuzz' });
    const consts = (o: object) =>
      Object.fromEntries(Object.entries(o).map(([k, v]) => [k, fc.constant(v as unknown)]));
    const before = await counts();
    // Incidents the webhook itself said it opened, each for a body it accepted.
    const opened = new Set<string>();
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.anything(),
          fc.record({ ...consts(base), alerts: fc.array(fc.anything(), { maxLength: 3 }) }),
          // A string group key is a well-formed payload of another group, and may open its own incident.
          fc.record({ ...consts(base), groupKey: fc.anything() }),
          fc.record({
            ...consts(base),
            alerts: fc.array(
              fc.record({ ...consts(base.alerts[0]!), labels: fc.dictionary(fc.string(), fc.string()) }),
              { maxLength: 3 },
            ),
          }),
        ),
        async (body) => {
          const shown = JSON.stringify(body)?.slice(0, 300);
          const was = await counts();
          const r = await hook(body);
          assert.ok(r.status < 500, `${r.status} for ${shown}`);
          if (r.status >= 400) {
            assert.equal(r.headers.get('content-type')?.split(';')[0], 'application/problem+json');
            assert.deepEqual(await counts(), was, `a rejected body changed rows: ${shown}`);
          } else if (r.body.opened) {
            const b = body as { groupKey: unknown; alerts: { labels: Record<string, string> }[] };
            assert.equal(typeof b.groupKey, 'string', shown);
            assert.ok(
              b.alerts.some((a) => a.labels.alertname),
              `opened without an alertname: ${shown}`,
            );
            opened.add(r.body.incident);
          }
        },
      ),
      { numRuns: 150 },
    );
    assert.equal((await counts())[0]! - before[0]!, opened.size);
  });

  async function countWhere(from: string): Promise<number> {
    const { rows } = await cp.db.query<{ n: number }>(`select count(*)::int as n from ${from}`);
    return rows[0]!.n;
  }
});

describe('incidents API', () => {
  let cp: TestControlPlane;
  let smileToken: string;
  let brightToken: string;
  before(async () => {
    cp = await startControlPlane({ WORKERS: 'off', DEADMAN_SWITCH_SECONDS: '60' });
    await cp.call('POST', '/api/v1/clients', { body: clientBody('smile-dental') });
    await cp.call('POST', '/api/v1/clients', { body: clientBody('bright-clinic') });
    await cp.call('POST', '/api/v1/instances', { body: instanceBody('smile-dental', 'smile-prod') });
    smileToken = await cp.token('client', 'smile-dental');
    brightToken = await cp.token('client', 'bright-clinic');
  });
  after(() => cp.close());

  it('opens by hand, acknowledges, resolves, with each change on the timeline and in the audit log', async () => {
    const opened = await cp.call('POST', '/api/v1/incidents', {
      body: { title: 'Phone line down', severity: 'warning', client: 'smile-dental', instance: 'smile-prod' },
    });
    assert.equal(opened.status, 201, opened.text);
    const code = opened.body.code;
    const ack = await cp.call('POST', `/api/v1/incidents/${code}/ack`, { body: { note: 'looking' } });
    assert.equal(ack.body.status, 'acknowledged');
    assert.match(ack.body.acknowledgedBy, /bootstrap-admin/);
    const again = await cp.call('POST', `/api/v1/incidents/${code}/ack`, { body: {} });
    assert.equal(again.body.acknowledgedAt, ack.body.acknowledgedAt);
    const res = await cp.call('POST', `/api/v1/incidents/${opened.body.id}/resolve`, { body: {} });
    assert.equal(res.body.status, 'resolved');
    const tl = await cp.call('GET', `/api/v1/incidents/${code}/timeline`);
    assert.deepEqual(
      tl.body.map((e: { kind: string }) => e.kind),
      // Level 1 is due at once and taken when the incident opens; with no responders on file it says so.
      ['opened', 'escalation_no_responders', 'acknowledged', 'resolved'],
    );
    const audit = await cp.call('GET', `/api/v1/audit?targetType=incident&targetId=${opened.body.id}`);
    assert.deepEqual(audit.body.map((a: { action: string }) => a.action).sort(), [
      'incident.acknowledged',
      'incident.opened',
      'incident.resolved',
    ]);
  });

  it("shows a client token only its own client's incidents, without internal notes", async () => {
    const mine = await cp.call('POST', '/api/v1/incidents', {
      body: { title: 'Slow answers', severity: 'info', client: 'smile-dental' },
    });
    const theirs = await cp.call('POST', '/api/v1/incidents', {
      body: { title: 'Down', severity: 'critical', client: 'bright-clinic' },
    });
    await cp.call('POST', `/api/v1/incidents/${mine.body.code}/notes`, {
      body: { text: 'db host 10.0.0.5 swapping', visibility: 'internal' },
    });
    const pub = await cp.call('POST', `/api/v1/incidents/${mine.body.code}/notes`, {
      body: { text: 'We are investigating slow answers.', visibility: 'public' },
    });
    assert.equal(pub.status, 201);
    const list = await cp.call('GET', '/api/v1/incidents', { token: smileToken });
    assert.ok(list.body.length >= 1);
    assert.ok(list.body.every((i: { client: { slug: string } }) => i.client.slug === 'smile-dental'));
    assert.equal(
      (await cp.call('GET', `/api/v1/incidents/${theirs.body.code}`, { token: smileToken })).status,
      404,
    );
    assert.equal(
      (await cp.call('GET', `/api/v1/incidents/${theirs.body.id}/timeline`, { token: smileToken })).status,
      404,
    );
    assert.equal(
      (await cp.call('GET', '/api/v1/incidents?client=bright-clinic', { token: smileToken })).status,
      404,
    );
    const tl = await cp.call('GET', `/api/v1/incidents/${mine.body.code}/timeline`, { token: smileToken });
    assert.equal(tl.status, 200);
    assert.ok(!tl.text.includes('10.0.0.5'), 'internal note leaked to the client');
    assert.ok(tl.text.includes('We are investigating slow answers.'));
    const got = await cp.call('GET', `/api/v1/incidents/${mine.body.code}`, { token: smileToken });
    assert.equal(got.body.publicSummary, 'We are investigating slow answers.');
    const ack = await cp.call('POST', `/api/v1/incidents/${mine.body.code}/ack`, {
      token: brightToken,
      body: {},
    });
    assert.equal(ack.status, 403);
  });

  it('filters by client, status, severity and time', async () => {
    const crit = await cp.call('GET', '/api/v1/incidents?severity=critical&client=bright-clinic');
    assert.deepEqual(
      crit.body.map((i: { title: string }) => i.title),
      ['Down'],
    );
    const resolved = await cp.call('GET', '/api/v1/incidents?status=resolved');
    assert.deepEqual(
      resolved.body.map((i: { title: string }) => i.title),
      ['Phone line down'],
    );
    const future = await cp.call('GET', '/api/v1/incidents?from=2999-01-01T00:00:00Z');
    assert.deepEqual(future.body, []);
    assert.equal((await cp.call('GET', '/api/v1/incidents?severity=loud')).status, 400);
  });

  it("opens a critical incident when Watchdog stops arriving and closes it when it returns (dead man's switch)", async () => {
    const am = await cp.token('alertmanager');
    // Not armed before the first Watchdog (as a new check in Dead Man's Snitch or Healthchecks), and /metrics says so.
    assert.match((await cp.call('GET', '/metrics')).text, /^concierge_ops_deadmans_switch_armed 0$/m);
    assert.equal(await cp.ctx.paging.ingest.checkDeadman(60), true);
    assert.equal((await cp.call('POST', '/api/v1/alertmanager/watchdog', { token: am })).status, 200);
    assert.match((await cp.call('GET', '/metrics')).text, /^concierge_ops_deadmans_switch_armed 1$/m);
    assert.equal(await cp.ctx.paging.ingest.checkDeadman(60), true);
    assert.match((await cp.call('GET', '/metrics')).text, /^concierge_ops_deadmans_switch_ok 1$/m);
    await cp.db.query(`update heartbeats set last_at = now() - interval '10 minutes'`);
    assert.equal(await cp.ctx.paging.ingest.checkDeadman(60), false);
    assert.equal(await cp.ctx.paging.ingest.checkDeadman(60), false);
    const open = await cp.call('GET', '/api/v1/incidents?status=open&severity=critical');
    const dead = open.body.filter((i: { source: string }) => i.source === 'deadman');
    assert.equal(dead.length, 1);
    const metrics = (await cp.call('GET', '/metrics')).text;
    assert.match(metrics, /^concierge_ops_deadmans_switch_ok 0$/m);
    assert.match(metrics, /^concierge_ops_incidents_open\{client="unassigned",severity="critical"\} 1$/m);
    assert.match(metrics, /^concierge_ops_incidents_open\{client="bright-clinic",severity="critical"\} 1$/m);
    await cp.call('POST', '/api/v1/alertmanager/watchdog', { token: am });
    const after = await cp.call('GET', `/api/v1/incidents/${dead[0].code}`);
    assert.equal(after.body.status, 'resolved');
  });
});
