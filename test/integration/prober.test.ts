import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FleetProber, type FleetProberOptions } from '../../exporters/fleet-prober/src/prober.ts';
import { offsetFor } from '../../exporters/fleet-prober/src/scheduler.ts';
import {
  ControlPlaneStandIn,
  sample,
  samples,
  scrape,
  sdGroup,
  selfSignedCert,
  waitFor,
} from '../../exporters/fleet-prober/testing/stand-ins.ts';

const TOKEN = 'prober-secret-token-do-not-log';

/** A loopback HTTP(S) service whose answer the test changes; it logs what it served and when. */
class Service {
  status = 200;
  body = 'ok';
  readonly served: Array<{ status: number; at: number }> = [];
  readonly server: http.Server;
  constructor(tls?: { key: string; cert: string }) {
    const handler: http.RequestListener = (_req, res) => {
      this.served.push({ status: this.status, at: Date.now() });
      res.writeHead(this.status, { 'content-type': 'application/json' }).end(this.body);
    };
    this.server = tls ? https.createServer(tls, handler) : http.createServer(handler);
    this.server.keepAliveTimeout = 60_000;
  }
  async listen(): Promise<this> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', () => r()));
    return this;
  }
  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }
  url(scheme = 'http'): string {
    return `${scheme}://127.0.0.1:${this.port}/health`;
  }
  servedWith(status: number): number {
    return this.served.filter((s) => s.status === status).length;
  }
  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }
}

