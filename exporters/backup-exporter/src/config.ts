import { IANAZone } from 'luxon';
import type { StanzaTarget } from './sources/pgbackrest.ts';
import { ConfigError } from '@concierge-ops/shared/process';

/** The backup exporter's whole configuration. Only this file reads the environment. */
export interface Config {
  /** Base URL of the control plane, without a trailing slash. */
  readonly controlPlaneUrl: string;
  /** backup-agent token (optionally bound to one client). Never logged. */
  readonly token: string;
  /** BACKUP_EXPORTER_PORT, default 9471. */
  readonly port: number;
  /** BACKUP_DUMP_DIR: folder of pg_dump archives with `<archive>.manifest.json` beside each. */
  readonly dumpDir: string | undefined;
  /** RESTIC_REPOSITORY (restic itself reads RESTIC_PASSWORD[_FILE]) or BACKUP_RESTIC_SNAPSHOTS_FILE. */
  readonly resticRepository: string | undefined;
  readonly resticSnapshotsFile: string | undefined;
  /** BACKUP_PGBACKREST_STANZAS=`stanza=client/instance,...`; BACKUP_PGBACKREST_INFO_FILE instead of running it. */
  readonly pgbackrestStanzas: ReadonlyMap<string, StanzaTarget>;
  readonly pgbackrestInfoFile: string | undefined;
  /**
   * BACKUP_PGBACKREST_PG_BIN: the stanzas' server binaries (e.g. /usr/lib/postgresql/15/bin); set, the newest
   * set of each stanza is restore-tested. BACKUP_PGBACKREST_TABLES (`schema.table,...`) it must hold, in
   * BACKUP_PGBACKREST_DATABASE (default postgres).
   */
  readonly pgbackrestPgBin: string | undefined;
  readonly pgbackrestTables: readonly string[];
  readonly pgbackrestDatabase: string;
  /** BACKUP_SCAN_INTERVAL_SECONDS, default 300. */
  readonly scanIntervalSeconds: number;
  /** BACKUP_RESTORE_TEST_INTERVAL_SECONDS, default 86400 (daily; the promise is at least weekly); 0 = off. */
  readonly restoreTestIntervalSeconds: number;
  /** BACKUP_PG_RESTORE, default `pg_restore` on PATH (its major version must read the archives). */
  readonly pgRestore: string;
  /** BACKUP_RESTORE_TEST_TIMEOUT_SECONDS, default 1800: a restic or pgBackRest restore is killed past it. */
  readonly restoreTestTimeoutSeconds: number;
  /** BACKUP_TIME_ZONE, default UTC: the calendar of the exporter's own retention view. */
  readonly timeZone: string;
  readonly logLevel: string;
}

export { ConfigError };

type Env = Readonly<Record<string, string | undefined>>;
const SLUG = '[a-z0-9][a-z0-9-]{0,62}';
const STANZA = new RegExp(`^([A-Za-z0-9_.-]+)=(${SLUG})/(${SLUG})$`);

/** Reads and validates the environment, naming every bad variable at once; values are never echoed. */
export function loadConfig(env: Env = process.env): Config {
  const problems: string[] = [];
  const raw = (name: string) => {
    const v = env[name]?.trim();
    return v === undefined || v === '' ? undefined : v;
  };
  const int = (name: string, def: number, min: number, max: number) => {
    const v = raw(name);
    if (v === undefined) return def;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) {
      problems.push(`${name} must be an integer between ${min} and ${max}`);
      return def;
    }
    return n;
  };
  let controlPlaneUrl = raw('CONTROL_PLANE_URL') ?? '';
  if (!/^https?:\/\/[^\s]+$/.test(controlPlaneUrl)) problems.push('CONTROL_PLANE_URL must be an http(s) URL');
  controlPlaneUrl = controlPlaneUrl.replace(/\/+$/, '');
  const token = raw('BACKUP_AGENT_TOKEN') ?? '';
  if (!token) problems.push('BACKUP_AGENT_TOKEN is required');
  const stanzas = new Map<string, StanzaTarget>();
  for (const item of (raw('BACKUP_PGBACKREST_STANZAS') ?? '').split(',').filter(Boolean)) {
    const m = STANZA.exec(item.trim());
    if (!m) problems.push('BACKUP_PGBACKREST_STANZAS must be a list of stanza=client/instance');
    else stanzas.set(m[1]!, { client: m[2]!, instance: m[3]! });
  }
  const tables = (raw('BACKUP_PGBACKREST_TABLES') ?? '')
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
  if (tables.some((t) => !/^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*$/.test(t)))
    problems.push('BACKUP_PGBACKREST_TABLES must be a list of schema.table names');
  // A restored server that merely starts proves little: the test must know what the database holds.
  if (raw('BACKUP_PGBACKREST_PG_BIN') && tables.length === 0)
    problems.push(
      'BACKUP_PGBACKREST_TABLES must name at least one table when BACKUP_PGBACKREST_PG_BIN is set',
    );
  const database = raw('BACKUP_PGBACKREST_DATABASE') ?? 'postgres';
  if (!/^[A-Za-z_][A-Za-z0-9_-]{0,62}$/.test(database))
    problems.push('BACKUP_PGBACKREST_DATABASE must be a database name');
  const timeZone = raw('BACKUP_TIME_ZONE') ?? 'UTC';
  if (!IANAZone.isValidZone(timeZone)) problems.push('BACKUP_TIME_ZONE must be an IANA time zone');
  const logLevel = raw('LOG_LEVEL') ?? 'info';
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(logLevel))
    problems.push('LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent');
  const config: Config = {
    controlPlaneUrl,
    token,
    port: int('BACKUP_EXPORTER_PORT', 9471, 0, 65535),
    dumpDir: raw('BACKUP_DUMP_DIR'),
    resticRepository: raw('RESTIC_REPOSITORY'),
    resticSnapshotsFile: raw('BACKUP_RESTIC_SNAPSHOTS_FILE'),
    pgbackrestStanzas: stanzas,
    pgbackrestInfoFile: raw('BACKUP_PGBACKREST_INFO_FILE'),
    pgbackrestPgBin: raw('BACKUP_PGBACKREST_PG_BIN'),
    pgbackrestTables: tables,
    pgbackrestDatabase: database,
    scanIntervalSeconds: int('BACKUP_SCAN_INTERVAL_SECONDS', 300, 1, 86400),
    restoreTestIntervalSeconds: int('BACKUP_RESTORE_TEST_INTERVAL_SECONDS', 86400, 0, 7 * 86400),
    pgRestore: raw('BACKUP_PG_RESTORE') ?? 'pg_restore',
    restoreTestTimeoutSeconds: int('BACKUP_RESTORE_TEST_TIMEOUT_SECONDS', 1800, 10, 86400),
    timeZone,
    logLevel,
  };
  if (problems.length) throw new ConfigError('backup exporter', problems);
  return Object.freeze(config);
}
