/**
 * Builds and serves the demo's patient-facing web chat (index.html + src/main.ts bundled with esbuild).
 * `serveDemoWeb({ collectUrl })` is what the demo fleet calls, once per simulated instance.
 */
import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

// Built, this module runs from dist/web/; the page's own files (html, css, the browser code) stay in web/.
const DIR =
  path.basename(path.dirname(import.meta.dirname)) === 'dist'
    ? path.resolve(import.meta.dirname, '../../web')
    : import.meta.dirname;

export interface DemoWebApp {
  /** Faro `app` meta: name, version and deployment environment of the page. */
  name: string;
  version: string;
  environment: string;
}

export interface DemoWebOptions {
  /** The Faro collect URL with the instance's app key: `<control plane>/api/v1/faro/collect/<appKey>`. */
  collectUrl: string;
  app?: Partial<DemoWebApp>;
  /** Shown as the page title, e.g. the client's practice name. */
  practiceName?: string;
  /** Delay of the late notice banner that shifts the layout (default 400 ms). */
  noticeDelayMs?: number;
}

export interface ServeOptions extends DemoWebOptions {
  /** Default 0: a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
}

export interface DemoWebServer {
  /** Where the page is, e.g. http://127.0.0.1:41234 (its origin is what the app key must allow). */
  url: string;
  origin: string;
  close(): Promise<void>;
}

export interface DemoWebBuild {
  /** index.html with this page's configuration in it. */
  html: string;
  css: string;
  /** The browser bundle (Faro web SDK included), an IIFE. */
  js: string;
}

export const DEFAULT_APP: DemoWebApp = { name: 'concierge-web-chat', version: '1.0.0', environment: 'demo' };

/** What every page shares: the HTML template, the stylesheet and the browser bundle. */
export interface DemoWebBundle {
  template: string;
  css: string;
  js: string;
}

/**
 * Reads the page's files and bundles its browser code (about a second), then stops esbuild's service process:
 * the demo fleet bundles once for all its pages, and would otherwise keep that process (about 26 MB resident)
 * for as long as it runs. esbuild is imported here, so a demo that serves no page never loads it. Not for calls
 * that overlap in one process: the second would find esbuild stopped under it.
 */
export async function bundleDemoWeb(): Promise<DemoWebBundle> {
  const esbuild = await import('esbuild');
  try {
    const [template, css, bundle] = await Promise.all([
      fs.readFile(path.join(DIR, 'index.html'), 'utf8'),
      fs.readFile(path.join(DIR, 'app.css'), 'utf8'),
      esbuild.build({
        entryPoints: [path.join(DIR, 'src', 'main.ts')],
        bundle: true,
        write: false,
        format: 'iife',
        platform: 'browser',
        target: ['chrome110', 'firefox110', 'safari16'],
        minify: true,
        legalComments: 'none',
        logLevel: 'silent',
      }),
    ]);
    return { template, css, js: bundle.outputFiles[0]!.text };
  } finally {
    await esbuild.stop();
  }
}

/** One page from the shared bundle: index.html with this page's configuration in it. */
export function demoPage(bundle: DemoWebBundle, options: DemoWebOptions): DemoWebBuild {
  new URL(options.collectUrl); // throws on a malformed URL, before the page would fail silently
  const config = {
    collectUrl: options.collectUrl,
    app: { ...DEFAULT_APP, ...options.app },
    practiceName: options.practiceName,
    noticeDelayMs: options.noticeDelayMs,
  };
  // `<` escaped: the JSON sits inside a <script> element and must not be able to close it.
  const json = JSON.stringify(config).replace(/</g, '\\u003c');
  return { html: bundle.template.replace('__CONFIG__', () => json), css: bundle.css, js: bundle.js };
}

/** Bundles the page for `options` (about a second: do it once per server, not per request). */
export async function buildDemoWeb(options: DemoWebOptions): Promise<DemoWebBuild> {
  new URL(options.collectUrl);
  return demoPage(await bundleDemoWeb(), options);
}

// The chat's own routes; any other path is 404 (the receiver labels pages by these templates too).
const PAGES = [/^\/$/, /^\/chat\/?$/, /^\/appointments\/[^/]+\/?$/];

/** Serves the page on loopback (or `host`): `/`, `/chat`, `/appointments/:id`, `/app.js`, `/app.css`, `/healthz`. */
export async function serveDemoWeb(options: ServeOptions): Promise<DemoWebServer> {
  const built = await buildDemoWeb(options);
  const collectOrigin = new URL(options.collectUrl).origin;
  const csp = [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    `connect-src ${collectOrigin}`,
    "img-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
  const server = http.createServer((req, res) => {
    const pathname = new URL(req.url ?? '/', 'http://x').pathname;
    const send = (status: number, type: string, body: string) => {
      res.writeHead(status, {
        'Content-Type': `${type}; charset=utf-8`,
        'Cache-Control': 'no-store',
        'X-Content-Type-Options': 'nosniff',
        ...(type === 'text/html' ? { 'Content-Security-Policy': csp } : {}),
      });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'text/plain', 'method not allowed\n');
    if (pathname === '/app.js') return send(200, 'text/javascript', built.js);
    if (pathname === '/app.css') return send(200, 'text/css', built.css);
    if (pathname === '/healthz') return send(200, 'application/json', '{"status":"ok"}\n');
    if (PAGES.some((p) => p.test(pathname))) return send(200, 'text/html', built.html);
    return send(404, 'text/plain', 'not found\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  const origin = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${addr.port}`;
  return {
    url: origin,
    origin,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
