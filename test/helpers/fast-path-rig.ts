/**
 * A fast-path rig with real parts, for test/stack/fast-path.test.ts and bench/detect.ts: fleet probers (one per
 * location, a quorum of a majority) sending confirmed downs straight to a real Alertmanager 0.25 with the
 * repo's config, real Prometheus 2.42 with the repo's fleet rules as the backstop, the control plane, and the
 * real twilio SDK against the Twilio stand-in. One location's "network" can be a proxy in front of the control
 * plane that points one instance's services at a closed port in that prober's service discovery.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '@concierge-ops/shared/ports';
import { FleetProber } from '../../exporters/fleet-prober/src/prober.ts';
import { waitFor } from './alerts.ts';
import { clientBody, startControlPlane, type TestControlPlane } from './control-plane.ts';
import { REPO, query, startAlertmanager, startPrometheus, type Proc } from './stack.ts';
import { TwilioStandIn } from './twilio-standin.ts';

export const OLIVIA = '+15551230001';
export const CLIENT = 'fast-dental';

/** A loopback service whose health the test sets: up, down (503), or failing one request in five. */
export class Target {
  mode: 'up' | 'down' | 'flap' = 'up';
  private served = 0;
  readonly server = http.createServer((_req, res) => {
    this.served++;
    const fail = this.mode === 'down' || (this.mode === 'flap' && this.served % 5 === 0);
    res.writeHead(fail ? 503 : 200).end(fail ? 'no' : 'ok');
  });
  async listen(): Promise<string> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', () => r()));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/health`;
  }
  close(): void {
    this.server.closeAllConnections();
    this.server.close();
  }
}

/** The control plane as one location sees it: service discovery points `cutSlug`'s services at a closed port. */
async function cutOffProxy(cpUrl: string, cutSlug: string, closedPort: number): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const headers: Record<string, string> = {};
      for (const h of ['authorization', 'content-type', 'accept', 'if-none-match'])
        if (req.headers[h]) headers[h] = String(req.headers[h]);
      const body = chunks.length > 0 ? Buffer.concat(chunks) : undefined;
      const up = await fetch(cpUrl + req.url, { method: req.method, headers, body });
      let text = await up.text();
      if (req.url?.startsWith('/api/v1/sd/probe-targets') && up.status === 200) {
        const groups = JSON.parse(text) as { targets: string[]; labels: Record<string, string> }[];
        for (const g of groups)
          if (g.labels.instance === cutSlug) {
            g.targets = [`127.0.0.1:${closedPort}`];
            g.labels.__meta_concierge_probe_url = `http://127.0.0.1:${closedPort}/health`;
          }
        text = JSON.stringify(groups);
      }
      res.writeHead(up.status, { 'content-type': up.headers.get('content-type') ?? 'application/json' });
      res.end(text);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return server;
}

export interface Rig {
  cp: TestControlPlane;
  tw: TwilioStandIn;
  am: Proc;
  prom: Proc;
  probers: FleetProber[];
  targets: Map<string, Target>;
  /** When a prober first reported each instance slug's service down for the fleet (quorum reached), epoch ms. */
  fleetDownAt: Map<string, number>;
  cleanup: Array<() => unknown>;
}

export interface RigOptions {
  slugs: string[];
  /**
   * More services of an instance, beside its backend: kind frontend, each its own target, keyed
   * `<slug>/<name>` in `targets` (the backend keeps the key `<slug>`).
   */
  services?: Record<string, string[]>;
  direct: boolean;
  locations: number;
  /** An instance the last location cannot reach. */
  cut?: string;
  /** Default 1 (a test's pace); the bench uses the prober's own defaults. */
  probeIntervalSeconds?: number;
  reprobeIntervalSeconds?: number;
  peerPollSeconds?: number;
  alertResendSeconds?: number;
  /** Prometheus' scrape and evaluation interval. Default 1s. */
  scrapeInterval?: string;
  /** Keep the rules' `for:` as the repo has them; by default every `for: <n>m` becomes 10 s. */
  repoRuleFor?: boolean;
}

