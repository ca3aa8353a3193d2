import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { FleetProber } from '../../exporters/fleet-prober/src/prober.ts';
import { selfSignedCert, waitFor } from '../../exporters/fleet-prober/testing/stand-ins.ts';
import { clientBody, startControlPlane, type TestControlPlane } from '../helpers/control-plane.ts';
import { REPO, query, startPrometheus, type Proc } from '../helpers/stack.ts';

/**
 * Per-service certificate thresholds end to end: set through the API, served to the prober, exported beside the
 * expiry, and compared by the repo's CertificateExpiring rule in a real Prometheus. One certificate (45 days
 * left) serves three services: one whose thresholds are 60/50 days, one with 30/10, one with none (21/7).
 */
describe('CertificateExpiring follows each service’s own thresholds (API -> prober -> Prometheus)', function () {
  this.timeout(120_000);
  let cp: TestControlPlane;
  let prober: FleetProber;
  let prom: Proc;
  let tmp: string;
  let server: https.Server;

  before(async () => {
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'cert-thresholds-'));
    const pem = selfSignedCert(tmp, 45);
    server = https.createServer({ key: pem.key, cert: pem.cert }, (_req, res) => res.end('ok'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    cp = await startControlPlane({ WORKERS: 'off' });
    await cp.call('POST', '/api/v1/clients', { body: clientBody('cert-dental') });
    const edge = (name: string, tlsExpiry?: { warningDays: number; criticalDays: number }) => ({
      name,
      kind: 'proxy',
      probe: { type: 'http', url, ...(tlsExpiry ? { tlsExpiry } : {}) },
    });
    const created = await cp.call('POST', '/api/v1/instances', {
      body: {
        client: 'cert-dental',
        slug: 'cert-prod',
        environment: 'prod',
        baseUrl: url,
        services: [
          edge('strict', { warningDays: 60, criticalDays: 50 }),
          edge('relaxed', { warningDays: 30, criticalDays: 10 }),
          edge('unset'),
        ],
      },
    });
    assert.equal(created.status, 201, created.text);
    prober = new FleetProber({
      controlPlaneUrl: cp.url,
      token: await cp.token('prober'),
      proberId: 'cert-prober',
      port: 0,
      host: '127.0.0.1',
      probeIntervalSeconds: 0.5,
      sdRefreshSeconds: 0.5,
      stateDir: tmp,
      tlsCa: pem.cert,
      defaultMetrics: false,
    });
    await prober.start();
    // The repo's fleet rules, with `for: 15m` cut to seconds.
    const rules = (await fs.readFile(path.join(REPO, 'prometheus/rules/fleet.yml'), 'utf8')).replace(
      /for: \d+m/g,
      'for: 2s',
    );
    prom = await startPrometheus(
      [
        'global: {scrape_interval: 1s, evaluation_interval: 1s}',
        'rule_files: [fleet.yml]',
        'scrape_configs:',
        `  - {job_name: fleet-prober, honor_labels: true, static_configs: [{targets: ['127.0.0.1:${prober.port}']}]}`,
      ].join('\n'),
      { 'fleet.yml': rules },
    );
  });

  after(async () => {
    await prom?.stop();
    await prober?.stop();
    server?.closeAllConnections();
    server?.close();
    await cp?.close();
    await fs.rm(tmp, { recursive: true, force: true });
  });

  it('warns and pages for the 60/50-day service only', async () => {
    const firing = async () =>
      (await query(prom, 'ALERTS{alertname="CertificateExpiring", alertstate="firing"}'))
        .map((r) => `${r.metric.service} ${r.metric.severity}`)
        .sort();
    const alerts = await waitFor('CertificateExpiring to fire', async () => {
      const now = await firing();
      return now.length >= 2 ? now : undefined;
    });
    assert.deepEqual(alerts, ['strict critical', 'strict warning']);
    // Every service has been scraped with its expiry for longer than `for`: none of the others is pending.
    const expiries = await query(prom, 'probe_ssl_earliest_cert_expiry{instance="cert-prod"}');
    assert.equal(expiries.length, 3);
    await new Promise((r) => setTimeout(r, 3000));
    assert.deepEqual(await firing(), ['strict critical', 'strict warning']);
    const pending = await query(prom, 'ALERTS{alertname="CertificateExpiring", alertstate="pending"}');
    assert.deepEqual(pending, []);
  });
});
