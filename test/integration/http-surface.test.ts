import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { startControlPlane, type TestControlPlane } from '../helpers/control-plane.ts';
import { requireTool } from '../helpers/tools.ts';

describe('health, metrics and the OpenAPI document', () => {
  let cp: TestControlPlane;
  before(async () => {
    cp = await startControlPlane();
  });
  after(() => cp.close());

  it('answers /healthz and /readyz without a token once the database is migrated', async () => {
    assert.deepEqual((await cp.call('GET', '/healthz', { token: null })).body, { status: 'ok' });
    const ready = await cp.call('GET', '/readyz', { token: null });
    assert.equal(ready.status, 200);
    assert.equal(ready.body.status, 'ready');
  });

  it('answers /readyz 503 when the database is behind the newest migration', async () => {
    const { rows } = await cp.db.query<{ id: number; name: string }>(
      'select id, name from pgmigrations order by id desc limit 1',
    );
    await cp.db.query('delete from pgmigrations where id = $1', [rows[0]!.id]);
    try {
      const r = await cp.call('GET', '/readyz', { token: null });
      assert.equal(r.status, 503);
      assert.match(r.body.detail, /not migrated/);
    } finally {
      await cp.db.query('insert into pgmigrations (id, name, run_on) values ($1, $2, now())', [
        rows[0]!.id,
        rows[0]!.name,
      ]);
    }
  });

  it('serves /metrics that promtool check metrics accepts, with process and HTTP metrics', async () => {
    await cp.call('GET', '/api/v1/clients');
    const m = await cp.call('GET', '/metrics');
    assert.match(m.text, /^process_cpu_seconds_total /m);
    assert.match(
      m.text,
      /concierge_ops_http_requests_total\{method="GET",route="\/api\/v1\/clients",status="200"\} 1/,
    );
    const check = spawnSync(requireTool('promtool'), ['check', 'metrics'], {
      input: m.text,
      encoding: 'utf8',
    });
    assert.equal(check.status, 0, check.stdout + check.stderr);
  });

  it('publishes an OpenAPI 3.1 document with the same schemas that validate requests', async () => {
    const doc = (await cp.call('GET', '/api/v1/openapi.json', { token: null })).body;
    assert.equal(doc.openapi, '3.1.0');
    const post = doc.paths['/api/v1/instances'].post;
    assert.deepEqual(post.requestBody.content['application/json'].schema.required, [
      'client',
      'slug',
      'environment',
      'baseUrl',
      'services',
    ]);
    assert.deepEqual(post['x-roles'], ['admin', 'operator']);
    for (const p of [
      '/api/v1/clients/{id}',
      '/api/v1/sd/probe-targets',
      '/api/v1/tokens',
      '/api/v1/audit/verify',
      '/readyz',
    ]) {
      assert.ok(doc.paths[p], `${p} missing`);
    }
  });
});
