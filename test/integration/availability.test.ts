import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import {
  clientBody,
  instanceBody,
  startControlPlane,
  type TestControlPlane,
} from '../helpers/control-plane.ts';

const uuid = () => crypto.randomUUID();

describe('availability: prober transitions, state, operator corrections', () => {
  let cp: TestControlPlane;
  let prober: string;
  let alphaToken: string;
  let betaToken: string;
  let inst: string;

  const post = (transitions: object[], token = prober) =>
    cp.call('POST', '/api/v1/availability/transitions', { token, body: { prober: 'p1', transitions } });
  const intervals = async () =>
    (
      await cp.db.query<{ service: string; state: string; lo: Date; hi: Date | null; source: string }>(
        `select service, state, lower(during) as lo, case when upper_inf(during) then null else upper(during) end as hi,
           source from availability_intervals where instance_id = $1 order by service, lower(during)`,
        [inst],
      )
    ).rows.map(
      (r) => `${r.service} ${r.state} ${r.lo.toISOString()} ${r.hi?.toISOString() ?? 'open'} ${r.source}`,
    );

  before(async () => {
    cp = await startControlPlane();
    await cp.call('POST', '/api/v1/clients', { body: clientBody('alpha') });
    await cp.call('POST', '/api/v1/clients', { body: clientBody('beta') });
    inst = (await cp.call('POST', '/api/v1/instances', { body: instanceBody('alpha', 'alpha-prod') })).body
      .id;
    await cp.call('POST', '/api/v1/instances', { body: instanceBody('beta', 'beta-prod') });
    prober = await cp.token('prober');
    alphaToken = await cp.token('client', 'alpha');
    betaToken = await cp.token('client', 'beta');
  });
  after(() => cp.close());

  it('applies a batch in `at` order per service whatever the order in the body', async () => {
    const r = await post([
      { id: uuid(), instanceId: inst, service: 'backend', state: 'up', at: '2026-03-01T10:30:00Z' },
      { id: uuid(), instanceId: inst, service: 'backend', state: 'degraded', at: '2026-03-01T10:10:00Z' },
      {
        id: uuid(),
        instanceId: inst,
        service: 'backend',
        state: 'down',
        at: '2026-03-01T10:00:00Z',
        reason: 'HTTP 503',
      },
      { id: uuid(), instanceId: inst, service: 'proxy', state: 'down', at: '2026-03-01T11:00:00Z' },
    ]);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.body, { applied: 4, duplicates: 0 });
    assert.deepEqual(await intervals(), [
      'backend down 2026-03-01T10:00:00.000Z 2026-03-01T10:10:00.000Z prober',
      'backend degraded 2026-03-01T10:10:00.000Z 2026-03-01T10:30:00.000Z prober',
      'proxy down 2026-03-01T11:00:00.000Z open prober',
    ]);
  });

  it('is idempotent on transition ids: the same request again answers 200 and changes nothing', async () => {
    const batch = [
      { id: uuid(), instanceId: inst, service: 'database', state: 'down', at: '2026-03-02T00:00:00Z' },
      { id: uuid(), instanceId: inst, service: 'database', state: 'up', at: '2026-03-02T00:05:00Z' },
    ];
    assert.deepEqual((await post(batch)).body, { applied: 2, duplicates: 0 });
    const rows = await intervals();
    const n = await cp.count('availability_transitions');
    const again = await post(batch);
    assert.equal(again.status, 200);
    assert.deepEqual(again.body, { applied: 0, duplicates: 2 });
    assert.deepEqual(await intervals(), rows);
    assert.equal(await cp.count('availability_transitions'), n);
  });

  it('rejects a whole batch naming an unknown instance or service, and changes nothing', async () => {
    const before = [await cp.count('availability_transitions'), await cp.count('availability_intervals')];
    const ok = {
      id: uuid(),
      instanceId: inst,
      service: 'backend',
      state: 'down',
      at: '2026-03-03T00:00:00Z',
    };
    const r = await post([
      ok,
      { ...ok, id: uuid(), instanceId: uuid() },
      { ...ok, id: uuid(), service: 'nope' },
    ]);
    assert.equal(r.status, 400);
    assert.equal(r.headers.get('content-type'), 'application/problem+json; charset=utf-8');
    assert.deepEqual(
      r.body.errors.map((e: { field: string }) => e.field),
      ['/transitions/1/instanceId', '/transitions/2/service'],
    );
    const bad = await post([{ ...ok, state: 'sideways' }]);
    assert.equal(bad.body.errors[0].field, '/transitions/0/state');
    const tooMany = await post(Array.from({ length: 1001 }, () => ({ ...ok, id: uuid() })));
    assert.equal(tooMany.status, 400);
    assert.equal(tooMany.body.errors[0].field, '/transitions');
    assert.deepEqual(
      [await cp.count('availability_transitions'), await cp.count('availability_intervals')],
      before,
    );
  });

  it('serves the services currently not up, for the prober and staff only', async () => {
    const r = await cp.call('GET', '/api/v1/availability/state', { token: prober });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, [
      { instanceId: inst, service: 'proxy', state: 'down', since: '2026-03-01T11:00:00.000Z' },
    ]);
    assert.equal((await cp.call('GET', '/api/v1/availability/state', { token: alphaToken })).status, 403);
  });

  it('records heartbeats as one stretch of prober coverage', async () => {
    assert.equal(
      (await cp.call('POST', '/api/v1/availability/heartbeat', { token: prober, body: { prober: 'p2' } }))
        .status,
      200,
    );
    await cp.call('POST', '/api/v1/availability/heartbeat', { token: prober, body: { prober: 'p2' } });
    const { rows } = await cp.db.query(`select count(*)::int as n from prober_coverage where prober = 'p2'`);
    assert.equal(rows[0].n, 1);
  });

  it("takes an operator's correction over the prober's time in its range, audited with the reason", async () => {
    const r = await cp.call('POST', '/api/v1/availability/intervals', {
      body: {
        instance: 'alpha-prod',
        service: 'backend',
        state: 'down',
        start: '2026-03-01T10:05:00Z',
        end: '2026-03-01T10:20:00Z',
        reason: 'customers reported errors the probe missed',
      },
    });
    assert.equal(r.status, 201, r.text);
    assert.deepEqual(
      (await intervals()).filter((x) => x.startsWith('backend')),
      [
        'backend down 2026-03-01T10:00:00.000Z 2026-03-01T10:05:00.000Z prober',
        'backend down 2026-03-01T10:05:00.000Z 2026-03-01T10:20:00.000Z operator',
        'backend degraded 2026-03-01T10:20:00.000Z 2026-03-01T10:30:00.000Z prober',
      ],
    );
    const audit = await cp.call('GET', `/api/v1/audit?targetType=instance&targetId=${inst}`);
    assert.equal(audit.body[0].action, 'availability.correct');
    assert.equal(audit.body[0].after.reason, 'customers reported errors the probe missed');
    assert.equal(audit.body[0].before.replaced.length, 2);

    const auditRows = await cp.count('audit_log');
    const bad = await cp.call('POST', '/api/v1/availability/intervals', {
      body: {
        instance: 'alpha-prod',
        service: 'backend',
        state: 'down',
        start: '2026-03-01T10:00:00Z',
        end: '2026-03-01T09:00:00Z',
        reason: 'x',
      },
    });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.errors[0].field, '/end');
    assert.equal(await cp.count('audit_log'), auditRows);
  });

  it('splits an open prober interval around a correction inside it; the later piece stays open', async () => {
    const r = await cp.call('POST', '/api/v1/availability/intervals', {
      body: {
        instance: inst,
        service: 'proxy',
        state: 'degraded',
        start: '2026-03-01T12:00:00Z',
        end: '2026-03-01T13:00:00Z',
        reason: 'only slow',
      },
    });
    assert.equal(r.status, 201, r.text);
    assert.deepEqual(
      (await intervals()).filter((x) => x.startsWith('proxy')),
      [
        'proxy down 2026-03-01T11:00:00.000Z 2026-03-01T12:00:00.000Z prober',
        'proxy degraded 2026-03-01T12:00:00.000Z 2026-03-01T13:00:00.000Z operator',
        'proxy down 2026-03-01T13:00:00.000Z open prober',
      ],
    );
    // The prober's "up" still closes the open piece.
    await post([{ id: uuid(), instanceId: inst, service: 'proxy', state: 'up', at: '2026-03-01T14:00:00Z' }]);
    assert.ok(
      (await intervals()).includes('proxy down 2026-03-01T13:00:00.000Z 2026-03-01T14:00:00.000Z prober'),
    );
  });

  it('logs a late replay older than the recorded history without reopening the past', async () => {
    const rows = await intervals();
    const r = await post([
      { id: uuid(), instanceId: inst, service: 'backend', state: 'down', at: '2026-03-01T09:00:00Z' },
      { id: uuid(), instanceId: inst, service: 'backend', state: 'up', at: '2026-03-01T09:30:00Z' },
    ]);
    assert.deepEqual(r.body, { applied: 2, duplicates: 0 });
    assert.deepEqual(await intervals(), rows);
  });

  it("lists an instance's intervals: its client sees them, another client gets 404", async () => {
    const q = '?from=2026-03-01T00:00:00Z&to=2026-03-02T00:00:00Z';
    const own = await cp.call('GET', `/api/v1/instances/${inst}/availability${q}`, { token: alphaToken });
    assert.equal(own.status, 200);
    assert.equal(own.body.intervals.length, 6);
    assert.equal(
      (await cp.call('GET', `/api/v1/instances/${inst}/availability${q}`, { token: betaToken })).status,
      404,
    );
    const bad = await cp.call('GET', `/api/v1/instances/${inst}/availability?from=yesterday`);
    assert.equal(bad.status, 400);
    assert.equal(bad.body.errors[0].field, '/from');
  });
});
