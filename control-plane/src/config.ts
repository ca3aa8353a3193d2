import crypto from 'node:crypto';
import net from 'node:net';
import path from 'node:path';
import { parseResponseTargets, type ResponseTargets } from './incidents/targets.ts';
import { readTokenFiles, TOKEN_PATTERN, type TokenFile } from './tokens/files.ts';

/** Everything the control plane reads from its environment, validated once at start. */
export interface Config {
  readonly port: number;
  readonly host: string;
  readonly databaseUrl: string | undefined;
  /**
   * The role that owns the schema and runs the migrations (MIGRATION_DATABASE_URL), when it is not the
   * DATABASE_URL role the control plane then runs as; only with DATABASE_URL (the embedded default makes both).
   */
  readonly migrationDatabaseUrl: string | undefined;
  readonly dataDir: string;
  readonly embeddedPgPort: number | undefined;
  /** Connections the control plane keeps to PostgreSQL at most (its HTTP handlers and job workers share them). */
  readonly databasePoolSize: number;
  readonly bootstrapAdminToken: string | undefined;
  /**
   * Tokens to provision at start from the secret files in PROVISION_TOKENS_DIR (tokens/files.ts): created on
   * first sight, left alone while a file is unchanged, rotated when it changes. Empty when the variable is unset.
   */
  readonly provisionTokens: readonly TokenFile[];
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  readonly publicUrl: string;
  readonly maxBodyBytes: number;
  /** A request not answered within this gets 503 (REQUEST_TIMEOUT_MS); also Node's limit on receiving one. */
  readonly requestTimeoutMs: number;
  /** Incidents, escalation and paging (Twilio, SMTP, job runner): see pagingConfig. */
  readonly paging: PagingConfig;
  /** Time to acknowledge and to resolve per severity and class (RESPONSE_TARGETS over the defaults). */
  readonly responseTargets: ResponseTargets;
  /** Alertmanager to keep maintenance silences in; unset disables the silence sync. */
  readonly alertmanagerUrl: string | undefined;
  readonly alertmanagerSilenceSyncSeconds: number;
  /** A prober's sign of life covers this long after it; longer gaps are unknown time in the SLA. */
  readonly proberGraceSeconds: number;
  /** SLA credit tiers, highest percent first: uptime below `below` ('target' = the client's) earns `percent`. */
  readonly slaCreditTiers: readonly CreditTier[];
  /** below this share of measured time a period has insufficient data: no credit is granted automatically */
  readonly slaMinMeasuredShare: number;
  /** The Faro receiver's limits (POST /api/v1/faro/collect/{appKey}). */
  readonly faro: FaroConfig;
  /** Prometheus to read concierge performance from for reports; unset: reports say "not available". */
  readonly prometheusUrl: string | undefined;
  /** Reports and the operators' morning mail (REPORT_*, OPS_DAILY_*). */
  readonly reports: ReportsConfig;
  /** Signed checkpoints of the audit chain (AUDIT_*). */
  readonly audit: AuditConfig;
  /**
   * Proxies whose X-Forwarded-For is believed (TRUSTED_PROXIES: addresses, CIDRs, or loopback, linklocal,
   * uniquelocal). Empty, the default: the source address is always the socket's, as a header is anyone's to send.
   */
  readonly trustedProxies: readonly string[];
  /** What counts as suspicious access (SECURITY_*): see docs/audit.md "Suspicious access". */
  readonly security: SecurityConfig;
  /** Console users and sessions (CONSOLE_*): see docs/console.md. */
  readonly console: ConsoleConfig;
  /** Updates to clients' status contacts: see docs/status-updates.md. */
  readonly statusUpdates: StatusUpdatesConfig;
}

export interface StatusUpdatesConfig {
  /** How long before a maintenance window its reminder goes out (MAINTENANCE_REMINDER_HOURS, default 24). */
  readonly maintenanceReminderSeconds: number;
}

