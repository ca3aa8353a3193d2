/**
 * The console's incident actions and fleet pages over plain HTTP (no browser): hostile input, other roles,
 * unknown ids and bad filters, and the API's instance paging that the fleet page shares.
 */
import assert from 'node:assert/strict';
import {
  clientBody,
  instanceBody,
  startControlPlane,
  type TestControlPlane,
} from '../helpers/control-plane.ts';
import { onboard, type ConsoleClient } from '../helpers/console.ts';
import { SmtpSink } from '../helpers/smtp-sink.ts';

describe('console incident actions and fleet pages over HTTP', () => {
  let cp: TestControlPlane;
  let sink: SmtpSink;
  let otto: ConsoleClient;
  let code = '';
  let instanceId = '';

  before(async () => {
    sink = await new SmtpSink().start();
    cp = await startControlPlane({
      SMTP_URL: sink.url,
      REPORT_SCHEDULER: 'off',
      WORKER_POLL_INTERVAL_MS: '100',
    });
    await cp.call('POST', '/api/v1/clients', { body: clientBody('acme', { timeZone: 'UTC' }) });
    instanceId = (await cp.call('POST', '/api/v1/instances', { body: instanceBody('acme', 'acme-prod') }))
      .body.id;
    for (const slug of ['acme-a', 'acme-b', 'acme-c'])
      await cp.call('POST', '/api/v1/instances', { body: instanceBody('acme', slug) });
    code = (
      await cp.call('POST', '/api/v1/incidents', {
        body: { client: 'acme', severity: 'warning', title: 'Phones down' },
      })
    ).body.code;
    otto = (await onboard(cp, sink, { email: 'otto@example.test', name: 'Otto', role: 'operator' })).client;
  });
  after(async () => {
    await cp?.close();
    await sink?.stop();
  });

  it('refuses NUL and what a lone surrogate becomes at the field, and changes nothing', async () => {
    await otto.get(`/console/incidents/${code}`);
    const nul = await otto.post(`/console/incidents/${code}/summary`, { publicSummary: 'fixed\u0000' });
    assert.equal(nul.status, 400);
    assert.match(
      nul.html,
      /id="publicSummary-error">Public summary holds a NUL character \(U\+0000\), which cannot be stored\./,
    );
    assert.equal((await cp.call('GET', `/api/v1/incidents/${code}`)).body.publicSummary, null);

    await otto.get(`/console/fleet/instances/${instanceId}`);
    const surrogate = await otto.post(`/console/fleet/instances/${instanceId}/services/0`, {
      'services.0.name': 'backend\ud800',
      'services.0.kind': 'backend',
      'services.0.probe.url': 'https://acme-prod.example.test/health',
    });
    assert.equal(surrogate.status, 400);
    // UTF-8 cannot carry a lone surrogate: it arrives as U+FFFD, which a service name's pattern refuses.
    assert.match(surrogate.html, /id="f-services-0-name-error">The service name must be a name of 1 to 63/);
    assert.match(surrogate.html, /value="backend\uFFFD"/);
    assert.equal((await cp.call('GET', `/api/v1/instances/${instanceId}`)).body.services[0].name, 'backend');

    // The probe settings' fields: a regex keeps what was typed (spaces too), NUL still refused by name.
    await otto.get(`/console/fleet/instances/${instanceId}`);
    const nulRegex = await otto.post(`/console/fleet/instances/${instanceId}/services/0`, {
      'services.0.name': 'backend',
      'services.0.kind': 'backend',
      'services.0.probe.url': 'https://acme-prod.example.test/health',
      'services.0.probe.bodyRegex': ' ok\u0000',
    });
    assert.equal(nulRegex.status, 400);
    assert.match(nulRegex.html, /holds a NUL character \(U\+0000\), which cannot be stored/);
    assert.equal(
      (await cp.call('GET', `/api/v1/instances/${instanceId}`)).body.services[0].probe.bodyRegex,
      undefined,
    );

    const search = await otto.get('/console/fleet?q=%00');
    assert.equal(search.status, 400);
    assert.match(search.html, /Search holds a NUL character/);
  });

  it('names a bad filter at its field, and pages the API like the fleet page', async () => {
    const unknown = await otto.get('/console/fleet?client=nobody');
    assert.equal(unknown.status, 400);
    assert.match(unknown.html, /Client must name a client of the fleet\./);
    const long = await otto.get('/console/fleet?q=' + 'x'.repeat(150));
    assert.equal(long.status, 400);
    assert.match(long.html, /Search must be at most 100 characters long\./);

    const first = await cp.call('GET', '/api/v1/instances?client=acme&limit=2');
    assert.deepEqual(
      first.body.map((i: { slug: string }) => i.slug),
      ['acme-a', 'acme-b'],
    );
    const next = await cp.call('GET', '/api/v1/instances?client=acme&limit=2&after=acme/acme-b');
    assert.deepEqual(
      next.body.map((i: { slug: string }) => i.slug),
      ['acme-c', 'acme-prod'],
    );
    const words = await cp.call('GET', '/api/v1/instances?q=' + encodeURIComponent('ACME-C'));
    assert.deepEqual(
      words.body.map((i: { slug: string }) => i.slug),
      ['acme-c'],
    );
    // A LIKE wildcard is a character like any other.
    assert.deepEqual((await cp.call('GET', '/api/v1/instances?q=%25')).body, []);
    const bad = await cp.call('GET', '/api/v1/instances?limit=0&after=x');
    assert.equal(bad.status, 400);
    assert.deepEqual(bad.body.errors, [
      { field: '/limit', message: 'must be a whole number from 1 to 9999' },
      {
        field: '/after',
        message: 'must be a client name and an instance name joined by /, like smile-dental/smile-prod',
      },
    ]);
  });

  it('answers 404 for an unknown incident or instance and 409 for a resolved incident', async () => {
    await otto.get('/console/fleet');
    const noIncident = await otto.post('/console/incidents/INC-999999/severity', { severity: 'critical' });
    assert.equal(noIncident.status, 404);
    const noInstance = await otto.get('/console/fleet/instances/00000000-0000-4000-8000-000000000000');
    assert.equal(noInstance.status, 404);
    const resolved = (
      await cp.call('POST', '/api/v1/incidents', {
        body: { client: 'acme', severity: 'info', title: 'Done' },
      })
    ).body.code;
    await cp.call('POST', `/api/v1/incidents/${resolved}/resolve`, { body: {} });
    await otto.get(`/console/incidents/${resolved}`);
    const late = await otto.post(`/console/incidents/${resolved}/severity`, { severity: 'critical' });
    assert.equal(late.status, 409);
    assert.match(late.html, /is resolved/);
    assert.equal((await cp.call('GET', `/api/v1/incidents/${resolved}`)).body.severity, 'info');
  });

  it('refuses a form without the CSRF token, and keeps client users out', async () => {
    await otto.get(`/console/incidents/${code}`);
    otto.csrf = 'forged';
    const forged = await otto.post(`/console/incidents/${code}/severity`, { severity: 'critical' });
    assert.equal(forged.status, 403);
    assert.equal((await cp.call('GET', `/api/v1/incidents/${code}`)).body.severity, 'warning');

    const { client: carla } = await onboard(cp, sink, {
      email: 'carla@example.test',
      name: 'Carla',
      role: 'client',
      client: 'acme',
    });
    assert.equal((await carla.get(`/console/fleet/instances/${instanceId}`)).status, 403);
    await carla.get('/console/signin');
    const post = await carla.post(`/console/fleet/instances/${instanceId}/decommission`, {
      confirm: 'acme-prod',
    });
    assert.equal(post.status, 403);
    assert.equal((await cp.call('GET', `/api/v1/instances/${instanceId}`)).body.status, 'active');
  });
});
