import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { DateTime } from 'luxon';
import {
  clientBody,
  instanceBody,
  startControlPlane,
  type TestControlPlane,
} from '../helpers/control-plane.ts';

const uuid = () => crypto.randomUUID();

describe('SLA: uptime per instance and client, maintenance and unknown time excluded', () => {
  let cp: TestControlPlane;
  let prober: string;
  let alphaToken: string;
  let betaToken: string;
  const ids: Record<string, string> = {};

  const down = (instance: string, service: string, from: string, to: string, state = 'down') =>
    cp.call('POST', '/api/v1/availability/transitions', {
      token: prober,
      body: {
        prober: 'p1',
        transitions: [
          { id: uuid(), instanceId: ids[instance], service, state, at: from, reason: 'test' },
          { id: uuid(), instanceId: ids[instance], service, state: 'up', at: to },
        ],
      },
    });

  before(async () => {
    cp = await startControlPlane();
    for (const slug of ['alpha', 'beta']) {
      ids[slug] = (await cp.call('POST', '/api/v1/clients', { body: clientBody(slug) })).body.id;
      for (const name of [`${slug}-prod`, `${slug}-eu`])
        ids[name] = (await cp.call('POST', '/api/v1/instances', { body: instanceBody(slug, name) })).body.id;
    }
    prober = await cp.token('prober');
    alphaToken = await cp.token('client', 'alpha');
    betaToken = await cp.token('client', 'beta');
    // The prober watched from February to May, except one hour on 10 March (unknown time).
    await cp.db.query(
      `insert into prober_coverage (prober, during) values
         ('p1', '[2026-02-01T00:00Z, 2026-03-10T00:00Z)'), ('p1', '[2026-03-10T01:00Z, 2026-05-01T00:00Z)')`,
    );
    const mw = await cp.call('POST', '/api/v1/maintenance-windows', {
      body: {
        client: 'alpha',
        start: '2026-03-15T06:00:00Z',
        end: '2026-03-15T08:00:00Z',
        reason: 'upgrade',
      },
    });
    assert.equal(mw.status, 201, mw.text);
    // Before March in New York (it starts at 05:00Z on 1 March).
    await down('alpha-prod', 'proxy', '2026-03-01T04:00:00Z', '2026-03-01T05:00:00Z');
    // backend and proxy overlap by 30 minutes: their union is 90 minutes.
    await down('alpha-prod', 'backend', '2026-03-02T10:00:00Z', '2026-03-02T11:00:00Z');
    await down('alpha-prod', 'proxy', '2026-03-02T10:30:00Z', '2026-03-02T11:30:00Z');
    // The database does not count by default.
    await down('alpha-prod', 'database', '2026-03-03T00:00:00Z', '2026-03-03T00:10:00Z');
    // Half inside the unknown hour: thirty minutes count.
    await down('alpha-prod', 'backend', '2026-03-10T00:30:00Z', '2026-03-10T01:30:00Z');
    // Half inside maintenance: one hour counts.
    await down('alpha-prod', 'backend', '2026-03-15T07:00:00Z', '2026-03-15T09:00:00Z');
    await down('alpha-prod', 'backend', '2026-03-20T00:00:00Z', '2026-03-20T01:00:00Z', 'degraded');
    // After March in New York (it ends at 04:00Z on 1 April).
    await down('alpha-prod', 'backend', '2026-04-01T04:00:00Z', '2026-04-01T05:00:00Z');
  });
  after(() => cp.close());

  // March 2026 in New York: 31 days less the hour DST skips on 8 March.
  const PERIOD = 31 * 86400 - 3600;
  const MEASURED = PERIOD - 7200 - 3600;
  const DOWN = 5400 + 3600 + 1800;

  it('computes an instance figure by hand: DST month, overlap, maintenance, unknown, degraded', async () => {
    const r = await cp.call('GET', '/api/v1/instances/alpha-prod/sla?month=2026-03');
    assert.equal(r.status, 200, r.text);
    const uptime = 1 - DOWN / MEASURED;
    assert.deepEqual(
      { ...r.body, uptime: Number(r.body.uptime.toFixed(12)) },
      {
        instance: { id: ids['alpha-prod'], slug: 'alpha-prod' },
        client: { id: ids.alpha, slug: 'alpha' },
        from: '2026-03-01T05:00:00.000Z',
        to: '2026-04-01T04:00:00.000Z',
        periodSeconds: PERIOD,
        downtimeSeconds: DOWN,
        maintenanceSeconds: 7200,
        unknownSeconds: 3600,
        degradedSeconds: 3600,
        measuredSeconds: MEASURED,
        // the unknown hour is all that was not measured
        measuredShare: MEASURED / (PERIOD - 7200),
        insufficientData: false,
        uptime: Number(uptime.toFixed(12)),
        noData: false,
        target: 0.999,
        met: false,
        errorBudgetSeconds: 0.001 * MEASURED,
        errorBudgetUsedSeconds: DOWN,
        errorBudgetRemainingSeconds: 0.001 * MEASURED - DOWN,
        credit: 10,
      },
    );
  });

  it("gives the client's mean weighted by measured time, with each instance", async () => {
    const r = await cp.call('GET', `/api/v1/clients/${ids.alpha}/sla?month=2026-03`, { token: alphaToken });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.instances.length, 2);
    const eu = r.body.instances.find((i: { instance: { slug: string } }) => i.instance.slug === 'alpha-eu');
    assert.equal(eu.uptime, 1);
    assert.equal(eu.met, true);
    assert.equal(eu.credit, 0);
    assert.equal(r.body.downtimeSeconds, DOWN);
    assert.equal(r.body.uptime, 1 - DOWN / (2 * MEASURED));
  });

  it('answers no data, never 100%, when nothing was measured', async () => {
    // Monitored since 1 January, but the prober's coverage starts in February.
    const r = await cp.call(
      'GET',
      '/api/v1/instances/alpha-prod/sla?from=2026-01-05T00:00:00Z&to=2026-01-25T00:00:00Z',
    );
    assert.equal(r.body.uptime, null);
    assert.equal(r.body.noData, true);
    assert.equal(r.body.met, null);
    assert.equal(r.body.credit, null);
    assert.equal(r.body.unknownSeconds, 20 * 86400);
  });

  it("counts only the instance's monitored lifetime: from monitoredSince to its decommissioning", async () => {
    // A registration without monitoredSince starts monitoring now.
    const plain = await cp.call('POST', '/api/v1/instances', {
      body: { ...instanceBody('alpha', 'alpha-plain'), monitoredSince: undefined },
    });
    assert.equal(plain.status, 201, plain.text);
    assert.ok(
      Math.abs(Date.parse(plain.body.monitoredSince) - Date.now()) < 60_000,
      plain.body.monitoredSince,
    );
    const none = await cp.call('GET', '/api/v1/instances/alpha-plain/sla?month=2026-03');
    assert.equal(none.body.periodSeconds, 0);
    assert.equal(none.body.noData, true);
    const future = await cp.call('PATCH', '/api/v1/instances/alpha-plain', {
      body: { monitoredSince: new Date(Date.now() + 86_400_000).toISOString() },
    });
    assert.equal(future.status, 400);
    assert.equal(future.body.errors[0].field, '/monitoredSince');

    // Onboarded on 11 March 04:00Z (00:00 in New York), in the middle of the month.
    const late = await cp.call('POST', '/api/v1/instances', {
      body: instanceBody('alpha', 'alpha-late', { monitoredSince: '2026-03-11T04:00:00Z' }),
    });
    assert.equal(late.status, 201, late.text);
    const maint = 7200; // alpha's window on 15 March
    let r = await cp.call('GET', '/api/v1/instances/alpha-late/sla?month=2026-03');
    assert.equal(r.body.periodSeconds, 21 * 86400);
    assert.equal(r.body.unknownSeconds, 0, 'the unknown hour of 10 March is before it');
    assert.equal(r.body.measuredSeconds, 21 * 86400 - maint);
    assert.equal(r.body.uptime, 1);
    // Retired on 21 March 04:00Z: the rest of the month is not its time either.
    await cp.db.query(
      `update instances set status = 'decommissioned', decommissioned_at = '2026-03-21T04:00Z'
       where slug = 'alpha-late'`,
    );
    r = await cp.call('GET', '/api/v1/instances/alpha-late/sla?month=2026-03');
    assert.equal(r.body.periodSeconds, 10 * 86400);
    assert.equal(r.body.measuredSeconds, 10 * 86400 - maint);
    await cp.db.query(
      `delete from services where instance_id in (select id from instances where slug = any($1))`,
      [['alpha-plain', 'alpha-late']],
    );
    await cp.db.query(`delete from instances where slug = any($1)`, [['alpha-plain', 'alpha-late']]);
  });

  it('counts the services the client chose', async () => {
    const p = await cp.call('PATCH', '/api/v1/clients/alpha', {
      body: { slaServices: ['backend', 'database'] },
    });
    assert.equal(p.status, 200, p.text);
    assert.deepEqual(p.body.slaServices, ['backend', 'database']);
    const r = await cp.call('GET', '/api/v1/instances/alpha-prod/sla?month=2026-03');
    assert.equal(r.body.downtimeSeconds, 3600 + 3600 + 1800 + 600);
    await cp.call('PATCH', '/api/v1/clients/alpha', { body: { slaServices: null } });
    const back = await cp.call('GET', '/api/v1/instances/alpha-prod/sla?month=2026-03');
    assert.equal(back.body.downtimeSeconds, DOWN);
  });

  it('takes from/to and applies the credit tiers', async () => {
    const r = await cp.call(
      'GET',
      '/api/v1/instances/alpha-prod/sla?from=2026-03-02T00:00:00Z&to=2026-03-03T00:00:00Z',
    );
    assert.equal(r.body.periodSeconds, 86400);
    assert.equal(r.body.downtimeSeconds, 5400);
    assert.equal(r.body.uptime, 1 - 5400 / 86400);
    assert.equal(r.body.credit, 50); // below 0.95
  });

  it('refuses bad parameters with 400 naming them', async () => {
    for (const [q, field] of [
      ['month=2026-13', '/month'],
      ['month=2026-03&from=2026-03-01T00:00:00Z', '/month'],
      ['from=yesterday', '/from'],
      ['to=2026-03-01T00:00:00Z', '/from'],
      ['from=2026-03-02T00:00:00Z&to=2026-03-01T00:00:00Z', '/to'],
      ['week=3', '/week'],
    ]) {
      const r = await cp.call('GET', `/api/v1/instances/alpha-prod/sla?${q}`);
      assert.equal(r.status, 400, q);
      assert.equal(r.body.errors[0].field, field, q);
    }
  });

  it("lets a client token read only its own client's and instances' SLA (404 otherwise)", async () => {
    const cases: [string, string, number][] = [
      [alphaToken, `/api/v1/clients/alpha/sla`, 200],
      [alphaToken, `/api/v1/instances/alpha-prod/sla`, 200],
      [alphaToken, `/api/v1/clients/beta/sla`, 404],
      [alphaToken, `/api/v1/instances/beta-prod/sla`, 404],
      [betaToken, `/api/v1/clients/${ids.alpha}/sla`, 404],
      [betaToken, `/api/v1/instances/${ids['alpha-eu']}/sla`, 404],
      [betaToken, `/api/v1/clients/beta/sla`, 200],
      [prober, `/api/v1/clients/beta/sla`, 403],
    ];
    for (const [token, path, status] of cases)
      assert.equal((await cp.call('GET', path, { token })).status, status, path);
  });

  it('exports month-to-date uptime, target and error budget per instance on /metrics', async () => {
    const start = DateTime.now().setZone('America/New_York').startOf('month').toUTC().toISO();
    await cp.db.query(
      `insert into prober_coverage (prober, during) values ('p9', tstzrange($1, now() + interval '1 hour'))`,
      [start],
    );
    const text = (await cp.call('GET', '/metrics')).text;
    assert.match(text, /concierge_ops_sla_uptime_ratio\{client="alpha",instance="alpha-prod"\} 1\n/);
    assert.match(text, /concierge_ops_sla_target_ratio\{client="beta",instance="beta-eu"\} 0\.999\n/);
    assert.match(
      text,
      /concierge_ops_sla_error_budget_remaining_seconds\{client="alpha",instance="alpha-eu"\} \d/,
    );
  });
});
