import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { DateTime } from 'luxon';
import {
  clientBody,
  instanceBody,
  startControlPlane,
  type TestControlPlane,
} from '../helpers/control-plane.ts';
import { startPrometheus, query, type Proc } from '../helpers/stack.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('report performance and morning-report certificates from a real Prometheus', () => {
  let cp: TestControlPlane;
  let prom: Proc;
  let target: http.Server;
  let k = 0;
  const certSoon = Math.floor(Date.now() / 1000) + 10 * 86400;

  before(async function () {
    this.timeout(90_000);
    // A concierge runtime's pull endpoint: per scrape, 100 requests (10 errors) and 100 AI turns, half within
    // 0.5 s, 90 within 1 s, all within 2 s; and the prober's certificate expiry for two services.
    target = http.createServer((_req, res) => {
      k++;
      const n = 100 * k;
      res.setHeader('Content-Type', 'text/plain; version=0.0.4');
      res.end(
        [
          '# TYPE concierge_requests_total counter',
          `concierge_requests_total{channel="sms",outcome="ok"} ${0.9 * n}`,
          `concierge_requests_total{channel="sms",outcome="error"} ${0.1 * n}`,
          '# TYPE concierge_ai_turn_duration_seconds histogram',
          `concierge_ai_turn_duration_seconds_bucket{channel="sms",outcome="ok",le="0.5"} ${0.5 * n}`,
          `concierge_ai_turn_duration_seconds_bucket{channel="sms",outcome="ok",le="1"} ${0.9 * n}`,
          `concierge_ai_turn_duration_seconds_bucket{channel="sms",outcome="ok",le="2"} ${n}`,
          `concierge_ai_turn_duration_seconds_bucket{channel="sms",outcome="ok",le="+Inf"} ${n}`,
          `concierge_ai_turn_duration_seconds_sum{channel="sms",outcome="ok"} ${0.7 * n}`,
          `concierge_ai_turn_duration_seconds_count{channel="sms",outcome="ok"} ${n}`,
          '# TYPE probe_ssl_earliest_cert_expiry gauge',
          `probe_ssl_earliest_cert_expiry{instance="perf-prod",service="proxy"} ${certSoon}`,
          `probe_ssl_earliest_cert_expiry{instance="perf-prod",service="backend"} ${certSoon + 60 * 86400}`,
          `probe_ssl_earliest_cert_expiry{instance="perf-prod",service="edge"} ${certSoon + 60 * 86400}`,
          // edge warns 90 days ahead (its probe's tlsExpiry), backend 21; proxy sets none (21 days).
          '# TYPE probe_tls_expiry_warning_threshold_seconds gauge',
          `probe_tls_expiry_warning_threshold_seconds{instance="perf-prod",service="edge"} ${90 * 86400}`,
          `probe_tls_expiry_warning_threshold_seconds{instance="perf-prod",service="backend"} ${21 * 86400}`,
          '',
        ].join('\n'),
      );
    });
    await new Promise<void>((r) => target.listen(0, '127.0.0.1', () => r()));
    const port = (target.address() as AddressInfo).port;
    prom = await startPrometheus(`
global: { scrape_interval: 1s }
scrape_configs:
  - job_name: concierge
    honor_labels: true
    static_configs:
      - targets: ['127.0.0.1:${port}']
        labels: { client: perf }
`);
    cp = await startControlPlane({ WORKERS: 'off', PROMETHEUS_URL: prom.url });
    await cp.call('POST', '/api/v1/clients', { body: clientBody('perf') });
    await cp.call('POST', '/api/v1/instances', { body: instanceBody('perf', 'perf-prod') });
    // Enough scrapes for increase() over the month so far.
    for (let i = 0; i < 60; i++) {
      const r = await query(prom, 'count_over_time(concierge_requests_total{outcome="ok"}[1m])');
      if (Number(r[0]?.value[1] ?? 0) >= 5) break;
      await sleep(500);
    }
  });
  after(async () => {
    await cp?.close();
    await prom?.stop();
    target?.close();
  });

  it('gives p50, p95 and the error rate of the month so far', async () => {
    const month = DateTime.now().setZone('America/New_York').toFormat('yyyy-MM');
    const r = await cp.call('GET', `/api/v1/clients/perf/reports/${month}.json`);
    assert.equal(r.status, 200, r.text);
    const p = r.body.performance;
    assert.equal(p.available, true, JSON.stringify(p));
    assert.equal(p.source, 'prometheus');
    // histogram_quantile interpolates inside buckets: rank 50 of 100 ends the first bucket (0.5 s); rank 95 is
    // half-way through (1, 2].
    assert.ok(Math.abs(p.p50Seconds - 0.5) < 1e-9, String(p.p50Seconds));
    assert.ok(Math.abs(p.p95Seconds - 1.5) < 1e-9, String(p.p95Seconds));
    assert.ok(Math.abs(p.errorRate - 0.1) < 1e-9, String(p.errorRate));
    assert.ok(p.requests > 0);
    const html = await cp.call('GET', `/api/v1/clients/perf/reports/${month}.html`);
    assert.match(
      html.text,
      /Response latency p50 0\.500 s, p95 1\.500 s; error rate 10\.00 % of \d+ requests\./,
    );
  });

  it('says not available for a client Prometheus knows nothing of', async () => {
    await cp.call('POST', '/api/v1/clients', { body: clientBody('silent') });
    const r = await cp.call(
      'GET',
      `/api/v1/clients/silent/reports/${DateTime.now().toFormat('yyyy-MM')}.json`,
    );
    assert.deepEqual(r.body.performance, {
      available: false,
      reason: 'Prometheus holds no request data for this month',
    });
  });

  it("the morning report lists certificates within their service's warning threshold (21 days unset)", async () => {
    const d = await cp.call('GET', '/api/v1/ops/daily');
    assert.equal(d.status, 200, d.text);
    assert.deepEqual(d.body.certificates, {
      available: true,
      expiring: [
        {
          client: 'perf',
          instance: 'perf-prod',
          service: 'proxy',
          expiresAt: new Date(certSoon * 1000).toISOString(),
        },
        {
          client: 'perf',
          instance: 'perf-prod',
          service: 'edge',
          expiresAt: new Date((certSoon + 60 * 86400) * 1000).toISOString(),
        },
      ],
    });
    assert.equal(d.body.deniedRequests.source, 'prometheus');
  });
});