export interface ConsoleConfig {
  /** A session unused this long ends (HIPAA automatic logoff; CONSOLE_IDLE_MINUTES, default 15). */
  readonly idleSeconds: number;
  /** A session ends this long after sign-in whatever its use (CONSOLE_SESSION_HOURS, default 12). */
  readonly absoluteSeconds: number;
  /** Failed sign-ins in a row that lock an account (CONSOLE_SIGNIN_ATTEMPTS, default 5) ... */
  readonly signinAttempts: number;
  /** ... for this long (CONSOLE_LOCKOUT_MINUTES, default 15). */
  readonly lockoutSeconds: number;
  /** How long an invite link works (CONSOLE_INVITE_HOURS, default 72). */
  readonly inviteTtlSeconds: number;
  /** Grafana's address, for links to each client's and instance's dashboards (GRAFANA_URL; none when unset). */
  readonly grafanaUrl: string | undefined;
  /** Failed sign-ins from one client address that refuse it (CONSOLE_SIGNIN_ADDRESS_ATTEMPTS, default 20) ... */
  readonly signinAddressAttempts: number;
  /** ... within this window (CONSOLE_SIGNIN_ADDRESS_MINUTES, default 15), until the window ends. */
  readonly signinAddressSeconds: number;
  /** Staff sign-in through an OpenID Connect provider (CONSOLE_OIDC_*); undefined: not offered. */
  readonly oidc: OidcConfig | undefined;
}

export interface OidcConfig {
  /** The provider's issuer URL (discovery at <issuer>/.well-known/openid-configuration). */
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** What the sign-in button says: "Sign in with <name>" (CONSOLE_OIDC_NAME, default "single sign-on"). */
  readonly name: string;
  /** Only verified e-mails of these domains may sign in this way (CONSOLE_OIDC_EMAIL_DOMAINS); empty: any domain. */
  readonly emailDomains: readonly string[];
}

const LOOPBACK = ['localhost', '127.0.0.1', '[::1]'];

function oidcConfig(env: Env, problems: string[]): OidcConfig | undefined {
  const issuer = env.CONSOLE_OIDC_ISSUER || undefined;
  const clientId = env.CONSOLE_OIDC_CLIENT_ID || undefined;
  const clientSecret = env.CONSOLE_OIDC_CLIENT_SECRET || undefined;
  const set = [issuer, clientId, clientSecret].filter((v) => v !== undefined).length;
  if (set === 0) return undefined;
  if (set < 3) {
    problems.push(
      'CONSOLE_OIDC_ISSUER, CONSOLE_OIDC_CLIENT_ID and CONSOLE_OIDC_CLIENT_SECRET must be set together',
    );
    return undefined;
  }
  try {
    const u = new URL(issuer!);
    // Plain http only on this machine (a provider in a test); anywhere else codes and tokens travel over TLS.
    if (
      !(u.protocol === 'https:' || (u.protocol === 'http:' && LOOPBACK.includes(u.hostname))) ||
      u.search ||
      u.hash
    )
      throw new Error('protocol');
  } catch {
    problems.push(
      'CONSOLE_OIDC_ISSUER must be an https URL (http only for localhost), without query or fragment',
    );
  }
  if (!/^[\x21-\x7e]{1,200}$/.test(clientId!))
    problems.push('CONSOLE_OIDC_CLIENT_ID must be 1 to 200 printable ASCII characters');
  if (!/^[\x21-\x7e]{8,500}$/.test(clientSecret!))
    problems.push('CONSOLE_OIDC_CLIENT_SECRET must be 8 to 500 printable ASCII characters');
  const name = (env.CONSOLE_OIDC_NAME || 'single sign-on').trim();
  if (!/^[^\p{Cc}\p{Cs}]{1,60}$/u.test(name))
    problems.push('CONSOLE_OIDC_NAME must be 1 to 60 characters on one line');
  const emailDomains = (env.CONSOLE_OIDC_EMAIL_DOMAINS ?? '')
    .split(',')
    .map((d) => d.trim().toLowerCase())
    .filter(Boolean);
  if (emailDomains.some((d) => !/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$/.test(d)))
    problems.push(
      'CONSOLE_OIDC_EMAIL_DOMAINS must be a comma-separated list of domains like provider.example',
    );
  return Object.freeze({
    // As given: discovery checks that the provider names itself exactly so (a trailing / included).
    issuer: issuer!,
    clientId: clientId!,
    clientSecret: clientSecret!,
    name,
    emailDomains: Object.freeze(emailDomains),
  });
}

