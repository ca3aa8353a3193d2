import assert from 'node:assert/strict';
import {
  clientBody,
  instanceBody,
  startControlPlane,
  type TestControlPlane,
} from '../helpers/control-plane.ts';

/**
 * POST /api/v1/availability/history: what an earlier system watched and saw. Issue 27's new user recorded four
 * November outages as corrections (10,500 s) and got 25.5 % uptime; with the history brought along the month is
 * measured throughout, and its uptime is 1 - 10,500 / 2,592,000.
 */
const NOVEMBER = 30 * 86400;
const HISTORY = {
  instance: 'hist-prod',
  source: 'uptime-kuma 2.0 (kuma.example.test)',
  coverage: [
    { start: '2026-10-01T00:00:00Z', end: '2026-11-15T00:00:00Z' },
    { start: '2026-11-15T00:00:00Z', end: '2026-12-01T00:00:00Z' },
  ],
  intervals: [
    {
      service: 'backend',
      state: 'down',
      start: '2026-10-20T08:00:00Z',
      end: '2026-10-20T09:00:00Z',
      reason: 'HTTP 502',
    },
    {
      service: 'backend',
      state: 'down',
      start: '2026-11-03T10:00:00Z',
      end: '2026-11-03T11:00:00Z',
      reason: 'timeout',
    },
    { service: 'proxy', state: 'down', start: '2026-11-10T10:00:00Z', end: '2026-11-10T11:00:00Z' },
    { service: 'proxy', state: 'degraded', start: '2026-11-12T10:00:00Z', end: '2026-11-12T12:00:00Z' },
  ],
};

