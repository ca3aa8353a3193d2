import assert from 'node:assert/strict';
import { startControlPlane, type TestControlPlane } from '../helpers/control-plane.ts';
import { MONTH, loadFixture } from '../fixtures/reports/fixture-month.ts';

describe('reports tenant matrix: a client token never reads another client’s report', () => {
  let cp: TestControlPlane;
  let mine: string;
  let theirs: string;
  let operator: string;
  const ids: Record<string, string> = {};

  before(async () => {
    cp = await startControlPlane({ WORKERS: 'off' });
    await loadFixture(cp, 'fixture', ['it@fixture.example.test']);
    await loadFixture(cp, 'other', ['it@other.example.test']);
    for (const slug of ['fixture', 'other'])
      ids[slug] = (await cp.call('GET', `/api/v1/clients/${slug}`)).body.id;
    mine = await cp.token('client', 'fixture');
    theirs = await cp.token('client', 'other');
    operator = await cp.token('operator');
    // Both clients' October reports stored as sent (no workers here: nothing is mailed).
    assert.deepEqual(await cp.ctx.reports.runMonthly(new Date('2026-11-01T08:00:00Z')), { generated: 2 });
    const { rows } = await cp.db.query<{ slug: string; id: string }>(
      'select c.slug, r.id from reports r join clients c on c.id = r.client_id',
    );
    for (const r of rows) ids[`report:${r.slug}`] = r.id;
  });
  after(() => cp.close());

  const paths = (c: string) => [
    `/api/v1/clients/${c}/reports`,
    ...['', '.json', '.html', '.pdf'].map((f) => `/api/v1/clients/${c}/reports/${MONTH}${f}`),
  ];
  // Months with no stored report: staff get a preview composed now, clients nothing.
  const unsent = (c: string) =>
    ['2026-09', '2027-01', '1900-01', '2030-01'].map((m) => `/api/v1/clients/${c}/reports/${m}.json`);
  const byId = (slug: string) =>
    ['', '.json', '.html', '.pdf'].map((f) => `/api/v1/reports/${ids[`report:${slug}`]}${f}`);

  it('a client reads its own reports by slug and by id, in every format', async () => {
    for (const c of ['fixture', ids.fixture!])
      for (const p of [...paths(c), ...byId('fixture')]) {
        const r = await cp.call('GET', p, { token: mine });
        assert.equal(r.status, 200, `${p}: ${r.text.slice(0, 200)}`);
      }
    const list = await cp.call('GET', '/api/v1/clients/fixture/reports', { token: mine });
    assert.deepEqual(
      list.body.reports.map((r: { id: string }) => r.id),
      [ids['report:fixture']],
    );
  });

  it('a client gets 404 for its own months that were never sent, and fresh=true composes nothing', async () => {
    for (const c of ['fixture', ids.fixture!])
      for (const p of [...unsent(c), ...unsent(c).map((u) => `${u}?fresh=true`)]) {
        const r = await cp.call('GET', p, { token: mine });
        assert.equal(r.status, 404, `${p}: ${r.text.slice(0, 200)}`);
        assert.equal(r.headers.get('content-type'), 'application/problem+json; charset=utf-8', p);
      }
    // A client asking for a fresh copy of a sent month gets the sent version as stored, byte for byte.
    const stored = await cp.db.query<{ sha256: string }>('select sha256 from reports where id = $1', [
      ids['report:fixture'],
    ]);
    const r = await cp.call('GET', `/api/v1/clients/fixture/reports/${MONTH}.json?fresh=true`, {
      token: mine,
    });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers.get('x-report-sha256'), stored.rows[0]!.sha256);
  });

  it('the other client gets 404 for every path, by slug, id or month guessing, and learns nothing', async () => {
    for (const c of ['fixture', ids.fixture!])
      for (const p of [...paths(c), ...unsent(c), ...byId('fixture'), '/api/v1/reports/not-a-report']) {
        const r = await cp.call('GET', p, { token: theirs });
        assert.equal(r.status, 404, p);
        assert.ok(!r.text.includes('fixture-main'), `${p} leaked an instance name`);
      }
    // A client that does not exist answers the same 404.
    const r = await cp.call('GET', `/api/v1/clients/nobody/reports/${MONTH}.json`, { token: theirs });
    assert.equal(r.status, 404);
  });

  it('staff read any client; no token reads nothing', async () => {
    for (const p of [...paths('other'), ...unsent('other').slice(0, 2)])
      assert.equal((await cp.call('GET', p, { token: operator })).status, 200, p);
    assert.equal((await cp.call('GET', paths('fixture')[1]!, { token: null })).status, 401);
  });

  it('a version waiting for review is 404 to its client, fresh or not, until an operator approves it', async () => {
    const s = await cp.call('PATCH', '/api/v1/clients/fixture/report-settings', {
      token: operator,
      body: { reviewBeforeSend: true },
    });
    assert.equal(s.status, 200, s.text);
    await cp.ctx.reports.runMonthly(new Date('2026-12-01T08:00:00Z'));
    const { rows } = await cp.db.query<{ id: string; status: string }>(
      `select r.id, r.status from reports r join clients c on c.id = r.client_id
        where c.slug = 'fixture' and r.month = '2026-11'`,
    );
    assert.deepEqual(
      rows.map((r) => r.status),
      ['pending_review'],
    );
    const month = '/api/v1/clients/fixture/reports/2026-11';
    for (const p of [
      month,
      `${month}.json`,
      `${month}.pdf`,
      `${month}.json?fresh=true`,
      `${month}?fresh=false`,
    ])
      assert.equal((await cp.call('GET', p, { token: mine })).status, 404, p);
    assert.equal((await cp.call('GET', `/api/v1/reports/${rows[0]!.id}`, { token: mine })).status, 404);
    assert.equal((await cp.call('GET', `${month}.json?fresh=true`, { token: operator })).status, 200);

    const a = await cp.call('POST', `/api/v1/reports/${rows[0]!.id}/approve`, { token: operator });
    assert.equal(a.status, 200, a.text);
    const r = await cp.call('GET', `${month}.json`, { token: mine });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.month, '2026-11');
  });
});