function consoleConfig(env: Env, problems: string[]): ConsoleConfig {
  return Object.freeze({
    idleSeconds: 60 * int(env, 'CONSOLE_IDLE_MINUTES', 15, 1, 24 * 60, problems),
    absoluteSeconds: 3600 * int(env, 'CONSOLE_SESSION_HOURS', 12, 1, 24 * 30, problems),
    signinAttempts: int(env, 'CONSOLE_SIGNIN_ATTEMPTS', 5, 1, 100, problems),
    lockoutSeconds: 60 * int(env, 'CONSOLE_LOCKOUT_MINUTES', 15, 1, 24 * 60, problems),
    inviteTtlSeconds: 3600 * int(env, 'CONSOLE_INVITE_HOURS', 72, 1, 24 * 30, problems),
    grafanaUrl: url(env, 'GRAFANA_URL', ['http:', 'https:'], problems)?.replace(/\/+$/, ''),
    signinAddressAttempts: int(env, 'CONSOLE_SIGNIN_ADDRESS_ATTEMPTS', 20, 1, 10_000, problems),
    signinAddressSeconds: 60 * int(env, 'CONSOLE_SIGNIN_ADDRESS_MINUTES', 15, 1, 24 * 60, problems),
    oidc: oidcConfig(env, problems),
  });
}

export interface SecurityConfig {
  /** Business hours, local time in `timeZone`: admin actions outside them are flagged. [start, end) minutes. */
  readonly businessHours: { readonly startMinute: number; readonly endMinute: number };
  /** ISO weekdays (1 = Monday .. 7 = Sunday) that have business hours. */
  readonly businessDays: readonly number[];
  readonly timeZone: string;
  /** This many denied requests (401/403) from one source or with one token within `deniedWindowSeconds` are a burst. */
  readonly deniedBurst: number;
  readonly deniedWindowSeconds: number;
  /** How often the whole audit chain and its checkpoints are verified by a job (its result: /metrics, morning mail). */
  readonly verifyEverySeconds: number;
}

const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

/** `mon-fri`, `mon,wed,fri` or `sat-sun` (ISO weekdays 1..7); undefined when unreadable. */
function weekdays(raw: string): number[] | undefined {
  const out = new Set<number>();
  for (const part of raw.toLowerCase().split(',')) {
    const [a, b, ...rest] = part.trim().split('-');
    const from = WEEKDAYS.indexOf(a ?? '') + 1;
    const to = b === undefined ? from : WEEKDAYS.indexOf(b) + 1;
    if (from === 0 || to === 0 || rest.length > 0 || to < from) return undefined;
    for (let d = from; d <= to; d++) out.add(d);
  }
  return [...out].sort((x, y) => x - y);
}

function securityConfig(env: Env, problems: string[]): SecurityConfig {
  const hours = env.SECURITY_BUSINESS_HOURS || '08:00-18:00';
  const m = /^([01][0-9]|2[0-3]):([0-5][0-9])-([01][0-9]|2[0-4]):([0-5][0-9])$/.exec(hours);
  const startMinute = m ? Number(m[1]) * 60 + Number(m[2]) : 480;
  const endMinute = m ? Number(m[3]) * 60 + Number(m[4]) : 1080;
  if (!m || endMinute <= startMinute || endMinute > 1440)
    problems.push(
      'SECURITY_BUSINESS_HOURS must be HH:MM-HH:MM (24-hour, start before end), e.g. 08:00-18:00',
    );
  const days = weekdays(env.SECURITY_BUSINESS_DAYS || 'mon-fri');
  if (!days) problems.push('SECURITY_BUSINESS_DAYS must list weekdays like mon-fri or mon,tue,sat');
  const zone = env.SECURITY_TIME_ZONE || env.OPS_DAILY_TIME_ZONE || 'UTC';
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
  } catch {
    problems.push('SECURITY_TIME_ZONE must be an IANA time zone such as Europe/London');
  }
  return Object.freeze({
    businessHours: Object.freeze({ startMinute, endMinute }),
    businessDays: Object.freeze(days ?? [1, 2, 3, 4, 5]),
    timeZone: zone,
    deniedBurst: int(env, 'SECURITY_DENIED_BURST', 20, 2, 100_000, problems),
    deniedWindowSeconds: int(env, 'SECURITY_DENIED_WINDOW_SECONDS', 300, 10, 86400, problems),
    verifyEverySeconds: int(env, 'AUDIT_VERIFY_EVERY_SECONDS', 3600, 10, 7 * 86400, problems),
  });
}

