import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { FleetProber } from '../../exporters/fleet-prober/src/prober.ts';
import { startControlPlane, type TestControlPlane } from '../helpers/control-plane.ts';
import { REPO, query, startPrometheus, type Proc } from '../helpers/stack.ts';
import { requireTool } from '../helpers/tools.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(
  what: string,
  fn: () => Promise<T | undefined | false>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

describe('npm run demo: the demo fleet', function () {
  this.timeout(120_000);
  let cp: TestControlPlane;
  let token: string;
  let stateDir: string;
  let demo: ChildProcess;
  let out = '';
  let prom: Proc;
  let prober: FleetProber;

  /** `npm run demo -- <args>` as a user types it, against the running demo. */
  const cli = (...args: string[]) =>
    spawnSync('npm', ['run', '--silent', 'demo', '--', ...args], {
      cwd: REPO,
      env: { ...process.env, DEMO_STATE_DIR: stateDir },
      encoding: 'utf8',
    });

  before(async () => {
    requireTool('prometheus');
    cp = await startControlPlane();
    token = await cp.token('operator');
    stateDir = await fs.mkdtemp(path.join(os.tmpdir(), 'demo-'));
    demo = spawn('npm', ['run', 'demo'], {
      cwd: REPO,
      env: {
        ...process.env,
        CONTROL_PLANE_URL: cp.url,
        CONTROL_PLANE_TOKEN: token,
        DEMO_STATE_DIR: stateDir,
        DEMO_INSTANCES: '2',
        DEMO_RPS: '40',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    demo.stdout!.on('data', (d) => (out += d));
    demo.stderr!.on('data', (d) => (out += d));
    await until(
      'demo ready',
      async () => out.includes('demo ready') || (demo.exitCode !== null && Promise.reject()),
      60_000,
    ).catch((e: Error) => {
      throw new Error(`${e.message}\n${out}`);
    });
  });

  after(async () => {
    await prober?.stop();
    await prom?.stop();
    if (demo && demo.exitCode === null) {
      const exited = new Promise((r) => demo.once('exit', r));
      demo.kill('SIGTERM');
      await exited;
    }
    await cp?.close();
    if (stateDir) await fs.rm(stateDir, { recursive: true, force: true });
  });

  it('registers each instance with its services, probe URLs and metrics URL', async () => {
    const list = await cp.call('GET', '/api/v1/instances');
    const demoInstances = (list.body.items ?? list.body) as Array<{
      slug: string;
      client: { slug: string };
      metricsUrl: string;
      services: Array<{ name: string; kind: string; probe: { url: string; healthJson?: boolean } }>;
    }>;
    const bySlug = new Map(demoInstances.map((i) => [i.slug, i]));
    assert.deepEqual([...bySlug.keys()].sort(), ['lakeview-prod', 'riverside-prod']);
    const riverside = bySlug.get('riverside-prod')!;
    assert.equal(riverside.client.slug, 'demo-riverside');
    assert.deepEqual(riverside.services.map((s) => s.name).sort(), ['backend', 'frontend', 'proxy']);
    const backend = riverside.services.find((s) => s.name === 'backend')!;
    assert.equal(backend.probe.healthJson, true);
    const health = await fetch(backend.probe.url);
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), {
      status: 'ok',
      components: { openemr: { status: 'up' }, twilio: { status: 'up' }, voice_ai: { status: 'up' } },
    });
    const metrics = await (await fetch(riverside.metricsUrl)).text();
    assert.match(metrics, /^concierge_requests_total\{channel="(voice|sms|web)",outcome="ok"\} \d+/m);
    const check = spawnSync(requireTool('promtool'), ['check', 'metrics'], {
      input: metrics,
      encoding: 'utf8',
    });
    assert.equal(check.status, 0, check.stdout + check.stderr);
    const web = await fetch(riverside.services.find((s) => s.name === 'proxy')!.probe.url + 'chat');
    assert.equal(web.status, 200);
    // The Faro-instrumented chat page, configured with this instance's app key on the control plane.
    const page = await web.text();
    assert.match(page, /<script src="\/app\.js"/);
    assert.ok(page.includes(`${cp.url}/api/v1/faro/collect/`), 'the page reports to the control plane');
  });

  it('is scraped by a real Prometheus through the control plane and probed by the fleet prober', async () => {
    const tokenFile = path.join(stateDir, 'prom.token');
    await fs.writeFile(tokenFile, token);
    prom = await startPrometheus(
      [
        'global: {scrape_interval: 1s}',
        'scrape_configs:',
        '  - job_name: concierge',
        '    http_sd_configs:',
        `      - url: ${cp.url}/api/v1/sd/scrape-targets`,
        '        refresh_interval: 1s',
        `        authorization: {type: Bearer, credentials_file: ${tokenFile}}`,
      ].join('\n'),
    );
    await until('concierge series in Prometheus', async () => {
      const r = await query(prom, 'sum by (client, instance) (concierge_requests_total)');
      return r.length === 2 && r;
    });
    const proberToken = await cp.token('prober');
    prober = new FleetProber({
      controlPlaneUrl: cp.url,
      token: proberToken,
      proberId: 'demo-test',
      port: 0,
      host: '127.0.0.1',
      probeIntervalSeconds: 0.2,
      sdRefreshSeconds: 0.5,
      heartbeatSeconds: 1,
      downAfter: 2,
      upAfter: 2,
      stateDir: path.join(stateDir, 'prober'),
      reportBackoffMs: { initial: 50, max: 400 },
      defaultMetrics: false,
    });
    await prober.start();
    const proberMetrics = `http://127.0.0.1:${prober.port}/metrics`;
    await until('probes of all six services succeed', async () => {
      const text = await (await fetch(proberMetrics)).text();
      return (text.match(/^probe_success\{[^}]*\} 1$/gm) ?? []).length === 6;
    });
  });

  it('breaks the backend: health fails, the prober reports it down, errors rise in Prometheus; heals it', async () => {
    const errors = async () =>
      Number(
        (await query(prom, 'sum(concierge_requests_total{instance="riverside-prod", outcome="error"})'))[0]
          ?.value[1] ?? 0,
      );
    const before = await errors();
    const res = cli('break', 'riverside-prod', 'backend');
    assert.equal(res.status, 0, res.stderr);
    assert.match(res.stdout, /riverside-prod: health down, broken: backend/);

    const list = await cp.call('GET', '/api/v1/instances/riverside-prod');
    const healthUrl = list.body.services.find((s: { name: string }) => s.name === 'backend').probe
      .url as string;
    const health = await fetch(healthUrl);
    assert.equal(health.status, 503);
    assert.equal(((await health.json()) as { status: string }).status, 'down');

    type State = Array<{ instanceId: string; service: string; state: string }>;
    const backendState = async () =>
      ((await cp.call('GET', '/api/v1/availability/state')).body as State).find(
        (s) => s.instanceId === list.body.id && s.service === 'backend',
      )?.state ?? 'up';
    await until(
      'the control plane to hear backend down from the prober',
      async () => (await backendState()) === 'down',
    );
    await until('errors to rise in Prometheus', async () => (await errors()) > before + 20);

    const healed = cli('heal', 'riverside-prod', 'backend');
    assert.equal(healed.status, 0, healed.stderr);
    assert.match(healed.stdout, /health ok, broken: nothing/);
    assert.equal((await fetch(healthUrl)).status, 200);
    await until('the control plane to hear it is up again', async () => (await backendState()) === 'up');
  });

  it('breaks a dependency: health is degraded with the dependency down, its requests fail in telemetry', async () => {
    const res = cli('break', 'lakeview-prod', 'openemr');
    assert.equal(res.status, 0, res.stderr);
    const inst = (await cp.call('GET', '/api/v1/instances/lakeview-prod')).body;
    const healthUrl = inst.services.find((s: { name: string }) => s.name === 'backend').probe.url as string;
    const health = await fetch(healthUrl);
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), {
      status: 'degraded',
      components: { openemr: { status: 'down' }, twilio: { status: 'up' }, voice_ai: { status: 'up' } },
    });
    await until('failed OpenEMR requests in Prometheus', async () => {
      const r = await query(
        prom,
        'sum(concierge_dependency_request_duration_seconds_count{instance="lakeview-prod", dependency="openemr", outcome=~"error|timeout"})',
      );
      return Number(r[0]?.value[1] ?? 0) > 0;
    });
    await until('the prober to see the dependency down', async () => {
      const text = await (await fetch(`http://127.0.0.1:${prober.port}/metrics`)).text();
      return /probe_dependency_up\{[^}]*instance="lakeview-prod"[^}]*dependency="openemr"[^}]*\} 0|probe_dependency_up\{[^}]*dependency="openemr"[^}]*instance="lakeview-prod"[^}]*\} 0/.test(
        text,
      );
    });
    const healed = cli('heal', 'lakeview-prod', 'all');
    assert.equal(healed.status, 0, healed.stderr);
    assert.equal(((await (await fetch(healthUrl)).json()) as { status: string }).status, 'ok');
  });

  it('answers a mistyped command with what would be right, and changes nothing', async () => {
    const unknown = cli('break', 'nowhere-prod', 'backend');
    assert.equal(unknown.status, 1);
    assert.match(unknown.stderr, /instance must be one of riverside-prod, lakeview-prod/);
    const badTarget = cli('break', 'riverside-prod', 'database');
    assert.equal(badTarget.status, 1);
    assert.match(
      badTarget.stderr,
      /target must be one of backend, frontend, proxy, openemr, twilio, voice_ai/,
    );
    const usage = cli('explode');
    assert.equal(usage.status, 2);
    assert.match(usage.stderr, /usage:/);
    const status = JSON.parse(cli('status').stdout) as Array<{ broken: string[] }>;
    assert.deepEqual(
      status.map((s) => s.broken),
      [[], []],
    );
    const notRunning = spawnSync('npm', ['run', '--silent', 'demo', '--', 'heal', 'x', 'all'], {
      cwd: REPO,
      env: { ...process.env, DEMO_STATE_DIR: path.join(stateDir, 'elsewhere') },
      encoding: 'utf8',
    });
    assert.equal(notRunning.status, 1);
    assert.match(notRunning.stderr, /the demo is not running/);
    const noConfig = spawnSync('npm', ['run', '--silent', 'demo'], {
      cwd: REPO,
      env: { ...process.env, CONTROL_PLANE_URL: 'ftp://x', CONTROL_PLANE_TOKEN: '', DEMO_INSTANCES: '40' },
      encoding: 'utf8',
    });
    assert.equal(noConfig.status, 2);
    assert.match(noConfig.stderr, /CONTROL_PLANE_URL must be an http\(s\) URL/);
    assert.match(noConfig.stderr, /CONTROL_PLANE_TOKEN is required/);
    assert.match(noConfig.stderr, /DEMO_INSTANCES must be an integer between 1 and 10/);
  });
});
