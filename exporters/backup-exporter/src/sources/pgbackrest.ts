import type { BackupRecord } from './types.ts';

/** The parts of `pgbackrest info --output=json` the exporter reads (stable since 2.x). */
interface Stanza {
  name: string;
  status: { code: number; message: string };
  backup?: {
    label: string;
    type: 'full' | 'diff' | 'incr';
    error?: boolean;
    timestamp: { start: number; stop: number };
    info?: { size?: number; repository?: { size?: number; delta?: number } };
  }[];
}

export interface StanzaTarget {
  client: string;
  instance: string;
}

export interface ParsedInfo {
  records: BackupRecord[];
  /** Stanzas whose status is not ok (code 0), and those not mapped to an instance. */
  problems: { stanza: string; reason: string }[];
}

/**
 * One record per backup set. A set pgBackRest flags with `error: true` (page checksum errors found while
 * copying) is a failed run; diff and incr sets are incremental. `targets` maps stanza names to instances.
 */
export function parsePgbackrestInfo(json: string, targets: ReadonlyMap<string, StanzaTarget>): ParsedInfo {
  const stanzas = JSON.parse(json) as Stanza[];
  if (!Array.isArray(stanzas)) throw new Error('pgbackrest info --output=json did not print an array');
  const out: ParsedInfo = { records: [], problems: [] };
  for (const s of stanzas) {
    const target = targets.get(s.name);
    if (!target) {
      out.problems.push({ stanza: s.name, reason: 'stanza is not mapped to an instance' });
      continue;
    }
    if (s.status.code !== 0) out.problems.push({ stanza: s.name, reason: s.status.message });
    for (const b of s.backup ?? []) {
      const failed = b.error === true;
      out.records.push({
        runId: `pgbackrest:${s.name}:${b.label}`,
        ...target,
        tool: 'pgbackrest',
        kind: b.type === 'full' ? 'full' : 'incremental',
        startedAt: new Date(b.timestamp.start * 1000).toISOString(),
        finishedAt: new Date(b.timestamp.stop * 1000).toISOString(),
        status: failed ? 'failed' : 'success',
        ...(b.info?.repository?.size !== undefined ? { sizeBytes: b.info.repository.size } : {}),
        location: `pgbackrest:${s.name}/${b.label}`,
        ...(failed ? { error: 'pgBackRest found checksum errors in the copied pages' } : {}),
        // pgBackRest checksums every file it copies; `pgbackrest verify` is the separate deep check.
        verified: failed ? false : null,
      });
    }
  }
  return out;
}