export interface AuditConfig {
  /** false (AUDIT_CHECKPOINTS=off): no checkpoints are written or checked. */
  readonly checkpoints: boolean;
  /** Where the Ed25519 private key comes from; undefined: none configured, so no checkpoints (audit/keys.ts). */
  readonly signingKey:
    { readonly pem: string } | { readonly file: string; readonly generate: boolean } | undefined;
  /** A public key to verify with instead of the signing key's own (an auditor's copy). */
  readonly publicKeyFile: string | undefined;
  /** Where audit-checkpoints.jsonl is appended (DATA_DIR unless AUDIT_CHECKPOINT_DIR). */
  readonly checkpointDir: string;
  readonly checkpointEverySeconds: number;
  /** Compliance contacts mailed every monthly audit report (AUDIT_REPORT_CONTACTS); empty: stored, not mailed. */
  readonly reportContacts: readonly string[];
  /** Where closed months are archived as signed files (AUDIT_ARCHIVE_DIR; DATA_DIR/audit-archive). */
  readonly archiveDir: string;
  /** Whole years a month is kept in the database before the deletion job may drop it (AUDIT_RETENTION_YEARS). */
  readonly retentionYears: number;
  /** Why a retention under six years is allowed (AUDIT_RETENTION_OVERRIDE); recorded in the audit log at start. */
  readonly retentionOverride: string | undefined;
}

/** HIPAA's six years: a shorter retention needs AUDIT_RETENTION_OVERRIDE. */
export const MIN_RETENTION_YEARS = 6;

function retention(env: Env, problems: string[]) {
  const years = int(env, 'AUDIT_RETENTION_YEARS', MIN_RETENTION_YEARS, 1, 100, problems);
  const override = env.AUDIT_RETENTION_OVERRIDE?.trim() || undefined;
  if (years < MIN_RETENTION_YEARS && !override)
    problems.push(
      `AUDIT_RETENTION_YEARS=${years} is below the ${MIN_RETENTION_YEARS} years audit records must be kept; ` +
        'set AUDIT_RETENTION_OVERRIDE to the reason (it is recorded in the audit log) to allow it',
    );
  if (override !== undefined && !/^[^\p{Cc}\p{Cs}]{3,500}$/u.test(override))
    problems.push('AUDIT_RETENTION_OVERRIDE must be a reason of 3 to 500 characters on one line');
  return { retentionYears: years, retentionOverride: years < MIN_RETENTION_YEARS ? override : undefined };
}

const PROXY_NAMES = ['loopback', 'linklocal', 'uniquelocal'];

function trustedProxies(raw: string | undefined, problems: string[]): string[] {
  const list = (raw ?? '')
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
  for (const p of list) {
    const [addr, bits, ...rest] = p.split('/');
    const family = net.isIP(addr!);
    const okBits =
      bits === undefined || (/^[0-9]{1,3}$/.test(bits) && Number(bits) <= (family === 6 ? 128 : 32));
    if (!PROXY_NAMES.includes(p) && (family === 0 || !okBits || rest.length > 0))
      problems.push(
        `TRUSTED_PROXIES must list IP addresses, CIDR ranges or ${PROXY_NAMES.join(', ')}; ${JSON.stringify(p)} is none`,
      );
  }
  return list;
}

function auditConfig(env: Env, dataDir: string, embedded: boolean, problems: string[]): AuditConfig {
  const mode = env.AUDIT_CHECKPOINTS || 'on';
  if (!['on', 'off'].includes(mode)) problems.push('AUDIT_CHECKPOINTS must be on or off');
  const pem = env.AUDIT_SIGNING_KEY ? env.AUDIT_SIGNING_KEY.replace(/\\n/g, '\n') : undefined;
  const file = env.AUDIT_SIGNING_KEY_FILE || undefined;
  if (pem && file) problems.push('AUDIT_SIGNING_KEY and AUDIT_SIGNING_KEY_FILE must not both be set');
  if (pem) {
    try {
      const key = crypto.createPrivateKey(pem);
      if (key.asymmetricKeyType !== 'ed25519') throw new Error('not ed25519');
    } catch {
      // Never echo the key back.
      problems.push('AUDIT_SIGNING_KEY must be an Ed25519 private key in PEM (PKCS#8)');
    }
  }
  return Object.freeze({
    checkpoints: mode !== 'off',
    signingKey: pem
      ? { pem }
      : file
        ? { file: path.resolve(file), generate: false }
        : // Only the embedded default makes its own key: with DATABASE_URL, replicas must share one the operator keeps.
          embedded
          ? { file: path.join(dataDir, 'audit-signing-key.pem'), generate: true }
          : undefined,
    publicKeyFile: env.AUDIT_PUBLIC_KEY_FILE ? path.resolve(env.AUDIT_PUBLIC_KEY_FILE) : undefined,
    checkpointDir: path.resolve(env.AUDIT_CHECKPOINT_DIR || dataDir),
    checkpointEverySeconds: int(env, 'AUDIT_CHECKPOINT_EVERY_SECONDS', 900, 10, 86400, problems),
    reportContacts: emails(env, 'AUDIT_REPORT_CONTACTS', problems),
    archiveDir: path.resolve(env.AUDIT_ARCHIVE_DIR || path.join(dataDir, 'audit-archive')),
    ...retention(env, problems),
  });
}

