/** Types shared by the prober's parts. */

export const SERVICE_KINDS = ['backend', 'database', 'frontend', 'proxy', 'dependency'] as const;
export type ServiceKind = (typeof SERVICE_KINDS)[number];

export type ServiceState = 'up' | 'down' | 'degraded';

export const PROBE_TYPES = ['http', 'tcp', 'dns'] as const;
export type ProbeType = (typeof PROBE_TYPES)[number];

export { DNS_RECORD_TYPES, type DnsRecordType } from '@concierge-ops/shared/probes';
import type { DnsRecordType } from '@concierge-ops/shared/probes';

/** What a dns probe asks: a name and record type, of one server (unset: the host's resolvers). */
export interface DnsQuery {
  readonly name: string;
  readonly recordType: DnsRecordType;
  /** "address:port" as node's Resolver.setServers takes it (IPv6 in brackets). */
  readonly server?: string;
  /** An answer that must be among those returned; unset: any answer will do. */
  readonly expect?: string;
}

/** A JSON body check: the value at `path` (object keys and array indexes) must equal `equals`. */
export interface BodyJsonMatch {
  /** As configured (`$.checks[0].status`): what a failure's reason names. */
  readonly text: string;
  readonly path: readonly (string | number)[];
  readonly equals: string | number | boolean | null;
  /** The failure reasons, built once per target rather than once per failed probe. */
  readonly missingReason: string;
  readonly mismatchReason: string;
}

/** The labels every per-target series carries. Bounded: one set per (instance, service). */
export const TARGET_LABELS = ['client', 'instance', 'service', 'service_kind'] as const;
export type TargetLabels = Readonly<Record<(typeof TARGET_LABELS)[number], string>>;

/**
 * What an http probe needs of its URL, as node's http.request takes it (node:url's urlToHttpOptions), kept
 * instead of a URL object: a URL holds its parsed context and href besides, ~160 bytes more per target.
 */
export interface ProbeUrl {
  readonly protocol: 'http:' | 'https:';
  /** Without the brackets of an IPv6 literal. */
  readonly hostname: string;
  /** '' for the protocol's default. */
  readonly port: string;
  /** Path and query. */
  readonly path: string;
  /** user:password, decoded, when the URL has credentials. */
  readonly auth?: string;
}

/** One service to probe, as parsed from an http_sd target group. */
export interface Target {
  /** `${instanceId}/${service}`: identity across SD refreshes and in the control plane. */
  readonly key: string;
  readonly labels: TargetLabels;
  readonly instanceId: string;
  readonly service: string;
  readonly probeType: ProbeType;
  /** For http probes. May hold credentials: never log it. */
  readonly url?: ProbeUrl;
  /** For tcp probes. */
  readonly host?: string;
  readonly port?: number;
  readonly expectStatus: number;
  readonly timeoutMs: number;
  readonly healthJson: boolean;
  readonly bodyRegex?: RegExp;
  readonly bodyJson?: BodyJsonMatch;
  /** For https probes: seconds before the certificate's expiry at which CertificateExpiring warns / pages. */
  readonly tlsWarningSeconds?: number;
  readonly tlsCriticalSeconds?: number;
  /** For dns probes. */
  readonly dns?: DnsQuery;
  /** A digest of everything above, to tell whether a refresh changed the target. */
  readonly fingerprint: string;
}

export interface ProbeResult {
  readonly success: boolean;
  /** What the transition logic sees: up, down, or degraded (answered, but a dependency is down). */
  readonly state: ServiceState;
  readonly durationSeconds: number;
  /** Short, safe text: 'HTTP 503', 'connect ECONNREFUSED'. No URLs, no bodies. */
  readonly reason: string;
  readonly httpStatus?: number;
  /** Unix seconds of the earliest notAfter in the verified chain (https only). */
  readonly certExpiry?: number;
  /** dependency name -> up, from the concierge health JSON. */
  readonly dependencies?: ReadonlyMap<string, boolean>;
}

export interface Transition {
  /** uuid v4, the control plane's idempotency key. */
  readonly id: string;
  readonly instanceId: string;
  readonly service: string;
  readonly state: ServiceState;
  /** ISO time of the first probe that observed the new state. */
  readonly at: string;
  readonly reason: string;
}

/** Minimal logger shape (pino's) so that parts do not depend on pino directly. */
export interface Logger {
  error(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}
