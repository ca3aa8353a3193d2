/**
 * One simulated client instance: backend (health JSON with dependency status), frontend (the web chat page),
 * proxy (the public entry, in front of both), and the concierge runtime's telemetry with its Prometheus pull
 * endpoint and simulated traffic. Every part can be broken and healed while it runs.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { DEPENDENCIES, initTelemetry, type Telemetry } from '@concierge-ops/telemetry';
import { freePort } from '@concierge-ops/shared/ports';
import { Traffic } from './traffic.ts';

export const SERVICES = ['backend', 'frontend', 'proxy'] as const;
export const TARGETS = [...SERVICES, ...DEPENDENCIES] as const;
export type Target = (typeof TARGETS)[number];

export interface InstanceSpec {
  client: string;
  clientName: string;
  timeZone: string;
  instance: string;
}

export interface WebPage {
  html: string;
  css: string;
  js: string;
}

const FALLBACK_PAGE = (name: string) =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${name}</title></head>` +
  `<body><h1>${name}</h1><p>Ask the front desk: the concierge demo page.</p></body></html>\n`;

async function listen(server: http.Server, host: string, port = 0): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

async function close(server: http.Server): Promise<void> {
  if (!server.listening) return;
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

export class DemoInstance {
  readonly broken = new Set<Target>();
  readonly urls = { backend: '', frontend: '', proxy: '', metrics: '' };
  /** Makes the page at its first view (a second of bundling that a demo nobody opens never pays). */
  private page: (() => Promise<WebPage>) | undefined;
  private proxyPort = 0;
  private readonly backend: http.Server;
  private readonly frontend: http.Server;
  private proxy: http.Server;
  private traffic!: Traffic;
  private telemetry!: Telemetry;

  constructor(
    readonly spec: InstanceSpec,
    private readonly host: string,
    private readonly publicHost: string = host,
  ) {
    this.backend = http.createServer((req, res) => this.onBackend(req, res));
    this.frontend = http.createServer((req, res) => this.onFrontend(req, res));
    this.proxy = this.makeProxy();
  }

  async start(rps: number, seed: number): Promise<void> {
    this.telemetry = await initTelemetry({
      client: this.spec.client,
      instance: this.spec.instance,
      environment: 'demo',
      serviceVersion: '1.0.0-demo',
      prometheus: { port: 0, host: this.host },
      registerGlobal: false, // several runtimes share this process
    });
    const h = this.publicHost;
    const base = `http://${h.includes(':') ? `[${h}]` : h}`;
    this.urls.backend = `${base}:${await listen(this.backend, this.host)}`;
    this.urls.frontend = `${base}:${await listen(this.frontend, this.host)}`;
    // Outside the ephemeral range, so that no outgoing connection takes the port while the proxy is broken
    // and `heal` can listen on it again.
    this.proxyPort = await listen(this.proxy, this.host, await freePort());
    this.urls.proxy = `${base}:${this.proxyPort}`;
    const metrics = new URL(this.telemetry.metricsUrl!);
    metrics.hostname = h.includes(':') ? `[${h}]` : h;
    this.urls.metrics = metrics.toString();
    this.traffic = new Traffic(this.telemetry, { isBroken: (t) => this.broken.has(t as Target) }, seed);
    this.traffic.start(rps);
  }

  /**
   * The web chat page the frontend serves (the Faro-instrumented one once its app key is known): `make` runs at
   * the page's first view, once.
   */
  setPage(make: () => Promise<WebPage>): void {
    let made: Promise<WebPage> | undefined;
    this.page = () => (made ??= make());
  }

  /** The health JSON the fleet prober reads (`healthJson: true`). */
  health(): { status: 'ok' | 'degraded' | 'down'; components: Record<string, { status: 'up' | 'down' }> } {
    const components = Object.fromEntries(
      DEPENDENCIES.map((d) => [d, { status: this.broken.has(d) ? ('down' as const) : ('up' as const) }]),
    );
    const status = this.broken.has('backend')
      ? 'down'
      : DEPENDENCIES.some((d) => this.broken.has(d))
        ? 'degraded'
        : 'ok';
    return { status, components };
  }

  async break(target: Target): Promise<void> {
    this.broken.add(target);
    // A broken proxy stops accepting connections: the prober sees ECONNREFUSED, as with a dead nginx.
    if (target === 'proxy') await close(this.proxy);
  }

  async heal(target: Target): Promise<void> {
    this.broken.delete(target);
    if (target === 'proxy' && !this.proxy.listening) {
      this.proxy = this.makeProxy();
      await listen(this.proxy, this.host, this.proxyPort);
    }
  }

  async stop(): Promise<void> {
    this.traffic?.stop();
    await Promise.all([close(this.backend), close(this.frontend), close(this.proxy)]);
    await this.telemetry?.shutdown();
  }

  private onBackend(req: http.IncomingMessage, res: http.ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0];
    const json = (status: number, body: unknown): void => {
      res
        .writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' })
        .end(JSON.stringify(body) + '\n');
    };
    if (path === '/health') {
      const h = this.health();
      return json(h.status === 'down' ? 503 : 200, h);
    }
    if (this.broken.has('backend')) return json(503, { error: 'backend unavailable' });
    if (path === '/api/status')
      return json(200, { instance: this.spec.instance, status: this.health().status });
    json(404, { error: 'not found' });
  }

  private onFrontend(req: http.IncomingMessage, res: http.ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0];
    const send = (status: number, type: string, body: string): void => {
      res
        .writeHead(status, { 'content-type': `${type}; charset=utf-8`, 'cache-control': 'no-store' })
        .end(body);
    };
    if (this.broken.has('frontend')) return send(503, 'text/plain', 'frontend unavailable\n');
    if (path === '/healthz') return send(200, 'application/json', '{"status":"ok"}\n');
    const asset = path === '/app.js' ? 'js' : path === '/app.css' ? 'css' : undefined;
    const isPage = path === '/' || path === '/chat' || path?.startsWith('/appointments/');
    if (!isPage && !(asset && this.page)) return send(404, 'text/plain', 'not found\n');
    if (!this.page) return send(200, 'text/html', FALLBACK_PAGE(this.spec.clientName));
    this.page().then(
      (page) =>
        asset
          ? send(200, asset === 'js' ? 'text/javascript' : 'text/css', page[asset])
          : send(200, 'text/html', page.html),
      (err: unknown) =>
        send(
          500,
          'text/plain',
          `the web chat page could not be built: ${err instanceof Error ? err.message : String(err)}\n`,
        ),
    );
  }

  /** /api/* and /health go to the backend, everything else to the frontend. */
  private makeProxy(): http.Server {
    return http.createServer((req, res) => {
      const toBackend = /^\/(api\/|health\b)/.test(req.url ?? '/');
      const upstream = new URL(req.url ?? '/', toBackend ? this.urls.backend : this.urls.frontend);
      const fwd = http.request(
        upstream,
        { method: req.method, headers: { ...req.headers, host: upstream.host }, agent: false },
        (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        },
      );
      fwd.on('error', () => {
        if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' }).end('bad gateway\n');
      });
      req.pipe(fwd);
    });
  }
}

/** The web chat of faro's exporters/concierge-demo/web/, if that folder is there. */
export async function loadWebBuilder(): Promise<
  ((collectUrl: string, practiceName: string) => Promise<WebPage>) | undefined
> {
  // Beside the sources (run through tsx) web/server.ts; beside the build (dist/) its build, dist/web/server.js.
  const file = import.meta.filename.endsWith('.ts')
    ? path.resolve(import.meta.dirname, '../web/server.ts')
    : path.resolve(import.meta.dirname, 'web/server.js');
  if (!fs.existsSync(file)) return undefined;
  const mod = (await import(file)) as {
    bundleDemoWeb?: () => Promise<object>;
    demoPage?: (bundle: object, o: { collectUrl: string; practiceName?: string }) => WebPage;
  };
  const { bundleDemoWeb, demoPage } = mod;
  if (!bundleDemoWeb || !demoPage) return undefined;
  // Every instance's page shares one bundle, made at the first page's first view (it was once per instance, at
  // start: a second of esbuild each, and its service process kept for as long as the demo ran).
  let bundled: Promise<object> | undefined;
  return async (collectUrl, practiceName) =>
    demoPage(await (bundled ??= bundleDemoWeb()), { collectUrl, practiceName });
}
