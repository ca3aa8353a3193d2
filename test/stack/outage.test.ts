import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { FleetProber } from '../../exporters/fleet-prober/src/prober.ts';
import { waitFor } from '../../exporters/fleet-prober/testing/stand-ins.ts';
import { clientBody, startControlPlane, type TestControlPlane } from '../helpers/control-plane.ts';
import { REPO, query, startAlertmanager, startPrometheus, type Proc } from '../helpers/stack.ts';

/** The repo's Alertmanager config, pointed at this test's control plane, with short waits. */
async function alertmanagerConfig(cpUrl: string, tokenFile: string): Promise<string> {
  return (await fs.readFile(path.join(REPO, 'alertmanager/alertmanager.yml'), 'utf8'))
    .replaceAll('http://control-plane:8080', cpUrl)
    .replaceAll('/etc/concierge-ops/secrets/alertmanager.token', tokenFile)
    .replace(/group_wait: \d+s/g, 'group_wait: 1s')
    .replace(/group_interval: \d+m/g, 'group_interval: 2s');
}

describe('an outage end to end: prober -> Prometheus -> Alertmanager -> control plane', function () {
  this.timeout(180_000);
  let cp: TestControlPlane;
  let prober: FleetProber;
  let prom: Proc;
  let am: Proc;
  let tmp: string;
  let service: http.Server;
  let servicePort: number;
  const listen = (port = 0) =>
    new Promise<http.Server>((resolve) => {
      const s = http.createServer((_req, res) => res.end('ok'));
      s.listen(port, '127.0.0.1', () => resolve(s));
    });

  before(async () => {
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'outage-'));
    service = await listen();
    servicePort = (service.address() as AddressInfo).port;
    cp = await startControlPlane();
    await cp.call('POST', '/api/v1/clients', { body: clientBody('e2e-dental') });
    const url = `http://127.0.0.1:${servicePort}/`;
    const created = await cp.call('POST', '/api/v1/instances', {
      body: {
        client: 'e2e-dental',
        slug: 'e2e-prod',
        environment: 'prod',
        baseUrl: url,
        services: [
          { name: 'backend', kind: 'backend', probe: { type: 'http', url: url + 'health' } },
          { name: 'proxy', kind: 'proxy', probe: { type: 'http', url } },
        ],
      },
    });
    assert.equal(created.status, 201, created.text);
    const amTokenFile = path.join(tmp, 'am.token');
    await fs.writeFile(amTokenFile, await cp.token('alertmanager'));
    prober = new FleetProber({
      controlPlaneUrl: cp.url,
      token: await cp.token('prober'),
      proberId: 'e2e-prober',
      port: 0,
      host: '127.0.0.1',
      probeIntervalSeconds: 0.5,
      sdRefreshSeconds: 0.5,
      heartbeatSeconds: 0.5,
      downAfter: 2,
      upAfter: 2,
      stateDir: tmp,
      defaultMetrics: false,
    });
    await prober.start();
    am = await startAlertmanager(await alertmanagerConfig(cp.url, amTokenFile));
    // The real fleet rules, with `for: 2m` cut to seconds so the test runs in one minute, not ten.
    const rules = (await fs.readFile(path.join(REPO, 'prometheus/rules/fleet.yml'), 'utf8')).replace(
      /for: \d+m/g,
      'for: 3s',
    );
    prom = await startPrometheus(
      [
        'global: {scrape_interval: 1s, evaluation_interval: 1s}',
        'rule_files: [fleet.yml]',
        `alerting: {alertmanagers: [{static_configs: [{targets: ['${new URL(am.url).host}']}]}]}`,
        'scrape_configs:',
        `  - {job_name: fleet-prober, honor_labels: true, static_configs: [{targets: ['127.0.0.1:${prober.port}']}]}`,
      ].join('\n'),
      { 'fleet.yml': rules },
    );
  });

  after(async () => {
    await prom?.stop();
    await am?.stop();
    await prober?.stop();
    service?.closeAllConnections();
    service?.close();
    await cp?.close();
    await fs.rm(tmp, { recursive: true, force: true });
  });

  it('records the downtime, opens an incident, and resolves both when the instance comes back', async () => {
    await waitFor('Prometheus to see the instance up', async () => {
      const r = await query(prom, 'probe_success{instance="e2e-prod",service="backend"} == 1');
      return r.length === 1;
    });
    await new Promise((r) => setTimeout(r, 3000)); // some up time before the outage, for the SLA
    const from = new Date(Date.now() - 3000);

    service.closeAllConnections();
    await new Promise((r) => service.close(r));

    const down = await waitFor('the control plane to record the downtime', async () => {
      const a = await cp.call('GET', '/api/v1/instances/e2e-prod/availability');
      return a.body.intervals.find(
        (i: { service: string; end: string | null }) => i.service === 'backend' && !i.end,
      );
    });
    assert.equal(down.state, 'down');
    assert.equal(down.source, 'prober');
    const incident = await waitFor(
      'InstanceDown to reach the control plane as an incident',
      async () => {
        const list = await cp.call('GET', '/api/v1/incidents?client=e2e-dental');
        return list.body.find((i: { instance: { slug: string } | null }) => i.instance?.slug === 'e2e-prod');
      },
      60_000,
    );
    assert.equal(incident.severity, 'critical');
    assert.equal(incident.client.slug, 'e2e-dental');
    const alerts = await query(prom, 'ALERTS{alertname="InstanceDown",alertstate="firing"}');
    assert.equal(alerts.length, 1);

    service = await listen(servicePort);
    await waitFor('the downtime interval to close', async () => {
      const a = await cp.call('GET', '/api/v1/instances/e2e-prod/availability');
      return a.body.intervals.every((i: { end: string | null }) => i.end !== null);
    });
    const resolved = await waitFor(
      'the incident to resolve when Alertmanager sends resolved',
      async () => {
        const got = await cp.call('GET', `/api/v1/incidents/${incident.id}`);
        return got.body.status === 'resolved' ? got.body : undefined;
      },
      60_000,
    );
    assert.ok(resolved.resolvedAt);

    // The control plane's SLA over the window agrees with Prometheus's own view of the same probes,
    // within the share of a probe plus a scrape interval at each edge of the outage.
    await new Promise((r) => setTimeout(r, 2000));
    const to = new Date();
    const windowSeconds = Math.floor((to.getTime() - from.getTime()) / 1000);
    const sla = await cp.call(
      'GET',
      `/api/v1/instances/e2e-prod/sla?from=${from.toISOString()}&to=${to.toISOString()}`,
    );
    assert.equal(sla.status, 200, sla.text);
    const promView = await query(
      prom,
      `avg_over_time((min by (instance) (probe_success{instance="e2e-prod",service_kind!="dependency"}))[${windowSeconds}s:1s])`,
      to,
    );
    const promUptime = Number(promView[0]!.value[1]);
    const cpUptime = sla.body.uptime as number;
    assert.ok(sla.body.downtimeSeconds > 0, JSON.stringify(sla.body));
    const tolerance = (2 * (0.5 + 1)) / windowSeconds;
    assert.ok(
      Math.abs(cpUptime - promUptime) <= tolerance,
      `control plane ${cpUptime} vs Prometheus ${promUptime} over ${windowSeconds}s (tolerance ${tolerance})`,
    );
  });
});
