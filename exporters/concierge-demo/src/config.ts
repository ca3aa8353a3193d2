/** The demo's configuration. Only this file reads the environment. */

export interface DemoConfig {
  /** Control plane base URL, no trailing slash. */
  readonly controlPlaneUrl: string;
  /** Staff (admin or operator) token: the demo registers clients and instances. Never logged. */
  readonly controlPlaneToken: string;
  /** Where the running demo leaves `control.json` (its control API's address) for break/heal. */
  readonly stateDir: string;
  /** Simulated client instances, 1-10. */
  readonly instances: number;
  /** Simulated patient turns per second per instance. */
  readonly rps: number;
  /** Interface every demo server listens on. */
  readonly host: string;
  /** Host name the prober and Prometheus reach the demo by (DEMO_PUBLIC_HOST; default the listening address, or
   * 127.0.0.1 when that is a wildcard). In docker-compose it is the service name. */
  readonly publicHost: string;
  /** Seed of the traffic simulation (same seed, same traffic). */
  readonly seed: number;
  /**
   * A node_exporter and a postgres_exporter to register on the first instance (DEMO_NODE_EXPORTER_URL,
   * DEMO_POSTGRES_EXPORTER_URL; docker-compose runs one of each), so the host and database jobs have targets.
   */
  readonly exporters: { nodeExporterUrl?: string; postgresExporterUrl?: string };
}

export class DemoConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid demo configuration: ${problems.join('; ')}`);
    this.name = 'DemoConfigError';
  }
}

type Env = Readonly<Record<string, string | undefined>>;

/** The state folder a started demo writes (`./data/demo` unless DEMO_STATE_DIR says otherwise). */
export function stateDir(env: Env = process.env): string {
  return env.DEMO_STATE_DIR?.trim() || './data/demo';
}

/**
 * Where break, heal and status look for a running demo: DEMO_STATE_DIR alone when set; otherwise the demo's
 * own default, then the one `npm run stack` starts (`DATA_DIR/demo`, `.stack/demo` by default), so a command
 * typed beside the stack finds its demo without knowing where it keeps its state.
 */
export function stateDirCandidates(env: Env = process.env): string[] {
  const set = env.DEMO_STATE_DIR?.trim();
  if (set) return [set];
  const data = env.DATA_DIR?.trim();
  return [
    ...new Set(['./data/demo', ...(data ? [`${data.replace(/\/+$/, '')}/demo`] : []), './.stack/demo']),
  ];
}

/** Reads and validates everything `npm run demo` needs; names every bad variable at once. */
export function loadDemoConfig(env: Env = process.env): DemoConfig {
  const problems: string[] = [];
  const raw = (name: string) => {
    const v = env[name]?.trim();
    return v ? v : undefined;
  };
  const number = (name: string, def: number, min: number, max: number, integer: boolean) => {
    const v = raw(name);
    if (v === undefined) return def;
    const n = Number(v);
    if (!Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
      problems.push(`${name} must be ${integer ? 'an integer' : 'a number'} between ${min} and ${max}`);
      return def;
    }
    return n;
  };
  const httpUrl = (v: string) => {
    try {
      return ['http:', 'https:'].includes(new URL(v).protocol);
    } catch {
      return false;
    }
  };
  const exporters: { nodeExporterUrl?: string; postgresExporterUrl?: string } = {};
  for (const [name, key] of [
    ['DEMO_NODE_EXPORTER_URL', 'nodeExporterUrl'],
    ['DEMO_POSTGRES_EXPORTER_URL', 'postgresExporterUrl'],
  ] as const) {
    const v = raw(name);
    if (v === undefined) continue;
    if (httpUrl(v)) exporters[key] = v;
    else problems.push(`${name} must be an http(s) URL`);
  }
  let url = raw('CONTROL_PLANE_URL') ?? '';
  if (!url) problems.push('CONTROL_PLANE_URL is required (the control plane the demo registers with)');
  else {
    let ok: boolean;
    try {
      ok = ['http:', 'https:'].includes(new URL(url).protocol);
    } catch {
      ok = false;
    }
    if (!ok) problems.push('CONTROL_PLANE_URL must be an http(s) URL');
    url = url.replace(/\/+$/, '');
  }
  const token = raw('CONTROL_PLANE_TOKEN') ?? '';
  if (!token) problems.push('CONTROL_PLANE_TOKEN is required (an admin or operator token)');
  const host = raw('DEMO_HOST') ?? '127.0.0.1';
  if (!/^[0-9a-fA-F.:]+$|^localhost$/.test(host))
    problems.push('DEMO_HOST must be an IP address or localhost');
  const publicHost = raw('DEMO_PUBLIC_HOST') ?? (['0.0.0.0', '::'].includes(host) ? '127.0.0.1' : host);
  if (!/^[0-9a-fA-F.:]+$|^[a-zA-Z0-9]([a-zA-Z0-9.-]{0,251}[a-zA-Z0-9])?$/.test(publicHost))
    problems.push('DEMO_PUBLIC_HOST must be a host name or an IP address');
  const config: DemoConfig = {
    controlPlaneUrl: url,
    controlPlaneToken: token,
    stateDir: stateDir(env),
    instances: number('DEMO_INSTANCES', 3, 1, 10, true),
    rps: number('DEMO_RPS', 5, 0.1, 500, false),
    host,
    publicHost,
    seed: number('DEMO_SEED', 1, 0, 2 ** 31, true),
    exporters,
  };
  if (problems.length > 0) throw new DemoConfigError(problems);
  return Object.freeze(config);
}