describe('fleet prober (loopback services and control plane)', function () {
  let cp: ControlPlaneStandIn;
  let dir: string;
  let cleanups: Array<() => Promise<unknown> | unknown>;
  let logLines: string[];

  beforeEach(async () => {
    cp = new ControlPlaneStandIn(TOKEN);
    await cp.start();
    dir = mkdtempSync(join(tmpdir(), 'prober-test-'));
    cleanups = [];
    logLines = [];
  });

  afterEach(async () => {
    for (const c of cleanups.reverse()) await c();
    await cp.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function service(tls?: { key: string; cert: string }): Promise<Service> {
    const s = await new Service(tls).listen();
    cleanups.push(() => s.close());
    return s;
  }

  async function startProber(extra: Partial<FleetProberOptions> = {}): Promise<FleetProber> {
    const record = (level: string) => (obj: object, msg?: string) =>
      logLines.push(JSON.stringify({ level, msg, ...obj }));
    const prober = new FleetProber({
      controlPlaneUrl: cp.url,
      token: TOKEN,
      proberId: 'test-prober',
      port: 0,
      host: '127.0.0.1',
      probeIntervalSeconds: 0.2,
      sdRefreshSeconds: 0.2,
      downAfter: 3,
      upAfter: 2,
      stateDir: dir,
      reportBackoffMs: { initial: 50, max: 400 },
      logger: { error: record('error'), warn: record('warn'), info: record('info'), debug: record('debug') },
      ...extra,
    });
    await prober.start();
    cleanups.push(() => prober.stop());
    return prober;
  }

  const metric = async (p: FleetProber, name: string, labels: Record<string, string>) =>
    sample(await scrape(p.port), name, labels);

  it('reports a service down after 3 failed probes (HTTP 503) and up again after 2 good ones', async () => {
    const svc = await service();
    const id = randomUUID();
    cp.groups = [sdGroup({ instanceId: id, service: 'backend', target: svc.url() })];
    let failedWhenDown = -1;
    let okWhenUp = -1;
    cp.onCommit = (b) => {
      for (const t of b.transitions) {
        if (t.state === 'down') failedWhenDown = svc.servedWith(503);
        if (t.state === 'up') okWhenUp = svc.served.filter((s) => s.at >= Date.parse(t.at)).length;
      }
    };
    const p = await startProber();
    await waitFor(
      'probe_success 1',
      async () => (await metric(p, 'probe_success', { service: 'backend' })) === 1,
    );
    const lastOk = () => svc.served.filter((s) => s.status === 200).at(-1)!.at;
    svc.status = 503;
    await waitFor('down transition', () => cp.transitions.length === 1);
    const down = cp.transitions[0]!;
    assert.deepEqual(
      { prober: cp.batches[0]!.prober, instanceId: down.instanceId, service: down.service },
      { prober: 'test-prober', instanceId: id, service: 'backend' },
    );
    assert.equal(down.state, 'down');
    assert.equal(down.reason, 'HTTP 503');
    assert.ok(failedWhenDown >= 3, `reported down after ${failedWhenDown} failures`);
    // `at` is the start of the first failing probe: after the last good answer, before the first 503.
    const first503 = svc.served.find((s) => s.status === 503)!.at;
    assert.ok(Date.parse(down.at) >= lastOk() - 5 && Date.parse(down.at) <= first503);
    const text = await scrape(p.port);
    assert.equal(sample(text, 'probe_success', { service: 'backend' }), 0);
    assert.equal(sample(text, 'probe_http_status_code', { service: 'backend' }), 503);

    svc.status = 200;
    await waitFor('up transition', () => cp.transitions.length === 2);
    assert.equal(cp.transitions[1]!.state, 'up');
    assert.ok(okWhenUp >= 2, `reported up after ${okWhenUp} good probes`);
    assert.notEqual(cp.transitions[0]!.id, cp.transitions[1]!.id);
    assert.ok(cp.requests.every((r) => r.authorized));
  });

  it('reports connection refused as down, and a tcp service by connect', async () => {
    const gone = await new Service().listen();
    const refusedUrl = gone.url();
    await gone.close();
    const tcp = net.createServer((s) => s.end());
    await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', () => r()));
    const tcpPort = (tcp.address() as net.AddressInfo).port;
    cleanups.push(() => new Promise((r) => tcp.close(r)));
    const [a, b] = [randomUUID(), randomUUID()];
    cp.groups = [
      sdGroup({ instanceId: a, service: 'frontend', kind: 'frontend', target: refusedUrl }),
      sdGroup({
        instanceId: b,
        service: 'database',
        kind: 'database',
        type: 'tcp',
        target: `127.0.0.1:${tcpPort}`,
      }),
    ];
    const p = await startProber();
    await waitFor('refused reported', () => cp.transitions.some((t) => t.instanceId === a));
    assert.deepEqual(
      cp.transitions.map((t) => [t.instanceId, t.state, t.reason]),
      [[a, 'down', 'connect ECONNREFUSED']],
    );
    // Re-probes confirm the refused one within a tenth of a second, possibly before the tcp service's first slot.
    await waitFor(
      'tcp probed',
      async () => (await metric(p, 'probe_success', { service: 'database' })) !== undefined,
    );
    const text = await scrape(p.port);
    assert.equal(sample(text, 'probe_success', { service: 'frontend' }), 0);
    assert.equal(sample(text, 'probe_http_status_code', { service: 'frontend' }), 0);
    assert.equal(sample(text, 'probe_success', { service: 'database', service_kind: 'database' }), 1);

    await new Promise<void>((r) => tcp.close(() => r()));
    await waitFor('tcp down', () => cp.transitions.some((t) => t.instanceId === b));
    assert.deepEqual(cp.transitions.at(-1)!.state, 'down');
    // The transition carries the first failure's reason: a probe whose connection the kernel had queued as the
    // server closed is reset; every later one is refused.
    assert.match(cp.transitions.at(-1)!.reason!, /^(connect ECONNREFUSED|connection reset)$/);
  });

  it('sees a server that stopped accepting connections even while a keep-alive connection still answers', async () => {
    const svc = await service();
    cp.groups = [sdGroup({ instanceId: randomUUID(), service: 'backend', target: svc.url() })];
    const p = await startProber();
    await waitFor(
      'probe_success 1',
      async () => (await metric(p, 'probe_success', { service: 'backend' })) === 1,
    );
    // Our own keep-alive client holds one connection open, as a long-lived caller would.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    cleanups.push(() => agent.destroy());
    const get = () =>
      new Promise<number>((resolve, reject) =>
        http
          .get(svc.url(), { agent }, (res) => res.resume().on('end', () => resolve(res.statusCode!)))
          .on('error', reject),
      );
    assert.equal(await get(), 200);
    // Stop taking new connections: only our keep-alive connection may stay (a probe in flight now may finish).
    svc.server.maxConnections = 1;
    await waitFor('down transition', () => cp.transitions.some((t) => t.state === 'down'));
    assert.equal(await get(), 200, 'the old keep-alive connection still answers');
    assert.equal(await metric(p, 'probe_success', { service: 'backend' }), 0);
  });

  it('exposes the TLS certificate expiry of an https service as its notAfter', async () => {
    const pem = selfSignedCert(dir);
    const svc = await service({ key: pem.key, cert: pem.cert });
    cp.groups = [
      sdGroup({ instanceId: randomUUID(), service: 'proxy', kind: 'proxy', target: svc.url('https') }),
    ];
    const p = await startProber({ tlsCa: pem.cert });
    const expiry = await waitFor('cert expiry', () =>
      metric(p, 'probe_ssl_earliest_cert_expiry', { service: 'proxy' }),
    );
    assert.equal(expiry, pem.notAfterSeconds);
    assert.equal(await metric(p, 'probe_success', { service: 'proxy' }), 1);
  });

  it('exposes per-dependency status from the health JSON and reports degraded when one is down', async () => {
    const svc = await service();
    svc.body = JSON.stringify({
      status: 'degraded',
      components: { openemr: { status: 'down' }, twilio: { status: 'up' }, voice_ai: { status: 'up' } },
    });
    const id = randomUUID();
    cp.groups = [sdGroup({ instanceId: id, service: 'backend', target: svc.url(), healthJson: true })];
    const p = await startProber();
    await waitFor('degraded transition', () => cp.transitions.length === 1);
    assert.deepEqual(
      cp.transitions.map((t) => [t.instanceId, t.state, t.reason]),
      [[id, 'degraded', 'dependency down: openemr']],
    );
    const text = await scrape(p.port);
    assert.equal(sample(text, 'probe_dependency_up', { dependency: 'openemr' }), 0);
    assert.equal(sample(text, 'probe_dependency_up', { dependency: 'twilio' }), 1);
    assert.equal(sample(text, 'probe_dependency_up', { dependency: 'voice_ai', client: 'acme' }), 1);
    assert.equal(sample(text, 'probe_success', { service: 'backend' }), 1);
  });

  it('buffers transitions while the control plane is unreachable and delivers each once, in order', async () => {
    const svc = await service();
    const id = randomUUID();
    cp.groups = [sdGroup({ instanceId: id, service: 'backend', target: svc.url() })];
    const p = await startProber();
    await waitFor(
      'probe_success 1',
      async () => (await metric(p, 'probe_success', { service: 'backend' })) === 1,
    );
    await cp.stop();
    const pending = async (n: number) => (await metric(p, 'prober_transitions_pending', {})) === n;
    for (const [status, n] of [
      [503, 1],
      [200, 2],
      [500, 3],
    ] as const) {
      svc.status = status;
      await waitFor(`${n} pending`, () => pending(n));
    }
    // Discovery failed all along, yet the last good target list kept being probed.
    assert.ok((await metric(p, 'prober_errors_total', { kind: 'sd_fetch' }))! > 0);
    assert.ok((await metric(p, 'prober_errors_total', { kind: 'report_retry' }))! > 0);
    await cp.restart();
    await waitFor('delivered', () => pending(0));
    assert.deepEqual(
      cp.transitions.map((t) => [t.state, t.reason]),
      [
        ['down', 'HTTP 503'],
        ['up', 'HTTP 200'],
        ['down', 'HTTP 500'],
      ],
    );
    assert.equal(new Set(cp.transitions.map((t) => t.id)).size, 3);
    const ats = cp.transitions.map((t) => Date.parse(t.at));
    assert.deepEqual(
      [...ats].sort((x, y) => x - y),
      ats,
    );
    assert.ok(logLines.length > 0 && logLines.every((l) => !l.includes(TOKEN)), 'the token is never logged');
  });

  it('after a restart compares with the control plane state instead of inventing transitions', async () => {
    const [down, up, recovered] = [await service(), await service(), await service()];
    down.status = 503;
    const ids = [randomUUID(), randomUUID(), randomUUID()];
    cp.groups = [down, up, recovered].map((s, i) =>
      sdGroup({ instanceId: ids[i]!, service: 'backend', target: s.url() }),
    );
    const since = new Date(Date.now() - 3600_000).toISOString();
    cp.states = [
      { instanceId: ids[0]!, service: 'backend', state: 'down', since },
      { instanceId: ids[2]!, service: 'backend', state: 'down', since }, // recovered while we were away
    ];
    await startProber();
    await waitFor('recovery reported', () => cp.transitions.length === 1);
    // Let every service be probed well past both thresholds before looking for anything invented.
    await waitFor('more probes', () => down.served.length >= 8 && up.served.length >= 8);
    assert.deepEqual(
      cp.transitions.map((t) => [t.instanceId, t.state]),
      [[ids[2], 'up']],
    );
  });

  it('keeps transitions pending across a restart and reports them once', async () => {
    const svc = await service();
    const id = randomUUID();
    cp.groups = [sdGroup({ instanceId: id, service: 'backend', target: svc.url() })];
    cp.transitionStatus = 503;
    svc.status = 503;
    const first = await startProber();
    await waitFor('pending', async () => (await metric(first, 'prober_transitions_pending', {})) === 1);
    await first.stop();
    cp.transitionStatus = 200; // the control plane never committed it, so its state still says up
    const second = await startProber();
    await waitFor('delivered', async () => (await metric(second, 'prober_transitions_pending', {})) === 0);
    await waitFor('more probes', () => svc.servedWith(503) >= 12);
    assert.deepEqual(
      cp.transitions.map((t) => [t.instanceId, t.state]),
      [[id, 'down']],
    );
  });

  it('follows service discovery: new targets get series, removed ones lose theirs', async () => {
    const [a, b, c] = [await service(), await service(), await service()];
    const group = (s: Service, name: string) =>
      sdGroup({ instanceId: randomUUID(), client: name, service: 'backend', target: s.url() });
    const [ga, gb, gc] = [group(a, 'alpha'), group(b, 'bravo'), group(c, 'charlie')];
    cp.groups = [ga, gb];
    const p = await startProber();
    const clients = async () =>
      samples(await scrape(p.port), 'probe_success')
        .map(([l]) => l.client)
        .sort()
        .join(',');
    await waitFor('alpha and bravo', async () => (await clients()) === 'alpha,bravo');
    cp.groups = [gb, gc];
    await waitFor('bravo and charlie', async () => (await clients()) === 'bravo,charlie');
    const text = await scrape(p.port);
    assert.equal(samples(text, 'probe_duration_seconds').filter(([l]) => l.client === 'alpha').length, 0);
    assert.equal(sample(text, 'prober_targets', { type: 'http' }), 2);
  });

  it('serves /metrics that promtool check metrics accepts', async () => {
    const pem = selfSignedCert(dir);
    const [plain, secure] = [await service(), await service(pem)];
    plain.body = JSON.stringify({ status: 'ok', components: { openemr: { status: 'up' } } });
    cp.groups = [
      sdGroup({ instanceId: randomUUID(), service: 'backend', target: plain.url(), healthJson: true }),
      sdGroup({ instanceId: randomUUID(), service: 'proxy', kind: 'proxy', target: secure.url('https') }),
      sdGroup({
        instanceId: randomUUID(),
        service: 'db',
        kind: 'database',
        type: 'tcp',
        target: `127.0.0.1:${plain.port}`,
      }),
    ];
    const p = await startProber({ tlsCa: pem.cert });
    const text = await waitFor('all series', async () => {
      const t = await scrape(p.port);
      return samples(t, 'probe_success').length === 3 && sample(t, 'probe_ssl_earliest_cert_expiry', {})
        ? t
        : '';
    });
    const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    assert.equal(check.status, 0, check.stdout + check.stderr);
    assert.equal((check.stdout + check.stderr).trim(), '');
  });
});

describe('fleet prober re-probes (quick, sure down decisions)', function () {
  this.timeout(120_000);
  let cp: ControlPlaneStandIn;
  let dir: string;
  let cleanups: Array<() => Promise<unknown> | unknown>;

  beforeEach(async () => {
    cp = new ControlPlaneStandIn(TOKEN);
    await cp.start();
    dir = mkdtempSync(join(tmpdir(), 'prober-reprobe-'));
    cleanups = [];
  });

  afterEach(async () => {
    for (const c of cleanups.reverse()) await c();
    await cp.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function start(svc: Service, id: string, opts: Partial<FleetProberOptions>): Promise<FleetProber> {
    cleanups.push(() => svc.close());
    cp.groups = [sdGroup({ instanceId: id, service: 'backend', target: svc.url() })];
    const prober = new FleetProber({
      controlPlaneUrl: cp.url,
      token: TOKEN,
      proberId: 'test-prober',
      port: 0,
      host: '127.0.0.1',
      sdRefreshSeconds: 60,
      stateDir: dir,
      ...opts,
    });
    await prober.start();
    cleanups.push(() => prober.stop());
    return prober;
  }

  /** An instance id whose slot in a 30 s cycle comes 1-4 s from now, so the test need not wait a whole cycle. */
  function idWithSlotSoon(intervalMs: number): string {
    for (;;) {
      const id = randomUUID();
      const now = Date.now();
      const due = now - (now % intervalMs) + offsetFor(`${id}/backend`, intervalMs);
      if (due - now >= 1000 && due - now <= 4000) return id;
    }
  }

  it('reports a service that starts failing down within seconds of the first failure, at a 10 s interval', async () => {
    const svc = await new Service().listen();
    const id = idWithSlotSoon(10_000);
    let committedAt = 0;
    let failuresWhenCommitted = 0;
    cp.onCommit = () => {
      committedAt ||= Date.now();
      failuresWhenCommitted ||= svc.servedWith(503);
    };
    const p = await start(svc, id, { probeIntervalSeconds: 10 }); // defaults: 4 failures, re-probes 1 s apart
    await waitFor(
      'first probe',
      async () => sample(await scrape(p.port), 'probe_success', { service: 'backend' }) === 1,
      10_000,
    );
    assert.equal(svc.served.length, 1);
    svc.status = 503; // the next scheduled probe is a whole interval away
    await waitFor('down transition', () => cp.transitions.length === 1, 20_000);
    const first503 = svc.served.find((s) => s.status === 503)!.at;
    const down = cp.transitions[0]!;
    assert.deepEqual([down.instanceId, down.state, down.reason], [id, 'down', 'HTTP 503']);
    // The first failure and three re-probes, a second apart after the first: ~2 s, not three intervals.
    assert.equal(failuresWhenCommitted, 4);
    assert.ok(committedAt - first503 < 5000, `reported ${committedAt - first503} ms after the first failure`);
    assert.ok(Math.abs(Date.parse(down.at) - first503) < 1000, 'dated at the first failed probe');
    const text = await scrape(p.port);
    assert.equal(sample(text, 'probe_success', { service: 'backend' }), 0);
    assert.equal(sample(text, 'prober_service_down', { service: 'backend', client: 'acme' }), 1);
    assert.equal(sample(text, 'prober_down_confirmations_total', { outcome: 'down' }), 1);
    assert.equal(sample(text, 'prober_down_confirmations_total', { outcome: 'flap' }), 0);
  });

  it('never reports down a service whose probes fail one in five, and counts the flaps', async () => {
    const svc = await new Service().listen();
    // Every fifth request fails, whichever probe (scheduled or re-probe) it is.
    svc.server.removeAllListeners('request');
    svc.server.on('request', (_req: http.IncomingMessage, res: http.ServerResponse) => {
      const status = (svc.served.length + 1) % 5 === 0 ? 503 : 200;
      svc.served.push({ status, at: Date.now() });
      res.writeHead(status).end('ok');
    });
    const p = await start(svc, randomUUID(), {
      probeIntervalSeconds: 0.3,
      reprobeIntervalSeconds: 0.1,
      downAfter: 2,
    });
    await waitFor('40 probes', () => svc.served.length >= 40, 60_000);
    const text = await scrape(p.port);
    assert.deepEqual(cp.transitions, []);
    assert.ok(svc.servedWith(503) >= 8);
    // Every failure was re-probed and contradicted (one may still await its re-probe).
    const flaps = sample(text, 'prober_down_confirmations_total', { outcome: 'flap' })!;
    assert.ok(flaps >= svc.servedWith(503) - 1, `${flaps} flaps for ${svc.servedWith(503)} failures`);
    assert.equal(sample(text, 'prober_down_confirmations_total', { outcome: 'down' }), 0);
    assert.equal(sample(text, 'prober_service_down', { service: 'backend' }), 0);
  });
});
