/**
 * Test and bench helpers: a loopback stand-in for the control plane's prober endpoints, http_sd group
 * builders, a self-signed certificate maker and a tiny exposition-format reader. Not used in production.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

export interface TransitionBody {
  prober: string;
  transitions: Array<{
    id: string;
    instanceId: string;
    service: string;
    state: string;
    at: string;
    reason: string;
  }>;
}

export interface GroupSpec {
  instanceId: string;
  service: string;
  client?: string;
  instance?: string;
  kind?: string;
  type?: 'http' | 'tcp';
  /** URL for http, host:port for tcp. */
  target: string;
  expectStatus?: number;
  timeoutMs?: number;
  healthJson?: boolean;
}

export function sdGroup(g: GroupSpec): { targets: string[]; labels: Record<string, string> } {
  const type = g.type ?? 'http';
  const labels: Record<string, string> = {
    client: g.client ?? 'acme',
    instance: g.instance ?? `${g.client ?? 'acme'}-prod`,
    service: g.service,
    service_kind: g.kind ?? 'backend',
    __meta_concierge_instance_id: g.instanceId,
    __meta_concierge_probe_type: type,
    __meta_concierge_expect_status: String(g.expectStatus ?? 200),
    __meta_concierge_timeout_ms: String(g.timeoutMs ?? 2000),
    __meta_concierge_health_json: String(g.healthJson ?? false),
  };
  if (type === 'http') labels.__meta_concierge_probe_url = g.target;
  return { targets: [g.target], labels };
}

/**
 * Stands in for GET /api/v1/sd/probe-targets, GET /api/v1/availability/state, POST .../transitions and
 * POST .../heartbeat.
 */
export class ControlPlaneStandIn {
  groups: unknown[] = [];
  states: Array<{ instanceId: string; service: string; state: string; since: string }> = [];
  /** Status answered to transition posts (2xx = committed and recorded). */
  transitionStatus = 200;
  /** Committed batches, in arrival order. */
  readonly batches: TransitionBody[] = [];
  readonly requests: Array<{ method: string; path: string; authorized: boolean }> = [];
  /** Called as each batch is committed, before the answer goes out. */
  onCommit: ((body: TransitionBody) => void) | undefined;
  private server: http.Server | undefined;
  private boundPort = 0;

  constructor(private readonly token: string) {}

  get url(): string {
    return `http://127.0.0.1:${this.boundPort}`;
  }

  /** Every transition committed, flattened in order. */
  get transitions(): TransitionBody['transitions'] {
    return this.batches.flatMap((b) => b.transitions);
  }

  async start(port = 0): Promise<void> {
    this.server = http.createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve, reject) =>
      this.server!.once('error', reject).listen(port, '127.0.0.1', () => resolve()),
    );
    this.boundPort = (this.server.address() as AddressInfo).port;
  }

  /** Unreachable: stop listening and cut every connection (the prober sees ECONNREFUSED). */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Back on the same port. */
  async restart(): Promise<void> {
    await this.start(this.boundPort);
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const path = (req.url ?? '').split('?')[0]!;
    const authorized = req.headers.authorization === `Bearer ${this.token}`;
    this.requests.push({ method: req.method ?? '', path, authorized });
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const json = (status: number, body: unknown): void => {
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      };
      if (!authorized) return json(401, { title: 'unauthorized' });
      if (req.method === 'GET' && path === '/api/v1/sd/probe-targets') return json(200, this.groups);
      if (req.method === 'GET' && path === '/api/v1/availability/state') return json(200, this.states);
      if (req.method === 'POST' && path === '/api/v1/availability/heartbeat') return json(200, {});
      if (req.method === 'POST' && path === '/api/v1/availability/transitions') {
        if (this.transitionStatus >= 300) return json(this.transitionStatus, { title: 'not now' });
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as TransitionBody;
        this.batches.push(body);
        this.onCommit?.(body);
        return json(200, { committed: true });
      }
      json(404, { title: 'not found' });
    });
  }
}

/** A self-signed certificate for 127.0.0.1/localhost, made with openssl; returns PEMs and notAfter. */
export function selfSignedCert(
  dir: string,
  days = 45,
): { key: string; cert: string; notAfterSeconds: number } {
  const keyFile = join(dir, 'key.pem');
  const certFile = join(dir, 'cert.pem');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', String(days),
    '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
    '-keyout', keyFile, '-out', certFile,
  ], { stdio: 'pipe' }); // prettier-ignore
  const end = execFileSync('openssl', ['x509', '-enddate', '-noout', '-in', certFile], { encoding: 'utf8' });
  const notAfter = Date.parse(end.trim().replace(/^notAfter=/, '')) / 1000;
  return {
    key: readFileSync(keyFile, 'utf8'),
    cert: readFileSync(certFile, 'utf8'),
    notAfterSeconds: notAfter,
  };
}

export async function scrape(port: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  return res.text();
}

/** Samples of one metric as [labels, value] pairs, from text exposition format. */
export function samples(text: string, name: string): Array<[Record<string, string>, number]> {
  const out: Array<[Record<string, string>, number]> = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      labels[l[1]!] = l[2]!;
    out.push([labels, Number(m[3])]);
  }
  return out;
}

/** The value of the one sample of `name` whose labels include `match`, or undefined. */
export function sample(text: string, name: string, match: Record<string, string>): number | undefined {
  const found = samples(text, name).filter(([l]) => Object.entries(match).every(([k, v]) => l[k] === v));
  if (found.length > 1) throw new Error(`${found.length} samples of ${name} match ${JSON.stringify(match)}`);
  return found[0]?.[1];
}

/** Polls until `check` returns a truthy value; throws with `what` after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => T | Promise<T>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
