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
    `/api/v1/clients/${c}/reports/2026-09.json`,
    `/api/v1/clients/${c}/reports/2027-01.json`,
  ];
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

  it('the other client gets 404 for every path, by slug, id or month guessing, and learns nothing', async () => {
    for (const c of ['fixture', ids.fixture!])
      for (const p of [...paths(c), ...byId('fixture'), '/api/v1/reports/not-a-report']) {
        const r = await cp.call('GET', p, { token: theirs });
        assert.equal(r.status, 404, p);
        assert.ok(!r.text.includes('fixture-main'), `${p} leaked an instance name`);
      }
    // A client that does not exist answers the same 404.
    const r = await cp.call('GET', `/api/v1/clients/nobody/reports/${MONTH}.json`, { token: theirs });
    assert.equal(r.status, 404);
  });

  it('staff read any client; no token reads nothing', async () => {
    for (const p of paths('other'))
      assert.equal((await cp.call('GET', p, { token: operator })).status, 200, p);
    assert.equal((await cp.call('GET', paths('fixture')[1]!, { token: null })).status, 401);
  });
});
