import assert from 'node:assert/strict';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import pg from 'pg';
import {
  clientBody,
  instanceBody,
  startControlPlane,
  type Answer,
  type TestControlPlane,
} from '../helpers/control-plane.ts';

/** The longest the event loop may stall while one request is served: /healthz waits no longer than this. */
const MAX_BLOCK_MS = 200;

/**
 * `fn` run with the event loop watched: the longest stall seen, in ms. The server runs in this process, so a
 * request that computes for a second shows here as a one-second stall (and /healthz waiting as long).
 */
async function watched<T>(fn: () => Promise<T>): Promise<{ result: T; blockedMs: number }> {
  const h = monitorEventLoopDelay({ resolution: 10 });
  h.enable();
  try {
    const result = await fn();
    return { result, blockedMs: h.max / 1e6 };
  } finally {
    h.disable();
  }
}

/** Answered within bounds: 2xx, or a 400 problem+json naming a range or size field and the most allowed. */
function assertBounded(what: string, r: Answer, blockedMs: number) {
  assert.ok(blockedMs < MAX_BLOCK_MS, `${what}: event loop blocked ${blockedMs.toFixed(0)} ms`);
  if (r.status >= 200 && r.status < 300) return;
  assert.equal(r.status, 400, `${what}: ${r.status} ${r.text.slice(0, 300)}`);
  assert.match(r.headers.get('content-type') ?? '', /application\/problem\+json/, what);
  const e = r.body.errors?.[0];
  assert.ok(['/from', '/to', '/limit', '/month'].includes(e?.field), `${what}: ${r.text}`);
  assert.match(e.message, /at most \d+/, `${what}: ${r.text}`);
}

