import { createHash } from 'node:crypto';
import { urlToHttpOptions } from 'node:url';
import { httpCallChunks } from './http-client.ts';
import {
  DEFAULT_TLS_DAYS,
  MAX_BODY_REGEX,
  parseDnsServer,
  parseJsonPath,
} from '@concierge-ops/shared/probes';
import {
  DNS_RECORD_TYPES,
  PROBE_TYPES,
  SERVICE_KINDS,
  type DnsRecordType,
  type Logger,
  type ProbeType,
  type ProbeUrl,
  type ServiceKind,
  type Target,
} from './types.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DAY_SECONDS = 86_400;

export interface ParsedTargets {
  readonly targets: Target[];
  /** One line per rejected group; a bad group never takes the others down with it. */
  readonly errors: string[];
}

/** Parses Prometheus http_sd JSON as served by the control plane (one target group per service). */
export function parseTargetGroups(body: unknown): ParsedTargets {
  if (!Array.isArray(body)) return { targets: [], errors: ['response is not a JSON array'] };
  const targets: Target[] = [];
  const errors: string[] = [];
  const seen = new Set<string>();
  body.forEach((group: unknown, i) => {
    const parsed = parseGroup(group);
    if (typeof parsed === 'string') {
      errors.push(`group ${i}: ${parsed}`);
    } else if (seen.has(parsed.key)) {
      errors.push(`group ${i}: duplicate service ${parsed.key}`);
    } else {
      seen.add(parsed.key);
      targets.push(parsed);
    }
  });
  return { targets, errors };
}

