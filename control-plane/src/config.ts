import path from 'node:path';

/** Everything the control plane reads from its environment, validated once at start. */
export interface Config {
  readonly port: number;
  readonly host: string;
  readonly databaseUrl: string | undefined;
  readonly dataDir: string;
  readonly embeddedPgPort: number | undefined;
  readonly bootstrapAdminToken: string | undefined;
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  readonly publicUrl: string;
  readonly maxBodyBytes: number;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

function int(env: Env, name: string, def: number | undefined, min: number, max: number, problems: string[]) {
  const raw = env[name];
  if (raw === undefined || raw === '') return def;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    problems.push(`${name}=${JSON.stringify(raw)} must be an integer from ${min} to ${max}`);
    return def;
  }
  return n;
}

function url(env: Env, name: string, protocols: string[], problems: string[]): string | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  try {
    const u = new URL(raw);
    if (!protocols.includes(u.protocol)) throw new Error('protocol');
    return raw;
  } catch {
    // Never echo a database URL back: it may hold a password.
    problems.push(`${name} must be a ${protocols.join(' or ')} URL`);
    return undefined;
  }
}

/** Reads and validates the environment; throws one ConfigError naming every bad variable. */
export function loadConfig(env: Env = process.env): Config {
  const problems: string[] = [];
  const port = int(env, 'PORT', 8080, 0, 65535, problems) ?? 8080;
  const logLevel = (env.LOG_LEVEL ?? 'info') as Config['logLevel'];
  if (!LOG_LEVELS.includes(logLevel)) problems.push(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}`);
  const bootstrapAdminToken = env.BOOTSTRAP_ADMIN_TOKEN || undefined;
  if (bootstrapAdminToken !== undefined && !/^[A-Za-z0-9_\-.~]{24,200}$/.test(bootstrapAdminToken)) {
    problems.push('BOOTSTRAP_ADMIN_TOKEN must be 24 to 200 characters of [A-Za-z0-9_-.~]');
  }
  const config: Config = {
    port,
    host: env.HOST || '0.0.0.0',
    databaseUrl: url(env, 'DATABASE_URL', ['postgres:', 'postgresql:'], problems),
    dataDir: path.resolve(env.DATA_DIR || 'data'),
    embeddedPgPort: int(env, 'EMBEDDED_PG_PORT', undefined, 1, 65535, problems),
    bootstrapAdminToken,
    logLevel,
    publicUrl: (url(env, 'PUBLIC_URL', ['http:', 'https:'], problems) ?? `http://localhost:${port}`).replace(
      /\/+$/,
      '',
    ),
    maxBodyBytes: int(env, 'MAX_BODY_BYTES', 1024 * 1024, 1024, 64 * 1024 * 1024, problems) ?? 1024 * 1024,
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(config);
}
