import { hostname } from 'node:os';
import { ConfigError } from '@concierge-ops/shared/process';
import { LOG_LEVELS, type LogLevel } from './log.ts';

/** The prober's whole configuration. Only this file reads the environment. */
export interface Config {
  /** Base URL of the control plane, without a trailing slash. */
  readonly controlPlaneUrl: string;
  /** Bearer token for the control plane's SD, state and transitions endpoints. Never logged. */
  readonly proberToken: string;
  readonly port: number;
  readonly probeIntervalSeconds: number;
  readonly concurrency: number;
  readonly downAfter: number;
  /** Undefined: the prober's default, 1 s or a quarter of the probe interval when that is shorter. */
  readonly reprobeIntervalSeconds: number | undefined;
  readonly upAfter: number;
  readonly sdRefreshSeconds: number;
  readonly heartbeatSeconds: number;
  readonly stateDir: string;
  readonly proberId: string;
  readonly logLevel: LogLevel;
  readonly location: string | undefined;
  readonly peers: readonly string[];
  readonly quorum: number | undefined;
  readonly peerPollSeconds: number;
  readonly alertmanagerUrls: readonly string[];
  readonly alertResendSeconds: number;
  readonly alertLabels: Readonly<Record<string, string>>;
}

export { ConfigError };

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Reads and validates the environment. Collects every problem before throwing so an operator fixes
 * them all in one go. Values are never echoed back: a bad URL may carry credentials.
 */
export function loadConfig(env: Env = process.env): Config {
  const problems: string[] = [];
  const raw = (name: string): string | undefined => {
    const v = env[name]?.trim();
    return v === undefined || v === '' ? undefined : v;
  };
  const number = (
    name: string,
    def: number,
    opts: { min: number; max: number; integer: boolean },
  ): number => {
    const v = raw(name);
    if (v === undefined) return def;
    const n = Number(v);
    if (!Number.isFinite(n) || (opts.integer && !Number.isInteger(n)) || n < opts.min || n > opts.max) {
      const kind = opts.integer ? 'an integer' : 'a number';
      problems.push(`${name} must be ${kind} between ${opts.min} and ${opts.max}`);
      return def;
    }
    return n;
  };

  let controlPlaneUrl = raw('CONTROL_PLANE_URL') ?? '';
  if (controlPlaneUrl === '') {
    problems.push('CONTROL_PLANE_URL is required');
  } else if (!isHttpUrl(controlPlaneUrl)) {
    problems.push('CONTROL_PLANE_URL must be an http(s) URL');
  } else {
    controlPlaneUrl = controlPlaneUrl.replace(/\/+$/, '');
  }

  const proberToken = raw('PROBER_TOKEN') ?? '';
  if (proberToken === '') problems.push('PROBER_TOKEN is required');

  const logLevel = raw('LOG_LEVEL') ?? 'info';
  if (!Object.hasOwn(LOG_LEVELS, logLevel)) {
    problems.push(`LOG_LEVEL must be one of ${Object.keys(LOG_LEVELS).join(', ')}`);
  }

  const urls = (name: string): string[] => {
    const list = (raw(name) ?? '')
      .split(',')
      .map((u) => u.trim())
      .filter((u) => u !== '');
    if (list.some((u) => !isHttpUrl(u)))
      problems.push(`${name} must be a comma-separated list of http(s) URLs`);
    return list.map((u) => u.replace(/\/+$/, ''));
  };
  const location = raw('PROBER_LOCATION');
  if (location !== undefined && !/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/.test(location)) {
    problems.push('PROBER_LOCATION must be 1-63 letters, digits, ".", "_" or "-"');
  }
  const peers = urls('PROBER_PEERS');
  const quorum =
    raw('PROBER_QUORUM') === undefined
      ? undefined
      : number('PROBER_QUORUM', 1, { min: 1, max: peers.length + 1, integer: true });
  const alertLabels: Record<string, string> = {};
  const labelText = env['PROBER_ALERT_LABELS'] ?? 'monitor=concierge-ops';
  for (const pair of labelText
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '')) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.+)$/.exec(pair);
    if (!m) {
      problems.push('PROBER_ALERT_LABELS must be name=value pairs separated by commas');
      break;
    }
    alertLabels[m[1]!] = m[2]!.trim();
  }

  const config: Config = {
    controlPlaneUrl,
    proberToken,
    port: number('PROBER_PORT', 9469, { min: 0, max: 65535, integer: true }),
    // Fractional seconds are allowed so that tests and demos can probe every 200 ms.
    probeIntervalSeconds: number('PROBE_INTERVAL_SECONDS', 15, { min: 0.05, max: 3600, integer: false }),
    concurrency: number('PROBER_CONCURRENCY', 64, { min: 1, max: 10000, integer: true }),
    // Re-probes count: four failures in a row (the first and three re-probes a second apart, ~2 s in all)
    // confirm a down, while one lost request is contradicted at once.
    downAfter: number('PROBER_DOWN_AFTER', 4, { min: 1, max: 1000, integer: true }),
    reprobeIntervalSeconds:
      raw('PROBER_REPROBE_INTERVAL_SECONDS') === undefined
        ? undefined
        : number('PROBER_REPROBE_INTERVAL_SECONDS', 1, { min: 0, max: 60, integer: false }),
    upAfter: number('PROBER_UP_AFTER', 2, { min: 1, max: 1000, integer: true }),
    sdRefreshSeconds: number('PROBER_SD_REFRESH_SECONDS', 30, { min: 0.05, max: 86400, integer: false }),
    heartbeatSeconds: number('PROBER_HEARTBEAT_SECONDS', 30, { min: 0.05, max: 3600, integer: false }),
    stateDir: raw('PROBER_STATE_DIR') ?? './data/prober',
    proberId: raw('PROBER_ID') ?? hostname(),
    logLevel: logLevel as LogLevel, // checked above: a bad one has thrown
    location,
    peers,
    // The bounds depend on PROBER_PEERS: a quorum larger than the locations could never be met.
    quorum,
    peerPollSeconds: number('PROBER_PEER_POLL_SECONDS', 1, { min: 0.05, max: 60, integer: false }),
    alertmanagerUrls: urls('PROBER_ALERTMANAGER_URLS'),
    // Prometheus resends every minute; 15 s keeps a restarted Alertmanager's view fresh and endsAt (4x) at 1 min.
    alertResendSeconds: number('PROBER_ALERT_RESEND_SECONDS', 15, { min: 0.05, max: 600, integer: false }),
    alertLabels,
  };
  if (problems.length > 0) throw new ConfigError('prober', problems);
  return Object.freeze(config);
}

function isHttpUrl(value: string): boolean {
  try {
    const u = new URL(value);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}