function parseGroup(group: unknown): Target | string {
  if (typeof group !== 'object' || group === null) return 'not an object';
  const { targets, labels } = group as { targets?: unknown; labels?: unknown };
  if (!Array.isArray(targets) || targets.length !== 1 || typeof targets[0] !== 'string') {
    return 'targets must hold exactly one string';
  }
  if (typeof labels !== 'object' || labels === null) return 'labels missing';
  const l = labels as Record<string, unknown>;
  const str = (name: string): string | undefined =>
    typeof l[name] === 'string' ? (l[name] as string) : undefined;
  for (const name of ['client', 'instance', 'service', 'service_kind']) {
    if (!str(name)) return `label ${name} missing`;
  }
  const serviceKind = str('service_kind') as ServiceKind;
  if (!SERVICE_KINDS.includes(serviceKind)) return 'label service_kind invalid';
  const instanceId = str('__meta_concierge_instance_id') ?? '';
  if (!UUID.test(instanceId)) return 'label __meta_concierge_instance_id must be a uuid';
  const probeType = str('__meta_concierge_probe_type') as ProbeType;
  if (!PROBE_TYPES.includes(probeType)) return 'label __meta_concierge_probe_type must be http, tcp or dns';
  const expectStatus = intLabel(str('__meta_concierge_expect_status'), 200, 100, 599);
  const timeoutMs = intLabel(str('__meta_concierge_timeout_ms'), 5000, 1, 600_000);
  if (expectStatus === undefined) return 'label __meta_concierge_expect_status invalid';
  if (timeoutMs === undefined) return 'label __meta_concierge_timeout_ms invalid';
  const healthJson = str('__meta_concierge_health_json') === 'true';

  const target: {
    -readonly [K in keyof Target]: Target[K];
  } = {
    key: `${instanceId.toLowerCase()}/${str('service')}`,
    labels: Object.freeze({
      client: str('client')!,
      instance: str('instance')!,
      service: str('service')!,
      service_kind: serviceKind,
    }),
    instanceId: instanceId.toLowerCase(),
    service: str('service')!,
    probeType,
    expectStatus,
    timeoutMs,
    healthJson,
    fingerprint: '',
  };
  let href: string | undefined;
  if (probeType === 'http') {
    const url = parseHttpUrl(str('__meta_concierge_probe_url') ?? targets[0]);
    if (!url) return 'probe url must be an http(s) URL';
    href = url.href;
    target.url = probeUrl(url);
    if (url.protocol === 'https:') {
      const warning = intLabel(str('__meta_concierge_tls_warning_days'), DEFAULT_TLS_DAYS.warning, 1, 365);
      const critical = intLabel(str('__meta_concierge_tls_critical_days'), DEFAULT_TLS_DAYS.critical, 0, 364);
      if (warning === undefined) return 'label __meta_concierge_tls_warning_days invalid';
      if (critical === undefined) return 'label __meta_concierge_tls_critical_days invalid';
      target.tlsWarningSeconds = warning * DAY_SECONDS;
      target.tlsCriticalSeconds = critical * DAY_SECONDS;
    }
  } else if (probeType === 'dns') {
    const name = str('__meta_concierge_dns_name') ?? targets[0];
    const recordType = str('__meta_concierge_dns_record_type') as DnsRecordType;
    if (!/^[A-Za-z0-9_.-]{1,253}$/.test(name)) return 'label __meta_concierge_dns_name invalid';
    if (!DNS_RECORD_TYPES.includes(recordType)) return 'label __meta_concierge_dns_record_type invalid';
    const server = str('__meta_concierge_dns_server');
    const expect = str('__meta_concierge_dns_expect');
    const dnsServer = server === undefined ? undefined : parseDnsServer(server)?.server;
    if (server !== undefined && dnsServer === undefined)
      return 'label __meta_concierge_dns_server must be an IP address with an optional port';
    target.dns = Object.freeze({
      name,
      recordType,
      ...(dnsServer !== undefined ? { server: dnsServer } : {}),
      ...(expect !== undefined && expect !== '' ? { expect } : {}),
    });
    href = `dns:${name}/${recordType}@${server ?? ''}=${expect ?? ''}`;
  } else {
    const hp = parseHostPort(targets[0]);
    if (!hp) return 'tcp target must be host:port';
    target.host = hp.host;
    target.port = hp.port;
  }
  const bodyRegex = str('__meta_concierge_body_regex');
  if (bodyRegex !== undefined && bodyRegex !== '') {
    try {
      if (bodyRegex.length > MAX_BODY_REGEX) throw new Error('too long');
      target.bodyRegex = new RegExp(bodyRegex);
    } catch {
      return 'label __meta_concierge_body_regex invalid';
    }
  }
  const jsonPath = str('__meta_concierge_body_json_path');
  const jsonEquals = str('__meta_concierge_body_json_equals');
  if (jsonPath !== undefined) {
    const path = parseJsonPath(jsonPath);
    if (path === undefined) return 'label __meta_concierge_body_json_path invalid';
    const equals = parseJsonScalar(jsonEquals);
    if (equals === undefined) return 'label __meta_concierge_body_json_equals must be a JSON scalar';
    target.bodyJson = Object.freeze({
      text: jsonPath,
      path: Object.freeze(path),
      equals: equals.value,
      missingReason: `body JSON has no ${jsonPath}`,
      mismatchReason: `body JSON ${jsonPath} is not the expected value`,
    });
  }
  // A digest, not the text: thousands of targets each kept a few hundred bytes of JSON only to compare it.
  target.fingerprint = digestOf(
    JSON.stringify([
      target.labels,
      probeType,
      href ?? `${target.host}:${target.port}`,
      expectStatus,
      timeoutMs,
      healthJson,
      bodyRegex ?? '',
      jsonPath ?? '',
      jsonEquals ?? '',
      target.tlsWarningSeconds ?? 0,
      target.tlsCriticalSeconds ?? 0,
    ]),
  );
  return Object.freeze(target);
}

function digestOf(data: string | readonly Buffer[]): string {
  const hash = createHash('sha1');
  for (const c of typeof data === 'string' ? [data] : data) hash.update(c);
  return hash.digest('base64');
}

function intLabel(v: string | undefined, def: number, min: number, max: number): number | undefined {
  if (v === undefined || v === '') return def;
  const n = Number(v);
  return Number.isInteger(n) && n >= min && n <= max ? n : undefined;
}

function parseHttpUrl(v: string): URL | undefined {
  try {
    const u = new URL(v);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u : undefined;
  } catch {
    return undefined;
  }
}

/** The parts of a URL an http probe uses, by node's own rules (brackets, credentials, path and query). */
function probeUrl(url: URL): ProbeUrl {
  const o = urlToHttpOptions(url);
  return Object.freeze({
    protocol: url.protocol as ProbeUrl['protocol'],
    hostname: o.hostname ?? '',
    port: url.port,
    path: o.path ?? '/',
    ...(o.auth ? { auth: o.auth } : {}),
  });
}

