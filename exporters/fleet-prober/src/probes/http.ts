import http from 'node:http';
import https from 'node:https';
import type { TLSSocket, PeerCertificate, DetailedPeerCertificate } from 'node:tls';
import type { ProbeResult, Target } from '../types.ts';
import { bodyMismatch } from './body.ts';
import { failure, ProbeError, probeResult, socketErrorReason } from './common.ts';

export interface HttpProbeOptions {
  /** Extra trust anchors for https (e.g. a private CA); replaces the default store when set. */
  readonly ca?: string | Buffer;
  /** Largest body read when it must be inspected (health JSON, body regex or JSON path); more fails the probe. */
  readonly maxBodyBytes?: number;
}

const DEFAULT_MAX_BODY = 256 * 1024;
const HEALTH_STATUSES = new Set(['ok', 'degraded', 'down']);
/** Dependency names become label values: keep them short and tame so a bad body cannot blow up cardinality. */
const DEP_NAME = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;
const MAX_DEPENDENCIES = 16;
const HEADERS = Object.freeze({
  'user-agent': 'concierge-fleet-prober/1',
  accept: '*/*',
  connection: 'close',
});
/**
 * Shared agents that never keep a connection: each probe still gets a fresh one (no keep-alive, and no
 * queue in which a freed socket could be handed to the next request), without building a whole Agent per
 * probe as `agent: false` does.
 */
const AGENTS = {
  http: new http.Agent({ keepAlive: false, maxSockets: Infinity }),
  // No TLS session reuse either: a resumed session may carry no peer certificate to read the expiry from.
  https: new https.Agent({ keepAlive: false, maxSockets: Infinity, maxCachedSessions: 0 }),
};

/**
 * 'HTTP 200' and the like, one string per status: each target's last result holds its reason, and thousands
 * of equal strings built per probe would each be kept (and collected) on their own. Bounded: node's parser
 * only yields three-digit statuses.
 */
const HTTP_REASONS = new Map<number, string>();
function httpReason(status: number): string {
  let reason = HTTP_REASONS.get(status);
  if (reason === undefined) HTTP_REASONS.set(status, (reason = `HTTP ${status}`));
  return reason;
}

interface RawResponse {
  status: number;
  body?: Buffer;
  certExpiry?: number;
}

/**
 * One HTTP(S) GET on a fresh connection, as the blackbox exporter does: a server that
 * stopped accepting connections must show as down even while old keep-alive connections still answer.
 */
export async function probeHttp(target: Target, opts: HttpProbeOptions = {}): Promise<ProbeResult> {
  const started = performance.now();
  const elapsed = (): number => (performance.now() - started) / 1000;
  const needBody = target.healthJson || target.bodyRegex !== undefined || target.bodyJson !== undefined;
  let raw: RawResponse;
  try {
    raw = await request(target, needBody, opts);
  } catch (err) {
    return failure(socketErrorReason(err, target.timeoutMs), elapsed());
  }
  const durationSeconds = elapsed();
  const base = { httpStatus: raw.status, certExpiry: raw.certExpiry };
  if (raw.status !== target.expectStatus) {
    return probeResult(false, 'down', durationSeconds, httpReason(raw.status), base);
  }
  const body = raw.body ?? Buffer.alloc(0);
  const mismatch = bodyMismatch(target, body);
  if (mismatch !== undefined) return probeResult(false, 'down', durationSeconds, mismatch, base);
  if (!target.healthJson) return probeResult(true, 'up', durationSeconds, httpReason(raw.status), base);
  const health = parseHealth(body);
  if (typeof health === 'string') return probeResult(false, 'down', durationSeconds, health, base);
  const downDeps = [...health.dependencies].filter(([, up]) => !up).map(([name]) => name);
  const withDeps = { ...base, dependencies: health.dependencies };
  if (health.status === 'down') {
    return probeResult(false, 'down', durationSeconds, 'health status down', withDeps);
  }
  if (health.status === 'degraded' || downDeps.length > 0) {
    const reason = downDeps.length > 0 ? `dependency down: ${downDeps.join(', ')}` : 'health status degraded';
    // The service answered: the probe succeeded, the service is degraded.
    return probeResult(true, 'degraded', durationSeconds, reason, withDeps);
  }
  return probeResult(true, 'up', durationSeconds, httpReason(raw.status), withDeps);
}

