import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { DateTime } from 'luxon';
import {
  clientBody,
  instanceBody,
  startControlPlane,
  type TestControlPlane,
} from '../helpers/control-plane.ts';
import { SmtpSink } from '../helpers/smtp-sink.ts';
import { addJob } from '../../control-plane/src/jobs/store.ts';
import { nextMorning } from '../../control-plane/src/ops/jobs.ts';

const ago = (h: number) => new Date(Date.now() - h * 3600_000).toISOString();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("operators' morning report: GET /api/v1/ops/daily and the morning mail", () => {
  let cp: TestControlPlane;
  let sink: SmtpSink;
  let operator: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the JSON as an operator reads it
  let d: any;

  before(async () => {
    sink = await new SmtpSink().start();
    cp = await startControlPlane({
      SMTP_URL: sink.url,
      REPORT_SCHEDULER: 'off',
      OPS_DAILY_TO: 'oncall@provider.example.test',
      OPS_DAILY_AT: '06:45',
      OPS_DAILY_TIME_ZONE: 'Europe/Berlin',
      WORKER_POLL_INTERVAL_MS: '100',
    });
    operator = await cp.token('operator');
    await cp.call('POST', '/api/v1/clients', { body: clientBody('acme', { timeZone: 'UTC' }) });
    for (const i of ['acme-a', 'acme-b'])
      await cp.call('POST', '/api/v1/instances', { body: instanceBody('acme', i) });
    const id = async (slug: string) => (await cp.call('GET', `/api/v1/instances/${slug}`)).body.id as string;
    await cp.db.query(
      `insert into prober_coverage (prober, during) values ('p', tstzrange(now() - interval '60 days', now() + interval '1 day'))`,
    );
    const prober = await cp.token('prober');
    // acme-a: backend down for three hours and still down; earlier today a two-hour outage: SLA at risk.
    const t = (service: string, state: string, at: string) => ({
      id: crypto.randomUUID(),
      instanceId: undefined as unknown as string,
      service,
      state,
      at,
    });
    const a = await id('acme-a');
    const tr = [t('proxy', 'down', ago(8)), t('proxy', 'up', ago(6)), t('backend', 'down', ago(3))].map(
      (x) => ({
        ...x,
        instanceId: a,
      }),
    );
    const r = await cp.call('POST', '/api/v1/availability/transitions', {
      token: prober,
      body: { prober: 'p', transitions: tr },
    });
    assert.equal(r.status, 200, r.text);

    // An incident acknowledged by the operator.
    const inc = await cp.call('POST', '/api/v1/incidents', {
      token: operator,
      body: { title: 'backend down', severity: 'critical', client: 'acme', instance: 'acme-a' },
    });
    assert.equal(inc.status, 201, inc.text);
    assert.equal(
      (await cp.call('POST', `/api/v1/incidents/${inc.body.code}/ack`, { token: operator, body: {} })).status,
      200,
    );

    // Backups: acme-a's newest is 30 h old; acme-b's newest failed verification. No restore tests at all.
    const agent = await cp.token('backup-agent');
    const run = (instance: string, runId: string, h: number, verified: boolean) =>
      cp.call('POST', '/api/v1/backups/runs', {
        token: agent,
        body: {
          runId,
          instance,
          tool: 'pg_dump',
          kind: 'full',
          startedAt: ago(h + 0.1),
          finishedAt: ago(h),
          status: 'success',
          verified,
        },
      });
    assert.equal((await run('acme-a', 'a-1', 30, true)).status, 201);
    assert.equal((await run('acme-b', 'b-1', 2, false)).status, 201);

    // Two requests without a valid token, one a role may not make.
    await cp.call('GET', '/api/v1/clients', { token: 'not-a-token' });
    await cp.call('GET', '/api/v1/clients', { token: null });
    await cp.call('GET', '/api/v1/ops/daily', { token: await cp.token('client', 'acme') });

    const res = await cp.call('GET', '/api/v1/ops/daily', { token: operator });
    assert.equal(res.status, 200, res.text);
    d = res.body;
  });
  after(async () => {
    await cp.close();
    await sink.stop();
  });

  it('lists the instances not healthy now', () => {
    assert.deepEqual(
      d.unhealthy.map((u: { instance: string; service: string; state: string }) => [
        u.instance,
        u.service,
        u.state,
      ]),
      [['acme-a', 'backend', 'down']],
    );
  });

  it('lists the last 24 h of incidents with who acknowledged and how fast', () => {
    assert.equal(d.incidents.length, 1);
    const i = d.incidents[0];
    assert.equal(i.client, 'acme');
    assert.equal(i.severity, 'critical');
    assert.match(i.acknowledgedBy, /test-operator/);
    assert.ok(i.timeToAcknowledgeSeconds >= 0 && i.timeToAcknowledgeSeconds < 60);
  });

  it('names backups not completed in 24 h or failing verification, and overdue restore tests', () => {
    assert.deepEqual(d.backups, [
      { client: 'acme', instance: 'acme-a', problem: 'no backup completed in the last 24 h' },
      { client: 'acme', instance: 'acme-b', problem: 'backup b-1 failed verification' },
    ]);
    assert.deepEqual(
      d.restoreTestsOverdue.map((r: { instance: string; lastTest: string | null }) => [
        r.instance,
        r.lastTest,
      ]),
      [
        ['acme-a', null],
        ['acme-b', null],
      ],
    );
  });

  it('says certificate expiry is not available without Prometheus', () => {
    assert.equal(d.certificates.available, false);
    assert.match(d.certificates.reason, /PROMETHEUS_URL is not configured/);
  });

  it('flags month-to-date SLA at risk by budget burn', () => {
    assert.equal(d.slaAtRisk.length, 1);
    const s = d.slaAtRisk[0];
    assert.equal(s.client, 'acme');
    // Five hours down (2 h + 3 h so far) against two instances' month of 0.1 % budget, unless the month began
    // less than eight hours ago (then only the part in this month counts).
    const start = DateTime.utc().startOf('month');
    const expectDown = Math.min(5 * 3600, Math.max(0, (Date.now() - start.toMillis()) / 1000 - 0));
    assert.ok(Math.abs(s.budgetUsedSeconds - expectDown) < 120, `${s.budgetUsedSeconds} vs ${expectDown}`);
    const monthSeconds = start.plus({ months: 1 }).diff(start).as('seconds');
    assert.equal(s.monthBudgetSeconds, Math.round(0.001 * 2 * monthSeconds * 1000) / 1000);
    assert.ok(s.burn > 0.5);
  });

  it('verifies the audit chain and counts denied requests', () => {
    assert.equal(d.audit.verified, true);
    assert.ok(d.audit.rows > 5);
    assert.deepEqual(
      { ...d.deniedRequests, window: undefined },
      { available: true, source: 'process', window: undefined, unauthenticated: 2, forbidden: 1 },
    );
  });

  it('the morning job is scheduled at OPS_DAILY_AT in its zone and mails the checklist', async () => {
    const { rows } = await cp.db.query<{ run_at: Date }>(
      `select run_at from graphile_worker.jobs where key = 'ops-daily'`,
    );
    assert.equal(rows.length, 1);
    assert.equal(
      rows[0]!.run_at.toISOString(),
      nextMorning({ opsDailyAt: '06:45', opsDailyTimeZone: 'Europe/Berlin' }, new Date()).toISOString(),
    );
    assert.equal(DateTime.fromJSDate(rows[0]!.run_at, { zone: 'Europe/Berlin' }).toFormat('HH:mm'), '06:45');
    // Bring the morning forward to now: the worker runs it.
    await addJob(cp.db, { task: 'ops-daily', payload: {}, jobKey: 'ops-daily', runAt: new Date() });
    const until = Date.now() + 15000;
    while (sink.mails.length === 0 && Date.now() < until) await sleep(50);
    assert.equal(sink.mails.length, 1);
    const m = sink.mails[0]!;
    assert.match(m.subject!, /^concierge-ops morning report \d{4}-\d\d-\d\d: \d item\(s\) need attention$/);
    assert.match(m.text!, /\[!!\] Instances not healthy now\n {2}- acme\/acme-a backend down since/);
    assert.match(m.text!, /acme\/acme-b: backup b-1 failed verification/);
    assert.match(m.text!, /not available: PROMETHEUS_URL is not configured/);
    assert.match(m.text!, /\[ok\] Audit log chain\n {2}- verified: \d+ rows, chain intact/);
    // ... and tomorrow's is scheduled again.
    await sleep(300);
    const next = await cp.db.query<{ run_at: Date }>(
      `select run_at from graphile_worker.jobs where key = 'ops-daily'`,
    );
    assert.equal(next.rows.length, 1);
    assert.ok(next.rows[0]!.run_at.getTime() > Date.now());
  });
});
