import assert from 'node:assert/strict';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { alertPayload, randomFingerprint } from '../helpers/alerts.ts';
import {
  clientBody,
  instanceBody,
  startControlPlane,
  type TestControlPlane,
} from '../helpers/control-plane.ts';

/** Incidents and tenants: what an incident may name, what a client token sees of it, and its JSON's shape. */
describe('incidents across tenants', () => {
  let cp: TestControlPlane;
  let alpha: string;
  let am: string;
  const ids: Record<string, string> = {};
  const tables = ['incidents', 'incident_events', 'notifications', 'audit_log'];
  const counts = () => Promise.all(tables.map((t) => cp.count(t)));

  before(async () => {
    // Workers on: the one-statement opening of an alert's incident is taken only by a process that sends.
    cp = await startControlPlane();
    for (const slug of ['alpha', 'beta']) {
      ids[slug] = (await cp.call('POST', '/api/v1/clients', { body: clientBody(slug) })).body.id;
      const inst = await cp.call('POST', '/api/v1/instances', { body: instanceBody(slug, `${slug}-prod`) });
      assert.equal(inst.status, 201, inst.text);
      ids[`${slug}-prod`] = inst.body.id;
    }
    alpha = await cp.token('client', 'alpha');
    am = await cp.token('alertmanager');
  });
  after(() => cp.close());

  const hook = (body: unknown) => cp.call('POST', '/api/v1/alertmanager/webhook', { token: am, body });
  /** Everything a client token reads about an incident: the list, the incident and its timeline. */
  const clientReads = async (code: string) =>
    [
      await cp.call('GET', '/api/v1/incidents', { token: alpha }),
      await cp.call('GET', `/api/v1/incidents/${code}`, { token: alpha }),
      await cp.call('GET', `/api/v1/incidents/${code}/timeline`, { token: alpha }),
    ].map((r) => {
      assert.equal(r.status, 200, r.text);
      return r.text;
    });

  it("refuses with 400 naming the field an incident opened by hand for one client on another's instance or service", async () => {
    const before = await counts();
    const cases: [Record<string, string>, string][] = [
      [{ client: 'alpha', instance: 'beta-prod' }, '/instance'],
      [{ client: 'alpha', instance: ids['beta-prod']! }, '/instance'],
      [{ client: ids.alpha!, instance: 'beta-prod', service: 'backend' }, '/instance'],
      [{ client: 'alpha', instance: 'no-such-instance' }, '/instance'],
      [{ instance: 'no-such-instance' }, '/instance'],
      [{ client: 'alpha', instance: 'alpha-prod', service: 'no-such-service' }, '/service'],
      [{ client: 'alpha', service: 'no-such-service' }, '/service'],
    ];
    for (const [refs, field] of cases) {
      const r = await cp.call('POST', '/api/v1/incidents', {
        body: { title: 'Phones down', severity: 'warning', ...refs },
      });
      assert.equal(r.status, 400, `${JSON.stringify(refs)}: ${r.text}`);
      assert.equal(r.headers.get('content-type')?.split(';')[0], 'application/problem+json');
      assert.deepEqual(
        r.body.errors.map((e: { field: string }) => e.field),
        [field],
        JSON.stringify(refs),
      );
    }
    assert.deepEqual(await counts(), before);
    const alphaSees = await cp.call('GET', '/api/v1/incidents', { token: alpha });
    assert.ok(!alphaSees.text.includes('beta-prod'), alphaSees.text);
  });

  it("opens by hand on the client's own instance and service, and an instance alone names its client", async () => {
    const own = await cp.call('POST', '/api/v1/incidents', {
      body: {
        title: 'Slow',
        severity: 'info',
        client: 'alpha',
        instance: ids['alpha-prod'],
        service: 'backend',
      },
    });
    assert.equal(own.status, 201, own.text);
    assert.deepEqual(own.body.client, { id: ids.alpha, slug: 'alpha' });
    assert.deepEqual(own.body.instance, { id: ids['alpha-prod'], slug: 'alpha-prod' });
    assert.equal(own.body.service, 'backend');
    const byInstance = await cp.call('POST', '/api/v1/incidents', {
      body: { title: 'Down', severity: 'info', instance: 'beta-prod' },
    });
    assert.equal(byInstance.status, 201, byInstance.text);
    assert.deepEqual(byInstance.body.client, { id: ids.beta, slug: 'beta' });
    assert.equal(byInstance.body.unassigned, false);
    assert.equal(
      (await cp.call('GET', `/api/v1/incidents/${byInstance.body.code}`, { token: alpha })).status,
      404,
    );
  });

  it("opens an alert's incident for its client without another client's instance, and says so on the timeline", async () => {
    // The first delivery for a client takes the usual transaction, later ones the one-statement opening:
    // both keep another client's instance off the incident.
    const warm = await hook(
      alertPayload({
        groupKey: 'g-own',
        client: 'alpha',
        instance: 'alpha-prod',
        fingerprints: [randomFingerprint()],
      }),
    );
    assert.equal(warm.body.opened, true, warm.text);
    for (const [i, client] of ['alpha', ids.alpha!].entries()) {
      const r = await hook(
        alertPayload({
          groupKey: `g-foreign-${i}`,
          client,
          instance: 'beta-prod',
          summary: 'beta-prod backend is not answering',
          fingerprints: [randomFingerprint()],
        }),
      );
      assert.equal(r.status, 200, r.text);
      assert.equal(r.body.opened, true);
      const inc = await cp.call('GET', `/api/v1/incidents/${r.body.incident}`);
      assert.deepEqual(inc.body.client, { id: ids.alpha, slug: 'alpha' });
      assert.equal(inc.body.instance, null);
      // The instance said to be beta's is left out with its service (a service is named within its instance).
      assert.equal(inc.body.service, null);
      const tl = await cp.call('GET', `/api/v1/incidents/${r.body.incident}/timeline`);
      const rejected = tl.body.filter((e: { kind: string }) => e.kind === 'labels_rejected');
      assert.deepEqual(
        rejected.map((e: { detail: { labels: object }; internal: boolean }) => [e.detail.labels, e.internal]),
        [[{ instance: 'beta-prod', service: 'backend' }, true]],
      );
      for (const text of await clientReads(r.body.incident))
        assert.ok(!text.includes('beta-prod') && !text.includes(ids['beta-prod']!), text);
    }
    const own = await cp.call('GET', `/api/v1/incidents/${warm.body.incident}`);
    assert.deepEqual(own.body.instance, { id: ids['alpha-prod'], slug: 'alpha-prod' });
    assert.equal(own.body.service, 'backend');
  });

  it("never shows another client's instance on an incident written before references were checked", async () => {
    const { rows } = await cp.db.query<{ code: string }>(
      `insert into incidents (client_id, instance, severity, source, title)
       values ($1, 'beta-prod', 'warning', 'manual', 'Old') returning code`,
      [ids.alpha],
    );
    const code = rows[0]!.code;
    assert.equal((await cp.call('GET', `/api/v1/incidents/${code}`)).body.instance, null);
    for (const text of await clientReads(code)) assert.ok(!text.includes('beta-prod'), text);
    const byInstance = await cp.call('GET', '/api/v1/incidents?instance=beta-prod', { token: alpha });
    assert.deepEqual(byInstance.body, []);
  });

  it('keeps an unknown service label off the incident, but the instance it is sure of', async () => {
    const r = await hook(
      alertPayload({
        groupKey: 'g-unknown-service',
        client: 'alpha',
        instance: 'alpha-prod',
        service: 'mystery',
        fingerprints: [randomFingerprint()],
      }),
    );
    const inc = await cp.call('GET', `/api/v1/incidents/${r.body.incident}`);
    assert.deepEqual(inc.body.instance, { id: ids['alpha-prod'], slug: 'alpha-prod' });
    assert.equal(inc.body.service, null);
  });

  it('shows a client token only what was written for clients: no internal summary, notes or responders', async () => {
    const r = await hook(
      alertPayload({
        groupKey: 'g-internal',
        client: 'alpha',
        instance: 'alpha-prod',
        summary: 'pg primary 10.1.2.3 out of disk',
        fingerprints: [randomFingerprint()],
      }),
    );
    const code = r.body.incident as string;
    await cp.call('POST', `/api/v1/incidents/${code}/notes`, {
      body: { text: 'paged Olivia on +15550001111', visibility: 'internal' },
    });
    await cp.call('POST', `/api/v1/incidents/${code}/notes`, {
      body: { text: 'Phone answers are delayed; we are on it.', visibility: 'public' },
    });
    await cp.call('POST', `/api/v1/incidents/${code}/ack`, { body: { note: 'Olivia looking at the disk' } });
    const staff = await cp.call('GET', `/api/v1/incidents/${code}`);
    assert.equal(staff.body.summary, 'pg primary 10.1.2.3 out of disk');
    const [list, one, timeline] = await clientReads(code);
    for (const text of [list!, one!, timeline!]) {
      for (const secret of ['10.1.2.3', 'Olivia', '+1555', 'fingerprint', 'bootstrap-admin'])
        assert.ok(!text.includes(secret), `${secret} shown to the client: ${text}`);
    }
    const got = JSON.parse(one!);
    assert.equal('summary' in got, false);
    assert.equal(got.publicSummary, 'Phone answers are delayed; we are on it.');
    assert.equal(got.acknowledgedBy, 'concierge-ops');
    assert.ok(JSON.parse(list!).every((i: object) => !('summary' in i)));
    assert.ok(timeline!.includes('Phone answers are delayed; we are on it.'));
  });

  it("answers incidents in the shape the OpenAPI document gives, with client and instance as {id, slug} like the fleet's", async () => {
    const openapi = (await cp.call('GET', '/api/v1/openapi.json', { token: null })).body;
    const ajv = new Ajv({ strict: false, allErrors: true });
    addFormats.default(ajv);
    const schemaOf = (path: string, status = '200') =>
      ajv.compile(openapi.paths[path].get.responses[status].content['application/json'].schema);
    const one = schemaOf('/api/v1/incidents/{id}');
    const list = schemaOf('/api/v1/incidents');
    const timeline = schemaOf('/api/v1/incidents/{id}/timeline');
    const incidents = await cp.call('GET', '/api/v1/incidents');
    assert.ok(incidents.body.length >= 4);
    for (const [check, body] of [
      [list, incidents.body],
      [list, (await cp.call('GET', '/api/v1/incidents', { token: alpha })).body],
      [one, (await cp.call('GET', `/api/v1/incidents/${incidents.body[0].code}`)).body],
      [timeline, (await cp.call('GET', `/api/v1/incidents/${incidents.body[0].code}/timeline`)).body],
    ] as const)
      assert.ok(check(body), JSON.stringify(check.errors));
    // The same reference an instance's own JSON gives for its client, and maintenance windows for an instance.
    const instance = (await cp.call('GET', '/api/v1/instances/alpha-prod')).body;
    const withInstance = incidents.body.find((i: { instance: unknown }) => i.instance !== null);
    assert.deepEqual(Object.keys(withInstance.instance).sort(), ['id', 'slug']);
    assert.deepEqual(Object.keys(withInstance.client).sort(), Object.keys(instance.client).sort());
    const filtered = await cp.call('GET', `/api/v1/incidents?instance=${ids['alpha-prod']}`);
    assert.ok(filtered.body.length >= 2);
    assert.ok(filtered.body.every((i: { instance: { slug: string } }) => i.instance.slug === 'alpha-prod'));
  });
});