/** Parses the concierge health JSON; a string is the reason it is unusable. */
export function parseHealth(body: Buffer): { status: string; dependencies: Map<string, boolean> } | string {
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    return 'health body is not JSON';
  }
  if (typeof json !== 'object' || json === null) return 'health body is not an object';
  const { status, components } = json as { status?: unknown; components?: unknown };
  if (typeof status !== 'string' || !HEALTH_STATUSES.has(status)) return 'health status missing or unknown';
  const dependencies = new Map<string, boolean>();
  if (typeof components === 'object' && components !== null) {
    for (const [name, c] of Object.entries(components)) {
      if (!DEP_NAME.test(name) || dependencies.size >= MAX_DEPENDENCIES) continue;
      const s = typeof c === 'object' && c !== null ? (c as { status?: unknown }).status : undefined;
      dependencies.set(name, s === 'up' || s === 'ok');
    }
  }
  return { status, dependencies };
}

function request(target: Target, needBody: boolean, opts: HttpProbeOptions): Promise<RawResponse> {
  const url = target.url!;
  const isHttps = url.protocol === 'https:';
  const maxBody = opts.maxBodyBytes ?? DEFAULT_MAX_BODY;
  return new Promise<RawResponse>((resolve, reject) => {
    let settled = false;
    const settle = (err: unknown, value?: RawResponse): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) {
        req.destroy();
        reject(err);
      } else resolve(value!);
    };
    const options: https.RequestOptions = {
      protocol: url.protocol,
      hostname: url.hostname,
      port: url.port,
      path: url.path,
      auth: url.auth,
      method: 'GET',
      agent: isHttps ? AGENTS.https : AGENTS.http,
      headers: HEADERS,
    };
    if (isHttps && opts.ca !== undefined) options.ca = opts.ca;
    const req = (isHttps ? https : http).request(options, (res) => {
      const status = res.statusCode ?? 0;
      const certExpiry = isHttps ? earliestExpiry(res.socket as TLSSocket) : undefined;
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        if (!needBody) return;
        size += chunk.length;
        if (size <= maxBody) chunks.push(chunk);
        else settle(new ProbeError('body too large'));
      });
      res.on('end', () =>
        settle(undefined, { status, certExpiry, body: needBody ? Buffer.concat(chunks) : undefined }),
      );
      res.on('error', (err) => settle(err));
      res.on('close', () => settle(new ProbeError('connection closed before the body ended')));
    });
    // The timeout covers the whole exchange (connect, TLS, headers and body), like blackbox's.
    const timer = setTimeout(() => settle(new ProbeError('timeout')), target.timeoutMs);
    req.on('error', (err) => settle(err));
    req.end();
  });
}

/** Earliest notAfter over the peer's chain, in unix seconds (blackbox's probe_ssl_earliest_cert_expiry). */
function earliestExpiry(socket: TLSSocket): number | undefined {
  if (typeof socket.getPeerCertificate !== 'function') return undefined;
  let cert: PeerCertificate | DetailedPeerCertificate | undefined = socket.getPeerCertificate(true);
  let earliest: number | undefined;
  const seen = new Set<string>();
  while (cert && cert.valid_to && !seen.has(cert.fingerprint256)) {
    seen.add(cert.fingerprint256);
    const t = Date.parse(cert.valid_to) / 1000;
    if (Number.isFinite(t) && (earliest === undefined || t < earliest)) earliest = t;
    cert = 'issuerCertificate' in cert ? cert.issuerCertificate : undefined;
  }
  return earliest;
}
