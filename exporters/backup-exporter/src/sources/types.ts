/** One backup as the exporter sees it on disk or in a tool's output, before it is reported. */
export interface BackupRecord {
  /** Stable id across scans: the control plane deduplicates on it. */
  readonly runId: string;
  readonly client: string;
  readonly instance: string;
  readonly tool: 'pg_dump' | 'pgbackrest' | 'restic' | 'config';
  readonly kind: 'full' | 'incremental' | 'wal' | 'configuration';
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly status: 'success' | 'failed';
  readonly sizeBytes?: number;
  readonly checksum?: string;
  readonly location?: string;
  readonly error?: string;
  /** null: the exporter cannot check this kind of backup itself. */
  readonly verified: boolean | null;
}

/** The metric `kind` label: what was backed up (the rules and dashboards speak of database and files). */
export type MetricKind = 'database' | 'files' | 'configuration';

export function metricKind(r: Pick<BackupRecord, 'tool'>): MetricKind {
  if (r.tool === 'restic') return 'files';
  if (r.tool === 'config') return 'configuration';
  return 'database';
}
