/**
 * Runs every dashboard query whose data comes from the fleet prober, Prometheus or Alertmanager against a real
 * Prometheus that scraped a real FleetProber (probing loopback services) and a real Alertmanager, with the
 * project's rule files loaded. A query that comes back empty fails, naming dashboard, panel and query.
 *
 * Queries that read the backup exporter, the concierge runtime or the control plane are NOT checked here
 * (those processes are not started); the test lists them so nobody mistakes them for passed.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FleetProber } from '../../exporters/fleet-prober/src/prober.ts';
import {
  ControlPlaneStandIn,
  sdGroup,
  selfSignedCert,
  waitFor,
} from '../../exporters/fleet-prober/testing/stand-ins.ts';
import { buildDashboards } from '../../grafana/src/dashboards.ts';
import { metricNames, queriesOf, substitute, variableSelector, variablesOf } from '../helpers/dashboards.ts';
import { requireTool } from '../helpers/tools.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const TOKEN = 'dashboards-stack-test-token';
const HEALTHY = JSON.stringify({
  status: 'ok',
  components: { openemr: { status: 'up' }, twilio: { status: 'up' }, voice_ai: { status: 'up' } },
});

type Source =
  'fleet prober' | 'prometheus' | 'alertmanager' | 'backup exporter' | 'control plane' | 'concierge runtime';
const STARTED = new Set<Source>(['fleet prober', 'prometheus', 'alertmanager']);

/** Which process produces a metric (recorded slo:* series are computed from the prober's probe_success). */
function sourceOf(metric: string): Source {
  if (/^(probe_|prober_|slo:)/.test(metric)) return 'fleet prober';
  if (/^(up|scrape_duration_seconds|ALERTS|prometheus_.*)$/.test(metric)) return 'prometheus';
  if (metric.startsWith('alertmanager_')) return 'alertmanager';
  if (metric.startsWith('backup_')) return 'backup exporter';
  if (metric.startsWith('concierge_ops_')) return 'control plane';
  return 'concierge runtime';
}

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise((r) => srv.close(r));
  return port;
}

function serve(status: number, body: string, tls?: { key: string; cert: string }): Promise<http.Server> {
  const handler: http.RequestListener = (_req, res) =>
    res.writeHead(status, { 'content-type': 'application/json' }).end(body);
  const server = tls ? https.createServer(tls, handler) : http.createServer(handler);
  return new Promise((r) => server.listen(0, '127.0.0.1', () => r(server)));
}

function portOf(s: http.Server): number {
  return (s.address() as net.AddressInfo).port;
}

interface PromResponse {
  status: string;
  error?: string;
  data?: { resultType: string; result: unknown[] | [number, string] };
}

