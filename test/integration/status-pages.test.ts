import assert from 'node:assert/strict';
import { clientBody, startControlPlane, type TestControlPlane } from '../helpers/control-plane.ts';

describe('status pages: staff switch them on and off and rotate their URL through the API', () => {
  let cp: TestControlPlane;
  const page = (c: string) => `/api/v1/clients/${c}/status-page`;
  const open = async (url: string) => fetch(cp.url + new URL(url).pathname);

  before(async () => {
    cp = await startControlPlane({ WORKERS: 'off' });
    for (const c of ['north', 'south'])
      assert.equal((await cp.call('POST', '/api/v1/clients', { body: clientBody(c) })).status, 201);
  });
  after(() => cp?.close());

  it('is off by default, and answers 404 at any address until enabled', async () => {
    const got = await cp.call('GET', page('north'));
    assert.equal(got.status, 200, got.text);
    assert.deepEqual(
      { enabled: got.body.enabled, showName: got.body.showName, url: got.body.url },
      { enabled: false, showName: false, url: null },
    );
    assert.equal((await fetch(`${cp.url}/status/${'A'.repeat(43)}`)).status, 404);
    assert.equal((await fetch(`${cp.url}/status/not-a-token`)).status, 404);
  });

  it('enabling makes a 256-bit URL shown once; disabling makes it 404; enabling again brings it back', async () => {
    const on = await cp.call('PUT', page('north'), { body: { enabled: true } });
    assert.equal(on.status, 200, on.text);
    assert.match(on.body.url, /\/status\/[A-Za-z0-9_-]{43}$/);
    const url = on.body.url as string;
    const res = await open(url);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('set-cookie'), null);
    assert.equal(
      res.headers.get('referrer-policy'),
      'no-referrer',
      'the address does not leak to linked sites',
    );
    assert.match(await res.text(), /Service status/);
    assert.equal((await cp.call('GET', page('north'))).body.url, null, 'never shown again');

    const off = await cp.call('PUT', page('north'), { body: { enabled: false } });
    assert.equal(off.body.url, null);
    const gone = await open(url);
    assert.equal(gone.status, 404);
    assert.equal(gone.headers.get('cache-control'), 'no-store', 'a 404 is not cached');
    await cp.call('PUT', page('north'), { body: { enabled: true } });
    assert.equal((await open(url)).status, 200, 'the same URL until it is rotated');
  });

  it('rotation kills the old URL at once', async () => {
    const before = await cp.call('POST', `${page('south')}/rotate`);
    assert.equal(before.status, 200, before.text);
    assert.equal(before.body.enabled, false, 'rotating does not switch a page on');
    assert.equal((await open(before.body.url)).status, 404);
    await cp.call('PUT', page('south'), { body: { enabled: true, showName: true } });
    assert.equal((await open(before.body.url)).status, 200);
    assert.match(await (await open(before.body.url)).text(), /Practice south: service status/);
    const after = await cp.call('POST', `${page('south')}/rotate`);
    assert.equal((await open(before.body.url)).status, 404);
    assert.equal((await open(after.body.url)).status, 200);
  });

  it('refuses bad bodies naming the field, clients and unknown clients, and changes nothing', async () => {
    const before = (await cp.call('GET', page('north'))).body;
    for (const [body, field] of [
      [{ enabled: 'yes' }, '/enabled'],
      [{ showName: true }, '/enabled'],
      [{ enabled: true, showName: 1 }, '/showName'],
      [{ enabled: true, extra: '\u0000' }, '/extra'],
    ] as const) {
      const res = await cp.call('PUT', page('north'), { body });
      assert.equal(res.status, 400, res.text);
      assert.ok(
        (res.body.errors as { field: string }[]).some((e) => e.field === field),
        `${JSON.stringify(body)}: ${res.text}`,
      );
    }
    const client = await cp.token('client', 'north');
    assert.equal(
      (await cp.call('PUT', page('north'), { token: client, body: { enabled: false } })).status,
      403,
    );
    assert.equal((await cp.call('POST', `${page('north')}/rotate`, { token: client })).status, 403);
    assert.equal((await cp.call('PUT', page('nowhere'), { body: { enabled: true } })).status, 404);
    assert.deepEqual((await cp.call('GET', page('north'))).body, before);
  });

  it('audits every change with the caller, and never the token', async () => {
    const { rows } = await cp.db.query<{ action: string; token_name: string; after: object }>(
      `select action, token_name, after from audit_log where action like 'client.status_page%' order by seq`,
    );
    assert.deepEqual(
      rows.map((r) => r.action),
      [
        'client.status_page',
        'client.status_page',
        'client.status_page',
        'client.status_page_rotate',
        'client.status_page',
        'client.status_page_rotate',
      ],
    );
    assert.ok(rows.every((r) => r.token_name && !/[A-Za-z0-9_-]{43}/.test(JSON.stringify(r.after))));
  });
});