export interface ReportsConfig {
  /** false (REPORT_SCHEDULER=off): no monthly tick; reports go out only from the CLI or API. */
  readonly scheduler: boolean;
  /** Local time (HH:MM) of the operators' morning report, in opsDailyTimeZone. */
  readonly opsDailyAt: string;
  readonly opsDailyTimeZone: string;
  /** Who receives the morning report by e-mail; empty: it is only served at GET /api/v1/ops/daily. */
  readonly opsDailyTo: readonly string[];
}

function reportsConfig(env: Env, problems: string[]): ReportsConfig {
  const scheduler = env.REPORT_SCHEDULER || 'on';
  if (!['on', 'off'].includes(scheduler)) problems.push('REPORT_SCHEDULER must be on or off');
  const at = env.OPS_DAILY_AT || '07:00';
  if (!/^([01][0-9]|2[0-3]):[0-5][0-9]$/.test(at)) problems.push('OPS_DAILY_AT must be HH:MM (24-hour)');
  const zone = env.OPS_DAILY_TIME_ZONE || 'UTC';
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
  } catch {
    problems.push('OPS_DAILY_TIME_ZONE must be an IANA time zone such as Europe/London');
  }
  const to = emails(env, 'OPS_DAILY_TO', problems);
  return Object.freeze({
    scheduler: scheduler === 'on',
    opsDailyAt: at,
    opsDailyTimeZone: zone,
    opsDailyTo: to,
  });
}

/** A comma-separated list of e-mail addresses; a bad one is named in `problems`. */
function emails(env: Env, name: string, problems: string[]): string[] {
  const list = (env[name] ?? '')
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
  if (list.some((x) => !/^[^@\s,]+@[^@\s,]+$/.test(x)))
    problems.push(`${name} must be a comma-separated list of e-mail addresses`);
  return list;
}

export interface CreditTier {
  readonly below: number | 'target';
  readonly percent: number;
}

/** `SLA_CREDIT_TIERS` is `below:percent,...`, e.g. `target:10,0.99:25,0.95:50`. */
/** A ratio from 0 to 1 written as a decimal (`0.9`), as the SLA targets are. */
function share(env: Env, name: string, def: number, problems: string[]): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return def;
  const n = /^(0(\.\d+)?|1(\.0+)?)$/.test(raw.trim()) ? Number(raw) : NaN;
  if (Number.isNaN(n)) {
    problems.push(`${name} must be a decimal from 0 to 1, e.g. 0.9 (got ${JSON.stringify(raw)})`);
    return def;
  }
  return n;
}