describe('dashboards against a real Prometheus (prober, Prometheus, Alertmanager)', function () {
  this.timeout(120_000);
  const dir = mkdtempSync(join(tmpdir(), 'dashboards-stack-'));
  const procs: ChildProcess[] = [];
  const servers: http.Server[] = [];
  let cp: ControlPlaneStandIn;
  let prober: FleetProber;
  let promUrl = '';
  const procLog: string[] = [];

  async function promQuery(expr: string): Promise<PromResponse> {
    const res = await fetch(`${promUrl}/api/v1/query`, {
      method: 'POST',
      body: new URLSearchParams({ query: expr }),
    });
    return (await res.json()) as PromResponse;
  }

  function start(bin: string, args: string[]): void {
    const p = spawn(requireTool(bin), args, { stdio: ['ignore', 'pipe', 'pipe'] });
    p.stdout?.on('data', (d: Buffer) => procLog.push(d.toString()));
    p.stderr?.on('data', (d: Buffer) => procLog.push(d.toString()));
    procs.push(p);
  }

  before(async () => {
    requireTool('prometheus');
    requireTool('prometheus-alertmanager');
    // Two client instances: acme healthy (its backend over https, so certificate expiry is measured, with
    // OpenEMR, Twilio and voice AI in its health JSON); globex with a failing proxy, so burn-rate alerts fire.
    const pem = selfSignedCert(dir, 30);
    const acmeBackend = await serve(200, HEALTHY, pem);
    const acmeProxy = await serve(200, 'ok');
    const globexBackend = await serve(200, HEALTHY);
    const globexProxy = await serve(503, 'unavailable');
    servers.push(acmeBackend, acmeProxy, globexBackend, globexProxy);
    cp = new ControlPlaneStandIn(TOKEN);
    await cp.start();
    cp.groups = [
      sdGroup({
        instanceId: randomUUID(),
        service: 'backend',
        target: `https://127.0.0.1:${portOf(acmeBackend)}/health`,
        healthJson: true,
      }),
      sdGroup({
        instanceId: randomUUID(),
        service: 'proxy',
        kind: 'proxy',
        target: `http://127.0.0.1:${portOf(acmeProxy)}/`,
      }),
      sdGroup({
        instanceId: randomUUID(),
        client: 'globex',
        service: 'backend',
        target: `http://127.0.0.1:${portOf(globexBackend)}/health`,
        healthJson: true,
      }),
      sdGroup({
        instanceId: randomUUID(),
        client: 'globex',
        service: 'proxy',
        kind: 'proxy',
        target: `http://127.0.0.1:${portOf(globexProxy)}/`,
      }),
      // A malformed group, as a broken SD entry would be: the prober skips it and counts an sd_invalid error,
      // which is what the "Prober errors" panel shows.
      { targets: [], labels: { client: 'broken' } },
    ];
    const quiet = (): void => undefined;
    prober = new FleetProber({
      controlPlaneUrl: cp.url,
      token: TOKEN,
      proberId: 'dashboards-stack',
      port: 0,
      host: '127.0.0.1',
      probeIntervalSeconds: 0.5,
      sdRefreshSeconds: 0.5,
      stateDir: join(dir, 'prober'),
      tlsCa: pem.cert,
      logger: { error: quiet, warn: quiet, info: quiet, debug: quiet },
    });
    await prober.start();

    const amPort = await freePort();
    writeFileSync(
      join(dir, 'alertmanager.yml'),
      'route:\n  receiver: blackhole\nreceivers:\n  - name: blackhole\n',
    );
    start('prometheus-alertmanager', [
      `--config.file=${join(dir, 'alertmanager.yml')}`,
      `--storage.path=${join(dir, 'am-data')}`,
      `--web.listen-address=127.0.0.1:${amPort}`,
      '--cluster.listen-address=',
    ]);

    const promPort = await freePort();
    promUrl = `http://127.0.0.1:${promPort}`;
    const rules = readdirSync(join(ROOT, 'prometheus', 'rules'))
      .filter((f) => f.endsWith('.yml'))
      .map((f) => `  - ${join(ROOT, 'prometheus', 'rules', f)}`);
    // 1s scrape and evaluation: rate() over the dashboards' 1m $__rate_interval has plenty of samples in seconds.
    writeFileSync(
      join(dir, 'prometheus.yml'),
      [
        'global: {scrape_interval: 1s, evaluation_interval: 1s}',
        'rule_files:',
        ...rules,
        'alerting:',
        `  alertmanagers: [{static_configs: [{targets: ['127.0.0.1:${amPort}']}]}]`,
        'scrape_configs:',
        `  - {job_name: prometheus, static_configs: [{targets: ['127.0.0.1:${promPort}']}]}`,
        `  - {job_name: alertmanager, static_configs: [{targets: ['127.0.0.1:${amPort}']}]}`,
        `  - {job_name: fleet-prober, honor_labels: true, static_configs: [{targets: ['127.0.0.1:${prober.port}']}]}`,
        '',
      ].join('\n'),
    );
    start('prometheus', [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'prom-data')}`,
      `--web.listen-address=127.0.0.1:${promPort}`,
    ]);
    // Ready when every source has been scraped a few times and the burn alert (no `for:`) fires.
    await waitFor(
      'Prometheus to scrape the prober, itself and Alertmanager, and evaluate the rules',
      async () => {
        const up = await promQuery('count(up == 1) == 3 and count(count_over_time(probe_success[1m]) > 5)');
        const firing = await promQuery('ALERTS{alertname="ConciergeErrorBudgetBurn", alertstate="firing"}');
        const sent = await promQuery('sum(prometheus_notifications_sent_total) > 0');
        return [up, firing, sent].every((r) => Array.isArray(r.data?.result) && r.data.result.length > 0);
      },
      60_000,
    ).catch((err: unknown) => {
      throw new Error(`${String(err)}\n${procLog.join('').slice(-3000)}`);
    });
  });

  after(async () => {
    await prober?.stop();
    await cp?.stop();
    for (const s of servers) {
      s.closeAllConnections();
      await new Promise((r) => s.close(r));
    }
    for (const p of procs) {
      p.kill('SIGTERM');
      if (p.exitCode === null) await new Promise((r) => p.once('exit', r));
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('resolves the client detail variables from what Prometheus scraped', async () => {
    const d = buildDashboards()['client-detail']!;
    const vars: Record<string, string> = {};
    for (const v of variablesOf(d)) {
      const sel = variableSelector(v);
      assert.ok(sel, `variable ${v.name} is not a label_values query`);
      const label = /,\s*([a-zA-Z_]\w*)\)$/.exec(String(v.query))![1]!;
      const url = `${promUrl}/api/v1/label/${label}/values?${new URLSearchParams({ 'match[]': substitute(sel, vars) })}`;
      const values = ((await (await fetch(url)).json()) as { data: string[] }).data;
      assert.ok(values.length > 0, `client-detail / variable ${v.name}: no values`);
      vars[v.name] = values[0]!;
    }
    assert.deepEqual(vars, { client: 'acme', instance: 'acme-prod' });
  });

  it('returns data for every panel query whose sources run in this test, and lists the rest as not checked', async () => {
    const dashboards = buildDashboards();
    const vars = { client: 'acme', instance: 'acme-prod' };
    const failures: string[] = [];
    const notChecked: string[] = [];
    let checked = 0;
    for (const [name, d] of Object.entries(dashboards)) {
      for (const q of queriesOf(name, d)) {
        const expr = substitute(q.expr, vars);
        const where = `${q.dashboard} / ${q.panel} / ${q.refId}`;
        const missing = [...new Set(metricNames(expr).map(sourceOf))].filter((s) => !STARTED.has(s));
        if (missing.length) {
          notChecked.push(`${where} (needs ${missing.join(', ')})`);
          continue;
        }
        checked++;
        const r = await promQuery(expr);
        if (r.status !== 'success') failures.push(`${where}: ${r.error ?? r.status}`);
        else if (r.data?.resultType === 'vector' && (r.data.result as unknown[]).length === 0)
          failures.push(`${where}: no data for ${expr}`);
      }
    }
    console.log(`      ${checked} queries checked against Prometheus and returned data.`);
    console.log(`      ${notChecked.length} queries NOT checked (their source is not started in this test):`);
    for (const n of notChecked) console.log(`        - ${n}`);
    assert.deepEqual(failures, []);
    assert.ok(checked >= 30, `only ${checked} queries checked`);
  });
});