/** `"ok"`, `200`, `true`, `null`: the expected value as the control plane wrote it (JSON text). */
function parseJsonScalar(v: string | undefined): { value: string | number | boolean | null } | undefined {
  if (v === undefined) return undefined;
  try {
    const value: unknown = JSON.parse(v);
    if (value === null || ['string', 'number', 'boolean'].includes(typeof value))
      return { value: value as string | number | boolean | null };
  } catch {
    // not JSON
  }
  return undefined;
}

/** "host:port" or "[v6]:port". */
export function parseHostPort(v: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([^\]]+)\]|([^:\s]+)):(\d{1,5})$/.exec(v);
  if (!m) return undefined;
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return undefined;
  return { host: (m[1] ?? m[2])!, port };
}

export interface DiscoveryOptions {
  readonly url: string;
  readonly token: string;
  readonly refreshMs: number;
  readonly logger: Logger;
  /** Called with the full new list after every successful refresh. */
  readonly onTargets: (targets: Target[]) => void;
  readonly onError: (kind: 'sd_fetch' | 'sd_invalid') => void;
}

/**
 * Polls the control plane's http_sd endpoint the way Prometheus does: the full list every time, and on
 * error the last good list stays in force (nothing is called).
 */
export class Discovery {
  private timer: NodeJS.Timeout | undefined;
  private stopped = true;
  private inFlight: Promise<void> | undefined;
  /** What the last good answer was, to skip re-parsing an unchanged list. */
  private etag: string | undefined;
  private digest: string | undefined;

  constructor(private readonly opts: DiscoveryOptions) {}

  /** Runs the first refresh (its failure is logged, not thrown) and then keeps refreshing. */
  async start(): Promise<void> {
    this.stopped = false;
    await this.refresh();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.inFlight;
  }

  /** One refresh now; resolves when done. */
  refresh(): Promise<void> {
    this.inFlight ??= this.fetchOnce().finally(() => {
      this.inFlight = undefined;
      if (!this.stopped) {
        clearTimeout(this.timer);
        this.timer = setTimeout(() => void this.refresh(), this.opts.refreshMs);
      }
    });
    return this.inFlight;
  }

  private async fetchOnce(): Promise<void> {
    const { logger } = this.opts;
    let body: unknown;
    let answer: { digest: string; etag: string | undefined };
    try {
      const headers: Record<string, string> = {
        authorization: `Bearer ${this.opts.token}`,
        accept: 'application/json',
      };
      if (this.etag !== undefined) headers['if-none-match'] = this.etag;
      const res = await httpCallChunks(this.opts.url, {
        headers,
        timeoutMs: Math.max(1000, Math.min(this.opts.refreshMs, 10_000)),
      });
      if (res.status === 304) return;
      if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
      // At thousands of targets the list is megabytes of JSON that rarely changes: parsing it and rebuilding
      // every target each refresh cost memory (all of it promoted garbage) and CPU for nothing.
      // An unchanged list is hashed as it arrived, in its chunks: never copied into one buffer and a string
      // (three copies of megabytes at once, every refresh, were the prober's highest resident peak).
      const digest = digestOf(res.chunks);
      const etag = res.headers.etag;
      if (digest === this.digest) {
        this.etag = etag;
        return;
      }
      body = JSON.parse(Buffer.concat(res.chunks.splice(0)).toString('utf8'));
      answer = { digest, etag };
    } catch (err) {
      this.opts.onError('sd_fetch');
      logger.warn({ err: errText(err) }, 'service discovery failed; keeping the last good target list');
      return;
    }
    const { targets, errors } = parseTargetGroups(body);
    if (errors.length > 0) {
      this.opts.onError('sd_invalid');
      logger.warn({ errors: errors.slice(0, 20), rejected: errors.length }, 'rejected invalid target groups');
      // A response that is not even an array is treated like a failed fetch: keep the last list.
      if (!Array.isArray(body)) return;
    }
    ({ digest: this.digest, etag: this.etag } = answer);
    this.opts.onTargets(targets);
  }
}

export function errText(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    const cause = err.cause instanceof Error ? `: ${errText(err.cause)}` : '';
    return `${code ?? err.name}${err.message && !code ? ` ${err.message}` : ''}${cause}`;
  }
  return String(err);
}
