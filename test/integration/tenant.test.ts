import assert from 'node:assert/strict';
import {
  clientBody,
  instanceBody,
  startControlPlane,
  type TestControlPlane,
} from '../helpers/control-plane.ts';

const ROLES = ['admin', 'operator', 'client', 'alertmanager', 'prober', 'backup-agent'];

describe('authentication, roles and tenant scope', () => {
  let cp: TestControlPlane;
  const tokens: Record<string, string> = {};
  const ids: Record<string, string> = {};
  let openapi: { paths: Record<string, Record<string, { 'x-roles'?: string[] }>> };

  before(async () => {
    // Every role on every route it may not call, from one address: far beyond a denied-request burst, whose
    // audit record (security-alerts.test.ts) would count as a change here.
    cp = await startControlPlane({ SECURITY_DENIED_BURST: '100000' });
    for (const slug of ['alpha', 'beta']) {
      ids[slug] = (await cp.call('POST', '/api/v1/clients', { body: clientBody(slug) })).body.id;
      ids[`${slug}-prod`] = (
        await cp.call('POST', '/api/v1/instances', { body: instanceBody(slug, `${slug}-prod`) })
      ).body.id;
    }
    for (const role of ROLES) tokens[role] = await cp.token(role, role === 'client' ? 'alpha' : undefined);
    tokens.clientBeta = await cp.token('client', 'beta');
    openapi = (await cp.call('GET', '/api/v1/openapi.json', { token: null })).body;
  });
  after(() => cp.close());

  const secured = () =>
    Object.entries(openapi.paths).flatMap(([path, ops]) =>
      Object.entries(ops)
        .filter(([, op]) => op['x-roles'])
        .map(([method, op]) => ({
          method: method.toUpperCase(),
          path: path.replace(/\{\w+\}/g, ids['beta-prod']!),
          roles: op['x-roles']!,
        })),
    );

  it('answers 401 without a token, with a malformed one and with an unknown one, on every secured route', async () => {
    const routes = secured();
    assert.ok(routes.length >= 12, `only ${routes.length} secured routes found`);
    for (const r of routes) {
      for (const token of [null, 'not a token', 'cop_' + 'x'.repeat(43)]) {
        const res = await cp.call(r.method, r.path, { token, body: r.method === 'GET' ? undefined : {} });
        assert.equal(res.status, 401, `${r.method} ${r.path} with ${String(token)}`);
        assert.equal(res.body.title, 'Unauthorized');
      }
    }
  });

  it('answers 403 to every role a route does not allow, and changes nothing', async () => {
    const before = await cp.count('audit_log');
    for (const r of secured()) {
      for (const role of ROLES.filter((x) => !r.roles.includes(x))) {
        const res = await cp.call(r.method, r.path, {
          token: tokens[role],
          body: r.method === 'GET' ? undefined : {},
        });
        assert.equal(res.status, 403, `${role} on ${r.method} ${r.path}`);
      }
    }
    assert.equal(await cp.count('audit_log'), before);
  });

  it("never shows a client token another client's client or instance: 404 by id and by slug", async () => {
    const alpha = tokens.client!;
    for (const path of [
      `/api/v1/clients/${ids.beta}`,
      '/api/v1/clients/beta',
      `/api/v1/instances/${ids['beta-prod']}`,
      '/api/v1/instances/beta-prod',
      '/api/v1/instances?client=beta',
      `/api/v1/instances?client=${ids.beta}`,
    ]) {
      const res = await cp.call('GET', path, { token: alpha });
      assert.equal(res.status, 404, path);
      assert.ok(
        !res.text.includes('beta-prod') && !res.text.includes(ids.beta!),
        `${path} leaked: ${res.text}`,
      );
    }
    // The same 404 as for something that does not exist at all: existence does not leak.
    const missing = await cp.call('GET', '/api/v1/clients/no-such-client', { token: alpha });
    const foreign = await cp.call('GET', '/api/v1/clients/beta', { token: alpha });
    assert.deepEqual({ ...missing.body, detail: '' }, { ...foreign.body, detail: '' });
  });

  it('lets a client token read its own client and instances, and lists only those', async () => {
    const alpha = tokens.client!;
    assert.equal((await cp.call('GET', '/api/v1/clients/alpha', { token: alpha })).status, 200);
    assert.equal((await cp.call('GET', '/api/v1/instances/alpha-prod', { token: alpha })).status, 200);
    const clients = await cp.call('GET', '/api/v1/clients', { token: alpha });
    assert.deepEqual(
      clients.body.map((c: { slug: string }) => c.slug),
      ['alpha'],
    );
    const instances = await cp.call('GET', '/api/v1/instances?status=all', { token: alpha });
    assert.deepEqual(
      instances.body.map((i: { slug: string }) => i.slug),
      ['alpha-prod'],
    );
    const betaSees = await cp.call('GET', '/api/v1/instances', { token: tokens.clientBeta });
    assert.deepEqual(
      betaSees.body.map((i: { slug: string }) => i.slug),
      ['beta-prod'],
    );
  });

  it('lets the prober read service discovery and nothing else of the fleet', async () => {
    assert.equal((await cp.call('GET', '/api/v1/sd/probe-targets', { token: tokens.prober })).status, 200);
    assert.equal((await cp.call('GET', '/api/v1/clients', { token: tokens.prober })).status, 403);
    assert.equal((await cp.call('GET', '/api/v1/sd/probe-targets', { token: tokens.client })).status, 403);
  });

  it('counts refused requests on /metrics by reason', async () => {
    const metrics = await cp.call('GET', '/metrics');
    const value = (reason: string) =>
      Number(
        new RegExp(`concierge_ops_auth_denied_total\\{reason="${reason}"\\} (\\d+)`).exec(metrics.text)?.[1],
      );
    assert.ok(value('unauthenticated') > 0);
    assert.ok(value('forbidden') > 0);
  });
});