describe('bounded work per request', () => {
  let cp: TestControlPlane;
  let northToken: string;
  let rotationId: string;

  before(async () => {
    cp = await startControlPlane({ REQUEST_TIMEOUT_MS: '1500' });
    for (const slug of ['north', 'south']) {
      assert.equal((await cp.call('POST', '/api/v1/clients', { body: clientBody(slug) })).status, 201);
      const i = await cp.call('POST', '/api/v1/instances', { body: instanceBody(slug, `${slug}-prod`) });
      assert.equal(i.status, 201, i.text);
    }
    northToken = await cp.token('client', 'north');
    // North: the one weekly window of the report. South: enough daily windows to pass the occurrence cap.
    const weekly = { freq: 'weekly', byDay: ['SU'], startTime: '02:00', durationMinutes: 120 };
    const w = await cp.call('POST', '/api/v1/maintenance-windows', {
      body: { client: 'north', start: '2026-01-01T00:00:00Z', reason: 'patching', recurrence: weekly },
    });
    assert.equal(w.status, 201, w.text);
    const daily = { ...weekly, byDay: ['MO', 'TU', 'WE', 'TH', 'FR', 'SA', 'SU'] };
    for (let n = 0; n < 8; n++) {
      const d = await cp.call('POST', '/api/v1/maintenance-windows', {
        body: { client: 'south', start: '2026-01-01T00:00:00Z', reason: `nightly ${n}`, recurrence: daily },
      });
      assert.equal(d.status, 201, d.text);
    }
    const ann = await cp.call('POST', '/api/v1/responders', { body: { name: 'Ann', role: 'engineer' } });
    const rot = await cp.call('POST', '/api/v1/rotations', {
      body: {
        name: 'primary',
        timeZone: 'Europe/London',
        handoff: 'daily',
        handoffTime: '09:00',
        startDate: '2026-01-01',
        members: [ann.body.id],
      },
    });
    assert.equal(rot.status, 201, rot.text);
    rotationId = rot.body.id;
    // Warm up what a first request pays once (time zone data, compiled code), so the watch sees the request.
    await cp.call('GET', '/api/v1/maintenance-windows');
    await cp.call('GET', `/api/v1/rotations/${rotationId}/schedule`);
  });
  after(() => cp.close());

  it('answers the reported ten-thousand-year maintenance query at once with a 400 naming the span, /healthz unstarved', async () => {
    const { result, blockedMs } = await watched(() =>
      Promise.all([
        cp.call('GET', '/api/v1/maintenance-windows?from=0001-01-01T00:00:00Z&to=9999-12-31T00:00:00Z', {
          token: northToken,
        }),
        cp.call('GET', '/healthz', { token: null }),
      ]),
    );
    const [r, health] = result;
    assert.equal(health.status, 200);
    assertBounded('maintenance 0001..9999', r, blockedMs);
    assert.equal(r.status, 400);
    assert.deepEqual(r.body.errors, [
      {
        field: '/to',
        message: 'must be at most 366 days after from, the largest span allowed; ask for shorter ranges',
      },
    ]);
  });

  it('lists a weekly window over the longest range allowed, every occurrence in it', async () => {
    const { result: r, blockedMs } = await watched(() =>
      cp.call('GET', '/api/v1/maintenance-windows?from=2026-01-01T00:00:00Z&to=2027-01-02T00:00:00Z', {
        token: northToken,
      }),
    );
    assertBounded('maintenance 366 days', r, blockedMs);
    assert.equal(r.status, 200);
    assert.equal(r.body.length, 1);
    assert.equal(r.body[0].occurrences.length, 52); // the Sundays of 2026
  });

  it('stops expanding at 2000 occurrences and says so, naming to', async () => {
    const { result: r, blockedMs } = await watched(() =>
      cp.call(
        'GET',
        '/api/v1/maintenance-windows?client=south&from=2026-01-01T00:00:00Z&to=2027-01-01T00:00:00Z',
      ),
    );
    assertBounded('maintenance 8 daily windows', r, blockedMs);
    assert.equal(r.status, 400);
    assert.equal(r.body.errors[0].field, '/to');
    assert.match(r.body.errors[0].message, /at most 2000 occurrences/);
    assert.match(r.body.detail, /at most 2000 occurrences/);
    // Half the range holds 8 x 182 = 1456: answered.
    const half = await cp.call(
      'GET',
      '/api/v1/maintenance-windows?client=south&from=2026-01-01T00:00:00Z&to=2026-07-02T00:00:00Z',
    );
    assert.equal(half.status, 200, half.text);
    assert.equal(
      half.body.reduce((n: number, w: { occurrences: unknown[] }) => n + w.occurrences.length, 0),
      8 * 182,
    );
  });

  it('answers a schedule preview up to a leap second without looping (400 naming to, or the next second)', async () => {
    const { result: r, blockedMs } = await watched(() =>
      cp.call('GET', `/api/v1/rotations/${rotationId}/schedule?to=2026-12-31T23:59:60Z`),
    );
    assert.ok(blockedMs < MAX_BLOCK_MS, `event loop blocked ${blockedMs.toFixed(0)} ms`);
    if (r.status === 200) {
      // Taken as the next second: the preview ends there.
      assert.equal(r.body.to, '2027-01-01T00:00:00.000Z');
    } else {
      assert.equal(r.status, 400, r.text);
      assert.equal(r.body.errors[0].field, '/to');
    }
    const health = await cp.call('GET', '/healthz', { token: null });
    assert.equal(health.status, 200);
  });

  it('answers every invalid or backwards range with a 400 naming its end, never a 500', async () => {
    const cases: [string, string][] = [
      [`/api/v1/rotations/${rotationId}/schedule?from=2027-01-01T00:00:00Z&to=2026-12-31T00:00:00Z`, '/to'],
      ['/api/v1/maintenance-windows?from=2026-12-31T23:59:60Z', '/from'],
      ['/api/v1/instances/north-prod/availability?to=2026-06-30T23:59:60Z', '/to'],
      ['/api/v1/clients/north/sla?from=2026-06-30T23:59:60Z', '/from'],
      ['/api/v1/incidents?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z', '/to'],
      ['/api/v1/clients/north/sla?month=0000-01', '/month'],
    ];
    for (const [path, field] of cases) {
      const r = await cp.call('GET', path);
      assert.equal(r.status, 400, `${path}: ${r.text}`);
      assert.equal(r.body.errors[0].field, field, path);
    }
  });

  /** Path parameters of the fixtures above, by the route's path. */
  const fixture = (path: string): string =>
    path
      .replace(/^\/api\/v1\/clients\/\{id\}/, '/api/v1/clients/north')
      .replace(/^\/api\/v1\/instances\/\{id\}/, '/api/v1/instances/north-prod')
      .replace(/^\/api\/v1\/rotations\/\{id\}/, `/api/v1/rotations/${rotationId}`)
      .replace(/\{month\}/, '9999-12.json');

  /** The end of the longest accepted range asked for: the fixtures' data lies before it. */
  const END = Date.parse('2027-01-01T00:00:00Z');

  /** The largest value each range or size parameter may be written as, per its schema. */
  const maximal: Record<string, string> = {
    from: '0001-01-01T00:00:00Z',
    to: '9999-12-31T00:00:00Z',
    month: '9999-12',
    limit: '9999',
  };

  it('answers the maximal request of every route that takes a range or a size, each within its bound', async () => {
    const doc = (await cp.call('GET', '/api/v1/openapi.json')).body as {
      paths: Record<string, Record<string, { parameters: { name: string; in: string }[] }>>;
    };
    const tried: string[] = [];
    for (const [path, methods] of Object.entries(doc.paths)) {
      const op = methods.get;
      if (!op) continue;
      const names = op.parameters.filter((p) => p.in === 'query' && p.name in maximal).map((p) => p.name);
      const monthInPath = path.includes('{month}');
      if (names.length === 0 && !monthInPath) continue;
      const concrete = fixture(path);
      assert.doesNotMatch(concrete, /\{/, `no fixture for ${path}: add one above`);
      // from/to together, and each size or month parameter alone (SLA takes month or from/to, not both).
      const queries = [
        names.filter((n) => n === 'from' || n === 'to'),
        ...names.filter((n) => n !== 'from' && n !== 'to').map((n) => [n]),
      ].filter((q) => q.length > 0 || monthInPath);
      for (const q of queries.length ? queries : [[]]) {
        const url = `${concrete}${q.length ? '?' : ''}${q.map((n) => `${n}=${maximal[n]}`).join('&')}`;
        const { result: r, blockedMs } = await watched(() => cp.call('GET', url));
        assertBounded(`GET ${url}`, r, blockedMs);
        tried.push(`${r.status} GET ${url}`);
        // Refused for its span: the longest span the 400 names is answered, within the same bound.
        const days = /at most (\d+) days/.exec(r.status === 400 ? r.body.errors[0].message : '')?.[1];
        if (days) {
          const longest = `${concrete}?from=${new Date(END - Number(days) * 86_400_000).toISOString()}&to=${new Date(END).toISOString()}`;
          const { result: l, blockedMs: lBlocked } = await watched(() => cp.call('GET', longest));
          assertBounded(`GET ${longest}`, l, lBlocked);
          // Answered, or refused for another bound than its span (south's windows pass the occurrence cap).
          assert.ok(l.status === 200 || !/days/.test(l.body.errors[0].message), `GET ${longest}: ${l.text}`);
          tried.push(`${l.status} GET ${longest}`);
        }
      }
    }
    // The routes of the report, at least: a new one joins by its parameters alone.
    for (const p of [
      '/maintenance-windows?',
      '/schedule?',
      '/sla?',
      '/availability?',
      '/incidents?',
      '/audit?',
    ])
      assert.ok(
        tried.some((t) => t.includes(p)),
        `${p} not tried:\n${tried.join('\n')}`,
      );
  });

  it('answers a request that waits longer than REQUEST_TIMEOUT_MS with 503 problem+json, then carries on', async () => {
    // Another session holds the clients table: the list waits on its lock without using the event loop.
    const holder = new pg.Client({ connectionString: cp.databaseUrl });
    await holder.connect();
    try {
      await holder.query('begin');
      await holder.query('lock table clients in access exclusive mode');
      const r = await cp.call('GET', '/api/v1/clients');
      assert.equal(r.status, 503, r.text);
      assert.match(r.headers.get('content-type') ?? '', /application\/problem\+json/);
      assert.match(r.body.detail, /did not complete within 1\.5 s/);
    } finally {
      await holder.query('rollback');
      await holder.end();
    }
    const health = await cp.call('GET', '/healthz', { token: null });
    assert.equal(health.status, 200);
    assert.equal((await cp.call('GET', '/api/v1/clients')).status, 200);
  });
});
