import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { BackupRecord } from './types.ts';

/**
 * The manifest written beside each pg_dump archive (`<archive>.manifest.json`) by the backup job:
 * what the archive claims to be, so the exporter can verify it and check a restore against it.
 */
export interface DumpManifest {
  version: 1;
  /** Archive file name, relative to the manifest's folder. */
  file: string;
  client: string;
  instance: string;
  kind: 'full';
  startedAt: string;
  finishedAt: string;
  /** Hex sha256 of the archive as pg_dump wrote it. */
  sha256: string;
  /** `schema.table` -> row count at dump time: a restore test expects exactly these. */
  tables: Record<string, number>;
}

export interface DumpArchive {
  manifest: DumpManifest;
  path: string;
  record: BackupRecord;
}

const SLUG = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** Throws naming the first bad field: a manifest the exporter misreads would report a wrong backup. */
export function parseManifest(text: string): DumpManifest {
  const m = JSON.parse(text) as Partial<DumpManifest>;
  const bad = (f: string) => new Error(`manifest field ${f} is missing or invalid`);
  if (m.version !== 1) throw bad('version');
  if (typeof m.file !== 'string' || m.file.includes('/') || m.file.startsWith('.')) throw bad('file');
  for (const f of ['client', 'instance'] as const) if (!SLUG.test(String(m[f]))) throw bad(f);
  if (m.kind !== 'full') throw bad('kind');
  for (const f of ['startedAt', 'finishedAt'] as const)
    if (typeof m[f] !== 'string' || Number.isNaN(Date.parse(m[f]))) throw bad(f);
  if (!/^[a-f0-9]{64}$/.test(String(m.sha256))) throw bad('sha256');
  if (typeof m.tables !== 'object' || m.tables === null) throw bad('tables');
  for (const [t, n] of Object.entries(m.tables))
    if (!/^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*$/.test(t) || !Number.isInteger(n) || n < 0)
      throw bad(`tables.${t}`);
  return m as DumpManifest;
}

export function sha256File(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(file)
      .on('error', reject)
      .on('data', (c) => h.update(c))
      .on('end', () => resolve(h.digest('hex')));
  });
}

/**
 * Reads every `*.manifest.json` in `dir`, checks the archive it names against its sha256, and returns one
 * record per archive. A missing archive is a failed run; a checksum mismatch a run that failed verification.
 */
export async function scanDumpFolder(
  dir: string,
  /** Hashes by `path:size:mtime`: archives are large and rarely change, so each is hashed once. */
  hashes: Map<string, string> = new Map(),
): Promise<DumpArchive[]> {
  const names = (await readdir(dir)).filter((n) => n.endsWith('.manifest.json')).sort();
  const out: DumpArchive[] = [];
  const seen = new Set<string>();
  for (const name of names) {
    const manifest = parseManifest(await readFile(path.join(dir, name), 'utf8'));
    const file = path.join(dir, manifest.file);
    const base = {
      runId: `pg_dump:${manifest.instance}:${manifest.file}`,
      client: manifest.client,
      instance: manifest.instance,
      tool: 'pg_dump' as const,
      kind: 'full' as const,
      startedAt: manifest.startedAt,
      finishedAt: manifest.finishedAt,
      checksum: `sha256:${manifest.sha256}`,
      location: file,
    };
    const st = await stat(file).catch(() => undefined);
    if (st === undefined) {
      out.push({
        manifest,
        path: file,
        record: { ...base, status: 'failed', error: 'archive file is missing', verified: false },
      });
      continue;
    }
    const size = st.size;
    const cacheKey = `${file}:${st.size}:${st.mtimeMs}`;
    const hash = hashes.get(cacheKey) ?? (await sha256File(file));
    hashes.set(cacheKey, hash);
    seen.add(cacheKey);
    const verified = hash === manifest.sha256;
    out.push({
      manifest,
      path: file,
      record: {
        ...base,
        status: 'success',
        sizeBytes: size,
        verified,
        ...(verified ? {} : { error: 'archive does not match the sha256 of its manifest' }),
      },
    });
  }
  // Archives deleted by retention leave the cache with them.
  for (const k of hashes.keys()) if (!seen.has(k)) hashes.delete(k);
  return out;
}