function creditTiers(raw: string | undefined, problems: string[]): CreditTier[] {
  const text = raw || 'target:10,0.99:25,0.95:50';
  const tiers: CreditTier[] = [];
  for (const part of text.split(',')) {
    const m = /^\s*(target|0?\.\d+|1(?:\.0*)?)\s*:\s*(\d+(?:\.\d+)?)\s*$/.exec(part);
    if (!m || Number(m[2]) > 100) {
      problems.push(
        'SLA_CREDIT_TIERS must be a list like target:10,0.99:25,0.95:50 (uptime below : percent)',
      );
      return [];
    }
    tiers.push({ below: m[1] === 'target' ? 'target' : Number(m[1]), percent: Number(m[2]) });
  }
  return tiers.sort((a, b) => b.percent - a.percent);
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

/** An integer variable within [min, max]; a bad one is named in `problems` and `def` stands in. */
function int(env: Env, name: string, def: number, min: number, max: number, problems: string[]): number;
function int(
  env: Env,
  name: string,
  def: undefined,
  min: number,
  max: number,
  problems: string[],
): number | undefined;
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
  const port = int(env, 'PORT', 8080, 0, 65535, problems);
  const logLevel = (env.LOG_LEVEL ?? 'info') as Config['logLevel'];
  if (!LOG_LEVELS.includes(logLevel)) problems.push(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}`);
  const bootstrapAdminToken = env.BOOTSTRAP_ADMIN_TOKEN || undefined;
  if (bootstrapAdminToken !== undefined && !TOKEN_PATTERN.test(bootstrapAdminToken)) {
    problems.push('BOOTSTRAP_ADMIN_TOKEN must be 24 to 200 characters of [A-Za-z0-9_-.~]');
  }
  const provisionTokens = env.PROVISION_TOKENS_DIR
    ? readTokenFiles(path.resolve(env.PROVISION_TOKENS_DIR), problems)
    : [];
  // Two first admins would leave it to chance which one an operator holds.
  if (bootstrapAdminToken && provisionTokens.some((t) => t.role === 'admin'))
    problems.push(
      'BOOTSTRAP_ADMIN_TOKEN must not be set when PROVISION_TOKENS_DIR holds an admin token file',
    );
  const dataDir = path.resolve(env.DATA_DIR || 'data');
  const databaseUrl = url(env, 'DATABASE_URL', ['postgres:', 'postgresql:'], problems);
  const migrationDatabaseUrl = url(env, 'MIGRATION_DATABASE_URL', ['postgres:', 'postgresql:'], problems);
  // Without DATABASE_URL the embedded default makes its own roles: a migration URL would be silently unused.
  if (migrationDatabaseUrl && !env.DATABASE_URL) problems.push('MIGRATION_DATABASE_URL needs DATABASE_URL');
  const config: Config = {
    port,
    host: env.HOST || '0.0.0.0',
    databaseUrl,
    migrationDatabaseUrl,
    dataDir,
    embeddedPgPort: int(env, 'EMBEDDED_PG_PORT', undefined, 1, 65535, problems),
    databasePoolSize: int(env, 'DATABASE_POOL_SIZE', 20, 2, 500, problems),
    bootstrapAdminToken,
    provisionTokens: Object.freeze(provisionTokens),
    logLevel,
    publicUrl: (url(env, 'PUBLIC_URL', ['http:', 'https:'], problems) ?? `http://localhost:${port}`).replace(
      /\/+$/,
      '',
    ),
    maxBodyBytes: int(env, 'MAX_BODY_BYTES', 1024 * 1024, 1024, 64 * 1024 * 1024, problems),
    requestTimeoutMs: int(env, 'REQUEST_TIMEOUT_MS', 30_000, 100, 600_000, problems),
    paging: pagingConfig(env, problems),
    responseTargets: parseResponseTargets(env.RESPONSE_TARGETS, problems),
    alertmanagerUrl: url(env, 'ALERTMANAGER_URL', ['http:', 'https:'], problems)?.replace(/\/+$/, ''),
    alertmanagerSilenceSyncSeconds: int(env, 'ALERTMANAGER_SILENCE_SYNC_SECONDS', 30, 1, 3600, problems),
    proberGraceSeconds: int(env, 'PROBER_GRACE_SECONDS', 120, 1, 86400, problems),
    slaCreditTiers: creditTiers(env.SLA_CREDIT_TIERS, problems),
    slaMinMeasuredShare: share(env, 'SLA_MIN_MEASURED_SHARE', 0.9, problems),
    faro: faroConfig(env, problems),
    prometheusUrl: url(env, 'PROMETHEUS_URL', ['http:', 'https:'], problems)?.replace(/\/+$/, ''),
    reports: reportsConfig(env, problems),
    audit: auditConfig(env, dataDir, !env.DATABASE_URL, problems),
    trustedProxies: trustedProxies(env.TRUSTED_PROXIES, problems),
    security: securityConfig(env, problems),
    console: consoleConfig(env, problems),
    statusUpdates: Object.freeze({
      maintenanceReminderSeconds: 3600 * int(env, 'MAINTENANCE_REMINDER_HOURS', 24, 1, 24 * 14, problems),
    }),
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(config);
}

