import assert from 'node:assert/strict';
import {
  clientBody,
  instanceBody,
  startControlPlane,
  type TestControlPlane,
} from '../helpers/control-plane.ts';

describe('fleet registry', () => {
  let cp: TestControlPlane;
  before(async () => {
    cp = await startControlPlane();
  });
  after(() => cp.close());

  it('creates a client with a default SLA target of 0.999 and reads it back by id and by slug', async () => {
    const created = await cp.call('POST', '/api/v1/clients', { body: clientBody('smile-dental') });
    assert.equal(created.status, 201);
    assert.equal(created.body.slaTarget, 0.999);
    assert.equal(created.body.timeZone, 'America/New_York');
    const byId = await cp.call('GET', `/api/v1/clients/${created.body.id}`);
    const bySlug = await cp.call('GET', '/api/v1/clients/smile-dental');
    assert.deepEqual(byId.body, created.body);
    assert.deepEqual(bySlug.body, created.body);
  });

  it('lists clients and updates one, recording before and after in the audit log', async () => {
    const patched = await cp.call('PATCH', '/api/v1/clients/smile-dental', {
      body: { slaTarget: 0.9995, timeZone: 'Europe/Berlin', reportContacts: ['manager@smile.example.test'] },
    });
    assert.equal(patched.status, 200);
    assert.equal(patched.body.slaTarget, 0.9995);
    assert.equal(patched.body.timeZone, 'Europe/Berlin');
    const list = await cp.call('GET', '/api/v1/clients');
    assert.deepEqual(
      list.body.map((c: { slug: string }) => c.slug),
      ['smile-dental'],
    );
    const audit = await cp.call('GET', `/api/v1/audit?targetType=client&targetId=${patched.body.id}`);
    assert.equal(audit.body[0].action, 'client.update');
    assert.equal(audit.body[0].before.slaTarget, 0.999);
    assert.equal(audit.body[0].after.slaTarget, 0.9995);
    assert.match(audit.body[0].actor, /bootstrap-admin \(admin/);
  });

  it('registers an instance with its services and serves them as http_sd probe targets', async () => {
    const created = await cp.call('POST', '/api/v1/instances', {
      body: instanceBody('smile-dental', 'smile-prod', { metricsUrl: 'http://10.1.0.7:9464/metrics' }),
    });
    assert.equal(created.status, 201, created.text);
    assert.equal(created.body.client.slug, 'smile-dental');
    assert.equal(created.body.services.length, 4);
    assert.deepEqual(created.body.services[0].probe, {
      type: 'http',
      url: 'https://smile-prod.example.test/health',
      expectStatus: 200,
      timeoutMs: 5000,
      healthJson: false,
    });
    const got = await cp.call('GET', '/api/v1/instances/smile-prod');
    assert.deepEqual(got.body, created.body);

    const sd = await cp.call('GET', '/api/v1/sd/probe-targets');
    assert.equal(sd.status, 200);
    assert.equal(sd.body.length, 4);
    const db = sd.body.find((g: { labels: { service: string } }) => g.labels.service === 'database');
    assert.deepEqual(db.targets, ['10.0.0.5:5432']);
    assert.equal(db.labels.client, 'smile-dental');
    assert.equal(db.labels.instance, 'smile-prod');
    assert.equal(db.labels.service_kind, 'database');
    assert.equal(db.labels.__meta_concierge_probe_type, 'tcp');
    const emr = sd.body.find((g: { labels: { service: string } }) => g.labels.service === 'openemr');
    assert.equal(emr.labels.service_kind, 'dependency');
    assert.deepEqual(emr.targets, ['https://emr.example.test/api/health']);

    const scrape = await cp.call('GET', '/api/v1/sd/scrape-targets');
    assert.deepEqual(scrape.body, [
      {
        targets: ['10.1.0.7:9464'],
        labels: {
          client: 'smile-dental',
          instance: 'smile-prod',
          environment: 'prod',
          __scheme__: 'http',
          __metrics_path__: '/metrics',
        },
      },
    ]);
  });

  it("replaces an instance's services on update", async () => {
    const r = await cp.call('PATCH', '/api/v1/instances/smile-prod', {
      body: {
        services: [
          { name: 'backend', kind: 'backend', probe: { type: 'tcp', host: '10.0.0.9', port: 8000 } },
        ],
      },
    });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(
      r.body.services.map((s: { name: string }) => s.name),
      ['backend'],
    );
    assert.equal((await cp.call('GET', '/api/v1/sd/probe-targets')).body.length, 1);
  });

  it('decommissions a client: its instances leave service discovery but keep their history', async () => {
    const r = await cp.call('POST', '/api/v1/clients/smile-dental/decommission');
    assert.equal(r.status, 200);
    assert.equal(r.body.status, 'decommissioned');
    assert.deepEqual((await cp.call('GET', '/api/v1/sd/probe-targets')).body, []);
    const inst = await cp.call('GET', '/api/v1/instances/smile-prod');
    assert.equal(inst.body.status, 'decommissioned');
    assert.equal((await cp.call('GET', '/api/v1/instances')).body.length, 0);
    assert.equal((await cp.call('GET', '/api/v1/instances?status=all')).body.length, 1);
    const again = await cp.call('POST', '/api/v1/instances', {
      body: instanceBody('smile-dental', 'smile-new'),
    });
    assert.equal(again.status, 400);
    assert.equal(again.body.errors[0].field, '/client');
  });

  it('decommissions a single instance', async () => {
    await cp.call('POST', '/api/v1/clients', { body: clientBody('lake-clinic') });
    await cp.call('POST', '/api/v1/instances', { body: instanceBody('lake-clinic', 'lake-prod') });
    const r = await cp.call('POST', '/api/v1/instances/lake-prod/decommission');
    assert.equal(r.status, 200);
    assert.equal(r.body.status, 'decommissioned');
    assert.deepEqual((await cp.call('GET', '/api/v1/sd/probe-targets')).body, []);
  });

  it('refuses a second client or instance with a taken slug with 409', async () => {
    const r = await cp.call('POST', '/api/v1/clients', { body: clientBody('lake-clinic') });
    assert.equal(r.status, 409);
    assert.equal(r.headers.get('content-type'), 'application/problem+json; charset=utf-8');
    const i = await cp.call('POST', '/api/v1/instances', { body: instanceBody('lake-clinic', 'lake-prod') });
    assert.equal(i.status, 409);
  });

  it('creates, lists and revokes tokens; the secret is shown once and only its hash is stored', async () => {
    const created = await cp.call('POST', '/api/v1/tokens', {
      body: { name: 'grafana-reader', role: 'operator' },
    });
    assert.equal(created.status, 201);
    assert.match(created.body.token, /^cop_[A-Za-z0-9_-]{43}$/);
    const listed = await cp.call('GET', '/api/v1/tokens');
    assert.ok(!listed.text.includes(created.body.token));
    const { rows } = await cp.db.query('select token_hash from api_tokens where id = $1', [created.body.id]);
    assert.equal(rows[0].token_hash.length, 32);
    assert.equal((await cp.call('GET', '/api/v1/clients', { token: created.body.token })).status, 200);
    const revoked = await cp.call('POST', `/api/v1/tokens/${created.body.id}/revoke`);
    assert.ok(revoked.body.revokedAt);
    assert.equal((await cp.call('GET', '/api/v1/clients', { token: created.body.token })).status, 401);
  });

  it('refuses a token revoked by another replica (here: in the database) within 5 seconds', async () => {
    const created = await cp.call('POST', '/api/v1/tokens', {
      body: { name: 'elsewhere', role: 'operator' },
    });
    const use = async () => (await cp.call('GET', '/api/v1/clients', { token: created.body.token })).status;
    assert.equal(await use(), 200);
    await cp.db.query('update api_tokens set revoked_at = now() where id = $1', [created.body.id]);
    const revokedAt = Date.now();
    let status = await use();
    while (status === 200 && Date.now() - revokedAt < 7_000) {
      await new Promise((r) => setTimeout(r, 250));
      status = await use();
    }
    assert.equal(status, 401);
    assert.ok(Date.now() - revokedAt <= 5_500, `still accepted ${Date.now() - revokedAt} ms after`);
  });
});
