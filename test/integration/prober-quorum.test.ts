/**
 * Three probers in three "locations" with a quorum of 2, sending straight to an Alertmanager stand-in. Each
 * prober has its own control-plane stand-in, so one location can be cut off from a service (its discovery
 * points at a closed port under the same identity) while the others reach it.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '@concierge-ops/shared/ports';
import type { PostableAlert } from '../../exporters/fleet-prober/src/alerts.ts';
import { FleetProber } from '../../exporters/fleet-prober/src/prober.ts';
import {
  ControlPlaneStandIn,
  sample,
  scrape,
  sdGroup,
  waitFor,
} from '../../exporters/fleet-prober/testing/stand-ins.ts';

const TOKEN = 'prober-token-for-quorum-tests';

/** Records every POST /api/v2/alerts as Alertmanager would take it. */
class AlertmanagerStandIn {
  readonly posts: Array<{ at: number; alerts: PostableAlert[] }> = [];
  private readonly server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/api/v2/alerts') {
        this.posts.push({ at: Date.now(), alerts: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
        res.writeHead(200).end();
      } else res.writeHead(404).end();
    });
  });
  async start(): Promise<this> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', () => r()));
    return this;
  }
  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
  alerts(match: Record<string, string>): Array<PostableAlert & { at: number }> {
    return this.posts.flatMap((p) =>
      p.alerts
        .filter((a) => Object.entries(match).every(([k, v]) => a.labels[k] === v))
        .map((a) => ({ ...a, at: p.at })),
    );
  }
  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }
}

/**
 * A slow network between the probers: each request to a peer waits `delayMs` before it is forwarded, so every
 * view a prober holds of its peers is up to a poll's round trip old (what a loaded host or a far location
 * gives). With it, a location that resolves a service does so while the others still hold views from before.
 */
class SlowLink {
  private readonly server: http.Server;
  constructor(
    private readonly targetPort: number,
    private readonly delayMs: number,
  ) {
    this.server = http.createServer((req, res) => {
      setTimeout(() => {
        fetch(`http://127.0.0.1:${this.targetPort}${req.url ?? '/'}`)
          .then(async (r) =>
            res.writeHead(r.status, { 'content-type': 'application/json' }).end(await r.text()),
          )
          .catch(() => res.writeHead(502).end());
      }, this.delayMs);
    });
  }
  async start(): Promise<string> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', () => r()));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }
}