export interface PagingConfig {
  readonly smtpUrl: string | undefined;
  readonly mailFrom: string;
  readonly twilio:
    { readonly accountSid: string; readonly authToken: string; readonly fromNumber: string } | undefined;
  /** A Twilio-compatible base URL that replaces https://api.twilio.com (a stand-in, another region). */
  readonly twilioApiUrl: string | undefined;
  /** HMAC key of e-mail acknowledge links; random per process when unset (links then die on restart). */
  readonly ackLinkSecret: string | undefined;
  /** Slack app's signing secret: verifies the Acknowledge button's requests (none accepted without it). */
  readonly slackSigningSecret: string | undefined;
  readonly ackLinkTtlSeconds: number;
  readonly deadmanSwitchSeconds: number;
  readonly sendMaxAttempts: number;
  readonly sendRetryBaseMs: number;
  readonly workerConcurrency: number;
  readonly workerPollIntervalMs: number;
}

function pagingConfig(env: Env, problems: string[]): PagingConfig {
  const sid = env.TWILIO_ACCOUNT_SID || undefined;
  const token = env.TWILIO_AUTH_TOKEN || undefined;
  const from = env.TWILIO_FROM_NUMBER || undefined;
  const twilioSet = [sid, token, from].filter((v) => v !== undefined).length;
  if (twilioSet > 0 && twilioSet < 3)
    problems.push('TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM_NUMBER must be set together');
  if (sid !== undefined && !/^AC[0-9a-fA-F]{32}$/.test(sid))
    problems.push('TWILIO_ACCOUNT_SID must be AC followed by 32 hex digits');
  if (from !== undefined && !/^\+[1-9][0-9]{6,14}$/.test(from))
    problems.push('TWILIO_FROM_NUMBER must be an E.164 number like +15005550006');
  const secret = env.ACK_LINK_SECRET || undefined;
  if (secret !== undefined && secret.length < 32)
    problems.push('ACK_LINK_SECRET must be at least 32 characters');
  const slackSecret = env.SLACK_SIGNING_SECRET || undefined;
  if (slackSecret !== undefined && slackSecret.length < 16)
    problems.push("SLACK_SIGNING_SECRET must be at least 16 characters (the Slack app's signing secret)");
  const mailFrom = env.MAIL_FROM || 'concierge-ops <pager@concierge-ops.invalid>';
  if (!/^[^\r\n]{3,254}$/.test(mailFrom) || !mailFrom.includes('@'))
    problems.push('MAIL_FROM must be an address like "concierge-ops <pager@example.com>"');
  return Object.freeze({
    smtpUrl: url(env, 'SMTP_URL', ['smtp:', 'smtps:'], problems),
    mailFrom,
    twilio:
      twilioSet === 3 ? Object.freeze({ accountSid: sid!, authToken: token!, fromNumber: from! }) : undefined,
    twilioApiUrl: url(env, 'TWILIO_API_URL', ['http:', 'https:'], problems)?.replace(/\/+$/, ''),
    ackLinkSecret: secret,
    slackSigningSecret: slackSecret,
    ackLinkTtlSeconds: int(env, 'ACK_LINK_TTL_SECONDS', 86400, 60, 30 * 86400, problems),
    deadmanSwitchSeconds: int(env, 'DEADMAN_SWITCH_SECONDS', 300, 5, 86400, problems),
    sendMaxAttempts: int(env, 'SEND_MAX_ATTEMPTS', 5, 1, 50, problems),
    sendRetryBaseMs: int(env, 'SEND_RETRY_BASE_MS', 5000, 10, 3_600_000, problems),
    workerConcurrency: int(env, 'WORKER_CONCURRENCY', 8, 1, 100, problems),
    workerPollIntervalMs: int(env, 'WORKER_POLL_INTERVAL_MS', 1000, 50, 60_000, problems),
  });
}

export interface FaroConfig {
  /** Largest Faro payload (after gzip inflation); larger gets 413. */
  readonly maxBodyBytes: number;
  /** Per app key: payloads per second on average, and the burst allowed above it; beyond: 429. */
  readonly ratePerSecond: number;
  readonly rateBurst: number;
}

function faroConfig(env: Env, problems: string[]): FaroConfig {
  return Object.freeze({
    maxBodyBytes: int(env, 'FARO_MAX_BODY_BYTES', 256 * 1024, 1024, 16 * 1024 * 1024, problems),
    ratePerSecond: int(env, 'FARO_RATE_LIMIT_PER_SECOND', 20, 1, 10_000, problems),
    rateBurst: int(env, 'FARO_RATE_LIMIT_BURST', 100, 1, 100_000, problems),
  });
}
