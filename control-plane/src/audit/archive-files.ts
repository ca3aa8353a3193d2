import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Checkpoint } from './checkpoints.ts';
import type { CheckpointKeys } from './keys.ts';

/**
 * An archived month of the audit log, as files in the archive directory: `<YYYY-MM>.jsonl` (one record per line,
 * in seq order, with the exact text its hash covers) and `<YYYY-MM>.manifest.json`, signed with the checkpoint key.
 * Each manifest names the previous month's manifest by its SHA-256, so the months form a chain of their own.
 */
export interface Manifest {
  version: 1;
  /** YYYY-MM (UTC), by the time each record joined the chain (logged_at). */
  month: string;
  rows: number;
  firstSeq: number | null;
  lastSeq: number | null;
  /** The first record's prev_hash: the last hash of the month before (empty for the very first record). */
  firstPrevHash: string | null;
  lastHash: string | null;
  jsonl: string;
  jsonlSha256: string;
  /** The month archived before this one (null for the first) and the SHA-256 of its manifest file. */
  prevMonth: string | null;
  prevManifestSha256: string | null;
  /** The earliest signed checkpoint at or after the month's last record (null for a month without records). */
  checkpoint: Checkpoint | null;
  archivedAt: string;
  keyId: string;
  /** Ed25519 signature of `signedText`, base64. */
  sig: string;
}

export const jsonlName = (month: string) => `${month}.jsonl`;
export const manifestName = (month: string) => `${month}.manifest.json`;
export const MANIFEST_RE = /^([0-9]{4}-[0-9]{2})\.manifest\.json$/;

const cpText = (c: Checkpoint | null) => (c ? [c.seq, c.hash, c.rows, c.at, c.keyId, c.sig].join(' ') : '');

/** What is signed: fixed fields in a fixed order (as for checkpoints), so no JSON canonicalisation is needed. */
function signedText(m: Omit<Manifest, 'sig'>): Buffer {
  return Buffer.from(
    `concierge-ops audit archive manifest v${m.version}\nmonth=${m.month}\nrows=${m.rows}\n` +
      `firstSeq=${m.firstSeq ?? ''}\nlastSeq=${m.lastSeq ?? ''}\nfirstPrevHash=${m.firstPrevHash ?? ''}\n` +
      `lastHash=${m.lastHash ?? ''}\njsonl=${m.jsonl}\njsonlSha256=${m.jsonlSha256}\n` +
      `prevMonth=${m.prevMonth ?? ''}\nprevManifestSha256=${m.prevManifestSha256 ?? ''}\n` +
      `checkpoint=${cpText(m.checkpoint)}\narchivedAt=${m.archivedAt}\nkey=${m.keyId}\n`,
  );
}

export function signManifest(m: Omit<Manifest, 'sig' | 'keyId'>, keys: CheckpointKeys): Manifest {
  if (!keys.privateKey) throw new Error('no audit signing key is configured');
  const body = { ...m, keyId: keys.keyId };
  return { ...body, sig: crypto.sign(null, signedText(body), keys.privateKey).toString('base64') };
}

/** The manifest's signature holds under `keys` (and names that key). */
export function manifestSigned(m: Manifest, keys: CheckpointKeys): boolean {
  if (m.keyId !== keys.keyId || typeof m.sig !== 'string') return false;
  return crypto.verify(null, signedText(m), keys.publicKey, Buffer.from(m.sig, 'base64'));
}

export const sha256 = (b: Buffer | string) => crypto.createHash('sha256').update(b).digest('hex');

/** A record's hash from its predecessor's and its canonical text, as the chain trigger computes it. */
export const recordHash = (prevHash: string, canonical: string) =>
  crypto
    .createHash('sha256')
    .update(Buffer.from(prevHash, 'hex'))
    .update(Buffer.from(canonical, 'utf8'))
    .digest('hex');

/** Writes `name` in `dir` whole or not at all: a temporary file, flushed, then renamed over. */
export async function writeDurably(
  dir: string,
  name: string,
  chunks: AsyncIterable<string>,
): Promise<string> {
  await fs.mkdir(dir, { recursive: true });
  const tmp = path.join(dir, `.${name}.${process.pid}.tmp`);
  const hash = crypto.createHash('sha256');
  const f = await fs.open(tmp, 'w', 0o644);
  try {
    for await (const chunk of chunks) {
      hash.update(chunk);
      await f.write(chunk);
    }
    await f.sync();
  } finally {
    await f.close();
  }
  await fs.rename(tmp, path.join(dir, name));
  return hash.digest('hex');
}

/** A file's bytes, or undefined when it does not exist. */
export async function readIfExists(file: string): Promise<Buffer | undefined> {
  try {
    return await fs.readFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