describe('availability history brought along: POST /api/v1/availability/history', () => {
  let cp: TestControlPlane;
  const snapshot = async () => ({
    intervals: await cp.count('availability_intervals'),
    coverage: await cp.count('availability_history_coverage'),
    audit: await cp.count('audit_log'),
  });

  before(async () => {
    cp = await startControlPlane({ WORKERS: 'off' });
    for (const slug of ['hist', 'other']) {
      const c = await cp.call('POST', '/api/v1/clients', {
        body: clientBody(slug, { timeZone: 'Europe/London', slaTarget: 0.999 }),
      });
      assert.equal(c.status, 201, c.text);
      const i = await cp.call('POST', '/api/v1/instances', {
        body: instanceBody(slug, `${slug}-prod`, { monitoredSince: '2026-10-01T00:00:00Z' }),
      });
      assert.equal(i.status, 201, i.text);
    }
    // The operator's correction on 3 November says 40 minutes, where the old tool saw an hour: the operator wins.
    const c = await cp.call('POST', '/api/v1/availability/intervals', {
      body: {
        instance: 'hist-prod',
        service: 'backend',
        state: 'down',
        start: '2026-11-03T10:10:00Z',
        end: '2026-11-03T10:50:00Z',
        reason: 'checked against the load balancer log',
      },
    });
    assert.equal(c.status, 201, c.text);
  });
  after(() => cp.close());

  it('refuses bad history with a 400 naming each field, and changes nothing', async () => {
    const before = await snapshot();
    const cases: [Record<string, unknown>, string][] = [
      [{ instance: 'nope' }, '/instance'],
      [{ coverage: [{ start: '2026-09-01T00:00:00Z', end: '2026-10-02T00:00:00Z' }] }, '/coverage/0/start'],
      [{ coverage: [{ start: '2026-11-02T00:00:00Z', end: '2026-11-01T00:00:00Z' }] }, '/coverage/0/end'],
      [{ coverage: [{ start: '2026-11-02T00:00:00Z', end: '2999-01-01T00:00:00Z' }] }, '/coverage/0/end'],
      [
        {
          intervals: [
            { service: 'backend', state: 'down', start: '2026-12-02T00:00:00Z', end: '2026-12-02T01:00:00Z' },
          ],
        },
        '/intervals/0',
      ],
      [
        {
          intervals: [
            { service: 'mail', state: 'down', start: '2026-11-02T00:00:00Z', end: '2026-11-02T01:00:00Z' },
          ],
        },
        '/intervals/0/service',
      ],
      [{ intervals: [{ service: 'backend', state: 'up', start: 'x', end: 'y' }] }, '/intervals/0/state'],
      [{ source: '' }, '/source'],
      [{ extra: 1 }, ''],
    ];
    for (const [patch, field] of cases) {
      const r = await cp.call('POST', '/api/v1/availability/history', { body: { ...HISTORY, ...patch } });
      assert.equal(r.status, 400, `${JSON.stringify(patch)}: ${r.text}`);
      assert.match(r.headers.get('content-type')!, /application\/problem\+json/);
      assert.ok(
        r.body.errors.some((e: { field: string }) => e.field === field || e.field.startsWith(`${field}/`)),
        `${field}: ${r.text}`,
      );
    }
    const many = await cp.call('POST', '/api/v1/availability/history', {
      body: { ...HISTORY, intervals: Array.from({ length: 5001 }, () => HISTORY.intervals[0]) },
    });
    assert.equal(many.status, 400, many.text);
    assert.deepEqual(await snapshot(), before);
  });

  it('is for staff only: a client token is refused, even for its own instance', async () => {
    const token = await cp.token('client', 'hist');
    const r = await cp.call('POST', '/api/v1/availability/history', { token, body: HISTORY });
    assert.equal(r.status, 403, r.text);
  });

  it('imports coverage and intervals, keeps what was recorded, and audits what it imported', async () => {
    const r = await cp.call('POST', '/api/v1/availability/history', { body: HISTORY });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.changed, true);
    assert.deepEqual(r.body.coverageAdded, [
      { start: '2026-10-01T00:00:00.000Z', end: '2026-12-01T00:00:00.000Z' },
    ]);
    // The hour of 3 November keeps the operator's 40 minutes; the history fills the 20 minutes around them.
    assert.deepEqual(
      r.body.intervalsAdded.filter((i: { start: string }) => i.start.startsWith('2026-11-03')),
      [
        {
          service: 'backend',
          state: 'down',
          start: '2026-11-03T10:00:00.000Z',
          end: '2026-11-03T10:10:00.000Z',
        },
        {
          service: 'backend',
          state: 'down',
          start: '2026-11-03T10:50:00.000Z',
          end: '2026-11-03T11:00:00.000Z',
        },
      ],
    );
    const list = await cp.call(
      'GET',
      '/api/v1/instances/hist-prod/availability?from=2026-11-03T00:00:00Z&to=2026-11-04T00:00:00Z',
    );
    assert.deepEqual(
      list.body.intervals.map((i: { source: string; start: string }) => [i.source, i.start]),
      [
        ['history', '2026-11-03T10:00:00.000Z'],
        ['operator', '2026-11-03T10:10:00.000Z'],
        ['history', '2026-11-03T10:50:00.000Z'],
      ],
    );
    const { rows } = await cp.db.query<{
      action: string;
      after: { source: string; intervalsAdded: unknown[] };
    }>(`select action, after from audit_log where action = 'availability.history'`);
    assert.equal(rows.length, 1);
    assert.equal(rows[0]!.after.source, HISTORY.source);
    assert.equal(rows[0]!.after.intervalsAdded.length, 5);
  });

  it('counts the covered time as measured in the SLA and the report: November measured throughout', async () => {
    const r = await cp.call('GET', '/api/v1/instances/hist-prod/sla?month=2026-11');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.measuredSeconds, NOVEMBER);
    assert.equal(r.body.measuredShare, 1);
    assert.equal(r.body.insufficientData, false);
    assert.equal(r.body.downtimeSeconds, 3600 + 3600); // 3 November (operator and history) and 10 November
    assert.equal(r.body.degradedSeconds, 7200);
    assert.equal(r.body.uptime, 1 - 7200 / NOVEMBER);
    assert.equal(r.body.met, false);
    assert.equal(r.body.credit, 10);
    const october = await cp.call('GET', '/api/v1/instances/hist-prod/sla?month=2026-10');
    assert.equal(october.body.downtimeSeconds, 3600);
    const other = await cp.call('GET', '/api/v1/instances/other-prod/sla?month=2026-11');
    assert.equal(other.body.measuredSeconds, 0, "another instance's history is not this one's");
    const html = (await cp.call('GET', '/api/v1/clients/hist/reports/2026-11.html')).text;
    assert.ok(html.replace(/<[^>]+>/g, '').includes('Uptime 99.7222 % against a target of 99.90 %: missed.'));
    assert.ok(html.includes('2026-11-03: 95.833 %'));
  });

  it('changes nothing, and records nothing, when the same history is imported again', async () => {
    const before = await snapshot();
    const r = await cp.call('POST', '/api/v1/availability/history', { body: HISTORY });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.body, {
      instanceId: r.body.instanceId,
      source: HISTORY.source,
      changed: false,
      coverageAdded: [],
      intervalsAdded: [],
    });
    assert.deepEqual(await snapshot(), before);
  });

  it('lets a later operator correction win over imported history', async () => {
    const c = await cp.call('POST', '/api/v1/availability/intervals', {
      body: {
        instance: 'hist-prod',
        service: 'proxy',
        state: 'degraded',
        start: '2026-11-10T10:00:00Z',
        end: '2026-11-10T11:00:00Z',
        reason: 'the proxy answered slowly, it was not down',
      },
    });
    assert.equal(c.status, 201, c.text);
    const r = await cp.call('GET', '/api/v1/instances/hist-prod/sla?month=2026-11');
    assert.equal(r.body.downtimeSeconds, 3600);
  });
});