for (const peerDelayMs of [0, 1000]) {
  describe(`fleet probers in three locations with a quorum of 2 and the direct path (peers answer after ${peerDelayMs} ms)`, function () {
    this.timeout(60_000);
    let links: SlowLink[];
    let am: AlertmanagerStandIn;
    let cps: ControlPlaneStandIn[];
    let probers: FleetProber[];
    let services: http.Server[];
    let dir: string;
    let status: number;
    let servicePort: number;
    const instanceId = randomUUID();

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'prober-quorum-'));
      status = 200;
      am = await new AlertmanagerStandIn().start();
      const svc = http.createServer((_req, res) => res.writeHead(status).end('ok'));
      await new Promise<void>((r) => svc.listen(0, '127.0.0.1', () => r()));
      // The proxy answers on its own server, always well: only the cut-off location fails to reach it.
      const proxy = http.createServer((_req, res) => res.writeHead(200).end('ok'));
      await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', () => r()));
      services = [svc, proxy];
      servicePort = (svc.address() as AddressInfo).port;
      const proxyUp = (proxy.address() as AddressInfo).port;
      const closedPort = await freePort(); // nothing listens: "cut off"
      const ports = [await freePort(), await freePort(), await freePort()];
      cps = [];
      probers = [];
      links = [];
      for (let i = 0; i < 3; i++) {
        const cp = new ControlPlaneStandIn(TOKEN);
        await cp.start();
        const proxyPort = i === 2 ? closedPort : proxyUp;
        cp.groups = [
          sdGroup({
            instanceId,
            service: 'backend',
            client: 'acme',
            target: `http://127.0.0.1:${servicePort}/`,
          }),
          sdGroup({
            instanceId,
            service: 'proxy',
            client: 'acme',
            kind: 'proxy',
            target: `http://127.0.0.1:${proxyPort}/`,
          }),
        ];
        cps.push(cp);
        const prober = new FleetProber({
          controlPlaneUrl: cp.url,
          token: TOKEN,
          proberId: `prober-${i}`,
          port: ports[i]!,
          host: '127.0.0.1',
          probeIntervalSeconds: 0.3,
          sdRefreshSeconds: 0.3,
          downAfter: 2,
          upAfter: 2,
          reprobeIntervalSeconds: 0.1,
          stateDir: join(dir, `p${i}`),
          defaultMetrics: false,
          location: `loc-${i}`,
          peers: await Promise.all(
            ports
              .filter((_, j) => j !== i)
              .map(async (p) => {
                if (peerDelayMs === 0) return `http://127.0.0.1:${p}`;
                const link = new SlowLink(p, peerDelayMs);
                links.push(link);
                return link.start();
              }),
          ),
          quorum: 2,
          peerPollSeconds: 0.2,
          alertmanagerUrls: [am.url],
          alertResendSeconds: 0.5,
        });
        await prober.start();
        probers.push(prober);
      }
    });

    after(async () => {
      for (const p of probers) await p.stop();
      for (const cp of cps) await cp.stop();
      for (const s of services) {
        s.closeAllConnections();
        s.close();
      }
      for (const l of links) await l.close();
      await am.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('exports its quorum, which the Prometheus rules take as theirs, labelled with its location', async () => {
      for (const [i, p] of probers.entries()) {
        const text = await scrape(p.port);
        assert.match(text, /^# TYPE prober_quorum gauge$/m);
        assert.equal(sample(text, 'prober_quorum', { location: `loc-${i}` }), 2);
      }
    });

    it('one location cut off from a service: no alert, no down reported, and its own view shows the disagreement', async () => {
      const cutOff = probers[2]!;
      await waitFor('the cut-off location to hold the proxy down', async () => {
        const text = await scrape(cutOff.port);
        return sample(text, 'prober_service_down', { service: 'proxy', location: 'loc-2' }) === 1;
      });
      const own = (await (await fetch(`http://127.0.0.1:${cutOff.port}/-/down`)).json()) as {
        location: string;
        down: string[];
      };
      assert.deepEqual(own, { location: 'loc-2', down: [`${instanceId}/proxy`] });
      const seenUp = await scrape(probers[0]!.port);
      assert.equal(sample(seenUp, 'prober_service_down', { service: 'proxy', location: 'loc-0' }), 0);
      // Several peer polls and resend intervals later, still nothing.
      await new Promise((r) => setTimeout(r, 2000));
      assert.deepEqual(am.alerts({ service: 'proxy' }), []);
      for (const cp of cps) assert.deepEqual(cp.transitions, []);
    });

    it('a service down at every location: one ServiceDown with the rules labels, re-sent, then resolved', async () => {
      const failedAt = Date.now();
      status = 503;
      const first = await waitFor('ServiceDown on the direct path', () =>
        am.alerts({ alertname: 'ServiceDown', service: 'backend' }).at(0),
      );
      assert.ok(first);
      assert.deepEqual(first.labels, {
        monitor: 'concierge-ops',
        alertname: 'ServiceDown',
        severity: 'critical',
        job: 'fleet-prober',
        client: 'acme',
        instance: 'acme-prod',
        service: 'backend',
        service_kind: 'backend',
      });
      assert.ok(Date.parse(first.endsAt) > first.at, 'a firing alert ends in the future');
      assert.ok(Date.parse(first.startsAt) >= failedAt - 400, first.startsAt);
      // The fleet's view (down) goes to the control plane: each location reports it, no location alone.
      for (const cp of cps) {
        await waitFor('the down transition', () =>
          cp.transitions.find((t) => t.service === 'backend' && t.state === 'down'),
        );
      }
      await waitFor('a resend while firing', () => {
        const sent = am.alerts({ alertname: 'ServiceDown', service: 'backend' });
        return sent.some((a) => a.at - first.at >= 400 && Date.parse(a.endsAt) > a.at);
      });
      // The proxy is up at two locations, so the instance is not down: no InstanceDown.
      assert.deepEqual(am.alerts({ alertname: 'InstanceDown' }), []);

      status = 200;
      const healedAt = Date.now();
      const resolved = await waitFor('the resolve', () =>
        am
          .alerts({ alertname: 'ServiceDown', service: 'backend' })
          .find((a) => a.at >= healedAt && Date.parse(a.endsAt) <= a.at),
      );
      assert.ok(resolved);
      assert.ok(Date.parse(resolved.endsAt) >= healedAt);
      for (const cp of cps) {
        await waitFor('the up transition', () =>
          cp.transitions.find((t) => t.service === 'backend' && t.state === 'up'),
        );
      }
      await new Promise((r) => setTimeout(r, 1200));
      const after = am
        .alerts({ alertname: 'ServiceDown', service: 'backend' })
        .filter((a) => a.at > resolved.at);
      assert.ok(
        after.every((a) => Date.parse(a.endsAt) <= a.at),
        'nothing fires again after the resolve',
      );
    });
  });
}
