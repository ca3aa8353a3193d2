import type { BackupRecord } from './types.ts';

/** What `restic snapshots --json` prints per snapshot (0.14 fields; `summary` appears from 0.17). */
interface ResticSnapshot {
  id: string;
  time: string;
  hostname?: string;
  paths?: string[];
  tags?: string[] | null;
  summary?: { backup_start?: string; backup_end?: string; total_bytes_processed?: number };
}

export interface ParsedSnapshots {
  records: BackupRecord[];
  /** Snapshots that could not be attributed to an instance, with why. */
  skipped: { id: string; reason: string }[];
}

const tag = (tags: readonly string[], key: string) =>
  tags.find((t) => t.startsWith(`${key}=`))?.slice(key.length + 1);

/**
 * Snapshots become runs of tool restic. The backup job tags each snapshot `client=<slug>` and
 * `instance=<slug>` (and `kind=configuration` for config archives); untagged ones are skipped, not guessed.
 */
export function parseResticSnapshots(json: string, repository: string): ParsedSnapshots {
  const list = JSON.parse(json) as ResticSnapshot[];
  if (!Array.isArray(list)) throw new Error('restic snapshots --json did not print an array');
  const out: ParsedSnapshots = { records: [], skipped: [] };
  for (const s of list) {
    const tags = s.tags ?? [];
    const client = tag(tags, 'client');
    const instance = tag(tags, 'instance');
    if (!client || !instance) {
      out.skipped.push({ id: s.id, reason: 'no client= and instance= tags' });
      continue;
    }
    const config = tag(tags, 'kind') === 'configuration';
    out.records.push({
      runId: `restic:${s.id}`,
      client,
      instance,
      tool: config ? 'config' : 'restic',
      kind: config ? 'configuration' : 'full',
      startedAt: new Date(s.summary?.backup_start ?? s.time).toISOString(),
      finishedAt: new Date(s.summary?.backup_end ?? s.time).toISOString(),
      status: 'success',
      ...(s.summary?.total_bytes_processed !== undefined
        ? { sizeBytes: s.summary.total_bytes_processed }
        : {}),
      location: `${repository}#${s.id.slice(0, 8)}`,
      // restic stores content-addressed data; `restic check` is the verification and runs separately.
      verified: null,
    });
  }
  return out;
}
