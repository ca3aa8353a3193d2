/**
 * What issue 26 added to the fleet API, set and cleared through the console's instance page in Debian's
 * Chromium with axe-core: the instance's node_exporter and postgres_exporter URLs, an http service's body
 * checks and certificate expiry thresholds, and a dns service's settings. The API's errors (an unsafe regex,
 * thresholds out of order, a DNS server that is no address) show at their fields, the form keeps what was typed
 * and nothing changes. Screenshots in test/artifacts/console/.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import type { Page } from 'playwright-core';
import type { Chromium } from '../helpers/chromium.ts';
import {
  clientBody,
  instanceBody,
  startControlPlane,
  type TestControlPlane,
} from '../helpers/control-plane.ts';
import { browserSignedIn } from '../helpers/console.ts';
import { SmtpSink } from '../helpers/smtp-sink.ts';
import { fitsPhone, screenshotAndAxe } from '../helpers/axe.ts';

const ARTIFACTS = path.resolve('test/artifacts/console');

describe("the console sets an instance's exporters and its services' probe settings", function () {
  this.timeout(180_000);
  let cp: TestControlPlane;
  let sink: SmtpSink;
  let browser: Chromium;
  let page: Page;
  let instanceId = '';

  const check = (name: string) => screenshotAndAxe(page, ARTIFACTS, name);
  const instance = async () => {
    const r = await cp.call('GET', `/api/v1/instances/${instanceId}`);
    assert.equal(r.status, 200, r.text);
    return r.body as {
      nodeExporterUrl: string | null;
      postgresExporterUrl: string | null;
      metricsUrl: string | null;
      services: { name: string; probe: Record<string, unknown> }[];
    };
  };
  const service = async (name: string) => (await instance()).services.find((s) => s.name === name)!.probe;
  const open = async (anchor = '') => {
    await page.goto(cp.url + `/console/fleet/instances/${instanceId}${anchor}`);
    await page.getByRole('heading', { name: 'smile-dental/smile-prod' }).waitFor();
  };
  /** Saves and waits for the page the form's answer brings (a message on the old page proves nothing). */
  const save = async (button: string) => {
    await page.getByRole('button', { name: button }).click();
    await page.waitForLoadState('load');
  };
  const saveService = (name: string) => save(`Save ${name}`);
  /** The message shown at a field (its `<id>-error`), once the answer's page has it. */
  const fieldError = async (id: string) => {
    const error = page.locator(`#${id}-error`);
    await error.waitFor();
    return error.innerText();
  };

  before(async () => {
    sink = await new SmtpSink().start();
    cp = await startControlPlane({ SMTP_URL: sink.url, REPORT_SCHEDULER: 'off' });
    await cp.call('POST', '/api/v1/clients', { body: clientBody('smile-dental') });
    const body = instanceBody('smile-dental', 'smile-prod', {
      metricsUrl: 'http://10.0.0.4:9464/metrics',
    });
    body.services.push({
      name: 'dns',
      kind: 'dependency',
      probe: { type: 'dns', name: 'smile-prod.example.test', recordType: 'A' },
    } as never);
    const created = await cp.call('POST', '/api/v1/instances', { body });
    assert.equal(created.status, 201, created.text);
    instanceId = created.body.id;
    ({ browser, page } = await browserSignedIn(cp, sink, {
      email: 'otto@ops.example.test',
      name: 'Otto',
      role: 'operator',
    }));
  });
  after(async () => {
    await browser?.close();
    await cp?.close();
    await sink?.stop();
  });

  it('sets and clears the node_exporter and postgres_exporter URLs, a bad one named at its field', async () => {
    await open('#edit');
    const node = page.getByLabel("Host's node_exporter URL (optional)");
    const postgres = page.getByLabel("Database's postgres_exporter URL (optional)");
    await node.fill('ftp://10.0.0.7:9100/metrics');
    await postgres.fill('http://10.0.0.8:9187/metrics');
    await save('Save instance');
    assert.equal(
      await fieldError('f-nodeExporterUrl'),
      'The node_exporter URL must be a URL that starts with http:// or https://.',
    );
    assert.equal(await node.getAttribute('aria-invalid'), 'true');
    assert.equal(await node.inputValue(), 'ftp://10.0.0.7:9100/metrics', 'what was typed stays');
    assert.equal(await postgres.inputValue(), 'http://10.0.0.8:9187/metrics');
    const unchanged = await instance();
    assert.equal(unchanged.nodeExporterUrl, null, 'nothing changed');
    assert.equal(unchanged.postgresExporterUrl, null, 'nothing changed');
    await check('probes-exporters-error');

    await node.fill('http://10.0.0.7:9100/metrics');
    await save('Save instance');
    await page.getByText('Saved the instance.').waitFor();
    let saved = await instance();
    assert.equal(saved.nodeExporterUrl, 'http://10.0.0.7:9100/metrics');
    assert.equal(saved.postgresExporterUrl, 'http://10.0.0.8:9187/metrics');
    assert.equal(await page.locator('#node-exporter-url').innerText(), 'http://10.0.0.7:9100/metrics');
    await check('probes-exporters');

    await page.getByLabel("Host's node_exporter URL (optional)").fill('');
    await save('Save instance');
    await page.getByText('Saved the instance.').waitFor();
    saved = await instance();
    assert.equal(saved.nodeExporterUrl, null, 'an emptied field removes the endpoint');
    assert.equal(saved.postgresExporterUrl, 'http://10.0.0.8:9187/metrics', 'the other stays');
    assert.equal(saved.metricsUrl, 'http://10.0.0.4:9464/metrics', 'the metrics URL stays');
    assert.equal(await page.locator('#node-exporter-url').innerText(), 'none');
  });

  it("sets an http service's body checks and certificate thresholds, refusing an unsafe regex at its field", async () => {
    await open('#service-0');
    const regex = page.locator('#f-services-0-probe-bodyRegex');
    assert.equal(
      await page.getByLabel('Regular expression the body must match').first().getAttribute('id'),
      'f-services-0-probe-bodyRegex',
      'the field is labelled in words',
    );
    await regex.fill('(a+)+');
    await page.locator('#f-services-0-probe-bodyJson-path').fill('$.checks[0].status');
    await page.locator('#f-services-0-probe-bodyJson-equals').fill('ok');
    await saveService('backend');
    assert.equal(
      await fieldError('f-services-0-probe-bodyRegex'),
      'The regular expression may backtrack catastrophically (nested repetition such as (a+)+, or more than 25 repetitions): simplify it.',
    );
    assert.equal(await regex.getAttribute('aria-invalid'), 'true');
    assert.equal(await regex.inputValue(), '(a+)+', 'what was typed stays');
    assert.equal(await page.locator('#f-services-0-probe-bodyJson-path').inputValue(), '$.checks[0].status');
    const before = await service('backend');
    assert.equal(before.bodyRegex, undefined, 'nothing changed');
    assert.equal(before.bodyJson, undefined, 'nothing changed');
    await check('probes-http-regex-error');

    // Thresholds out of order: the fleet service's own check, at the critical field.
    await regex.fill('"status": ?"ok"');
    await page.locator('#f-services-0-probe-tlsExpiry-warningDays').fill('10');
    await page.locator('#f-services-0-probe-tlsExpiry-criticalDays').fill('10');
    await saveService('backend');
    assert.equal(
      await fieldError('f-services-0-probe-tlsExpiry-criticalDays'),
      'The critical days must be fewer days than warningDays.',
    );
    assert.equal((await service('backend')).tlsExpiry, undefined, 'nothing changed');

    await page.locator('#f-services-0-probe-tlsExpiry-warningDays').fill('30');
    await saveService('backend');
    await page.getByText('Saved the service.').waitFor();
    const saved = await service('backend');
    assert.equal(saved.bodyRegex, '"status": ?"ok"');
    assert.deepEqual(saved.bodyJson, { path: '$.checks[0].status', equals: 'ok' });
    assert.deepEqual(saved.tlsExpiry, { warningDays: 30, criticalDays: 10 });
    assert.equal(saved.url, 'https://smile-prod.example.test/health', 'the URL stays');
    assert.equal(await page.locator('#f-services-0-probe-bodyJson-equals').inputValue(), 'ok');
    await check('probes-http');
    await fitsPhone(page, ARTIFACTS, 'probes-http-phone');

    // A number is a number ("200" in quotes would be text); then every setting cleared.
    await page.locator('#f-services-0-probe-bodyJson-equals').fill('200');
    await saveService('backend');
    await page.getByText('Saved the service.').waitFor();
    assert.deepEqual((await service('backend')).bodyJson, { path: '$.checks[0].status', equals: 200 });
    for (const f of [
      'bodyRegex',
      'bodyJson-path',
      'bodyJson-equals',
      'tlsExpiry-warningDays',
      'tlsExpiry-criticalDays',
    ])
      await page.locator(`#f-services-0-probe-${f}`).fill('');
    await saveService('backend');
    await page.getByText('Saved the service.').waitFor();
    const cleared = await service('backend');
    for (const k of ['bodyRegex', 'bodyJson', 'tlsExpiry'])
      assert.equal(cleared[k], undefined, `${k} cleared`);
    assert.equal(cleared.expectStatus, 200);
  });

  it("sets a dns service's record type, server and expected answer, a bad server named at its field", async () => {
    await open('#service-4');
    await page.getByLabel('Record type').selectOption('MX');
    const server = page.getByLabel("DNS server to ask (optional; empty: the prober host's)");
    await server.fill('1.2.3');
    await page
      .getByLabel('An answer that must be among those returned (optional; empty: any answer)')
      .fill('mail.smile-prod.example.test');
    await saveService('dns');
    assert.equal(
      await fieldError('f-services-4-probe-server'),
      'The DNS server must be an IP address, optionally with :port (IPv6 as [address]:port).',
    );
    assert.equal(await server.inputValue(), '1.2.3', 'what was typed stays');
    assert.equal(await page.getByLabel('Record type').inputValue(), 'MX', 'the choice stays');
    assert.deepEqual(
      await service('dns'),
      { type: 'dns', name: 'smile-prod.example.test', recordType: 'A', timeoutMs: 5000 },
      'nothing changed',
    );
    await check('probes-dns-error');

    await server.fill('[2001:db8::53]:5353');
    await saveService('dns');
    await page.getByText('Saved the service.').waitFor();
    assert.deepEqual(await service('dns'), {
      type: 'dns',
      name: 'smile-prod.example.test',
      recordType: 'MX',
      server: '[2001:db8::53]:5353',
      expect: 'mail.smile-prod.example.test',
      timeoutMs: 5000,
    });
    await check('probes-dns');

    await page.getByLabel("DNS server to ask (optional; empty: the prober host's)").fill('');
    await page
      .getByLabel('An answer that must be among those returned (optional; empty: any answer)')
      .fill('');
    await saveService('dns');
    await page.getByText('Saved the service.').waitFor();
    assert.deepEqual(await service('dns'), {
      type: 'dns',
      name: 'smile-prod.example.test',
      recordType: 'MX',
      timeoutMs: 5000,
    });
  });
});