export async function startRig(opts: RigOptions): Promise<Rig> {
  const cleanup: Array<() => unknown> = [];
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'fast-path-'));
  cleanup.push(() => fs.rm(tmp, { recursive: true, force: true }));
  const tw = await new TwilioStandIn().start();
  cleanup.push(() => tw.stop());
  const cp = await startControlPlane({
    TWILIO_ACCOUNT_SID: 'AC' + 'cd'.repeat(16),
    TWILIO_AUTH_TOKEN: 'twilio-auth-token-for-tests-0123456789',
    TWILIO_FROM_NUMBER: '+15005550006',
    TWILIO_API_URL: tw.url,
    PUBLIC_URL: 'https://ops.example.test',
    WORKER_POLL_INTERVAL_MS: '100',
  });
  cleanup.push(() => cp.close());
  await cp.call('POST', '/api/v1/clients', { body: clientBody(CLIENT) });
  const targets = new Map<string, Target>();
  const slugOf = new Map<string, string>();
  const fleetDownAt = new Map<string, number>();
  for (const slug of opts.slugs) {
    const t = new Target();
    const url = await t.listen();
    cleanup.push(() => t.close());
    targets.set(slug, t);
    const more = [];
    for (const name of opts.services?.[slug] ?? []) {
      const m = new Target();
      const murl = await m.listen();
      cleanup.push(() => m.close());
      targets.set(`${slug}/${name}`, m);
      more.push({ name, kind: 'frontend', probe: { type: 'http', url: murl } });
    }
    const created = await cp.call('POST', '/api/v1/instances', {
      body: {
        client: CLIENT,
        slug,
        environment: 'prod',
        baseUrl: url,
        services: [{ name: 'backend', kind: 'backend', probe: { type: 'http', url } }, ...more],
      },
    });
    assert.equal(created.status, 201, created.text);
    slugOf.set((created.body as { id: string }).id.toLowerCase(), slug);
  }
  // The probers' own word on when the fleet's view of a service went down (what they send Alertmanager).
  const noop = (): void => {};
  const logger = {
    error: noop,
    warn: noop,
    debug: noop,
    info(obj: object, msg?: string): void {
      const { state, instanceId } = obj as { state?: string; instanceId?: string };
      const slug = slugOf.get(instanceId?.toLowerCase() ?? '');
      if (msg === 'service state changed' && state === 'down' && slug && !fleetDownAt.has(slug))
        fleetDownAt.set(slug, Date.now());
    },
  };
  await cp.db.query(
    `insert into responders (name, role, phone, email) values ('Olivia', 'oncall-engineer', $1, null)`,
    [OLIVIA],
  );
  const amToken = path.join(tmp, 'am.token');
  await fs.writeFile(amToken, await cp.token('alertmanager'));
  // The repo's routes as they are (the fleet route's group_wait of 1 s included); only addresses change.
  const am = await startAlertmanager(
    (await fs.readFile(path.join(REPO, 'alertmanager/alertmanager.yml'), 'utf8'))
      .replaceAll('http://control-plane:8080', cp.url)
      .replaceAll('/etc/concierge-ops/secrets/alertmanager.token', amToken),
  );
  cleanup.push(() => am.stop());

  const ports = await Promise.all(Array.from({ length: opts.locations }, () => freePort()));
  const proberToken = await cp.token('prober');
  const closedPort = await freePort();
  const probers: FleetProber[] = [];
  for (let i = 0; i < opts.locations; i++) {
    let cpUrl = cp.url;
    if (opts.cut && i === opts.locations - 1) {
      const proxy = await cutOffProxy(cp.url, opts.cut, closedPort);
      cleanup.push(() => {
        proxy.closeAllConnections();
        proxy.close();
      });
      cpUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    }
    const prober = new FleetProber({
      controlPlaneUrl: cpUrl,
      token: proberToken,
      proberId: `fast-${i + 1}`,
      port: ports[i]!,
      host: '127.0.0.1',
      probeIntervalSeconds: opts.probeIntervalSeconds ?? 1,
      reprobeIntervalSeconds: opts.reprobeIntervalSeconds ?? 0.2,
      sdRefreshSeconds: 0.5,
      heartbeatSeconds: 1,
      stateDir: path.join(tmp, `prober-${i + 1}`),
      defaultMetrics: false,
      logger,
      ...(opts.locations > 1
        ? {
            location: `loc-${i + 1}`,
            peers: ports.filter((_, j) => j !== i).map((p) => `http://127.0.0.1:${p}`),
            peerPollSeconds: opts.peerPollSeconds ?? 0.5,
          }
        : {}),
      alertmanagerUrls: opts.direct ? [am.url] : [],
      alertResendSeconds: opts.alertResendSeconds ?? 2,
    });
    await prober.start();
    probers.push(prober);
  }
  cleanup.push(() => Promise.all(probers.map((p) => p.stop())));

  const repoRules = await fs.readFile(path.join(REPO, 'prometheus/rules/fleet.yml'), 'utf8');
  const rules = opts.repoRuleFor ? repoRules : repoRules.replace(/for: \d+m/g, 'for: 10s');
  const prom = await startPrometheus(
    [
      `global: {scrape_interval: ${opts.scrapeInterval ?? '1s'}, evaluation_interval: ${opts.scrapeInterval ?? '1s'}, external_labels: {monitor: concierge-ops}}`,
      'rule_files: [fleet.yml]',
      `alerting: {alertmanagers: [{static_configs: [{targets: ['${new URL(am.url).host}']}]}]}`,
      'scrape_configs:',
      `  - {job_name: fleet-prober, honor_labels: true, static_configs: [{targets: [${ports.map((p) => `'127.0.0.1:${p}'`).join(', ')}]}]}`,
    ].join('\n'),
    { 'fleet.yml': rules },
  );
  cleanup.push(() => prom.stop());
  const rig: Rig = { cp, tw, am, prom, probers, targets, fleetDownAt, cleanup };
  await waitFor(
    'every location to see every service up',
    async () => {
      const up = await query(prom, 'probe_success == 1');
      return up.length === targets.size * opts.locations - (opts.cut ? 1 : 0) || undefined;
    },
    120_000,
  );
  return rig;
}

export async function stopRig(rig: Rig | undefined): Promise<void> {
  for (const c of (rig?.cleanup ?? []).reverse()) await c();
}

/** SMS and calls that name this instance. */
export function pagesFor(rig: Rig, slug: string): number {
  const names = (r: { params: Record<string, string | undefined> }) =>
    JSON.stringify(r.params).includes(`/${slug}`);
  return rig.tw.messages(OLIVIA).filter(names).length;
}

export async function incidentsFor(
  rig: Rig,
  slug: string,
): Promise<Array<{ id: string; severity: string; title: string }>> {
  const list = await rig.cp.call('GET', `/api/v1/incidents?client=${CLIENT}`);
  return (
    list.body as Array<{ id: string; severity: string; title: string; instance: { slug: string } | null }>
  ).filter((i) => i.instance?.slug === slug);
}

export const firing = async (prom: Proc, alertname: string, slug: string) =>
  (await query(prom, `ALERTS{alertname="${alertname}", instance="${slug}", alertstate="firing"}`)).length > 0;
