import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { CheckpointKeys } from './keys.ts';

/** One signed statement of the chain's head, as appended (one JSON line) to the checkpoint file. */
export interface Checkpoint {
  /** The newest row's seq (0: the log was empty). */
  seq: number;
  /** That row's hash, hex. */
  hash: string;
  /** Rows in the log up to and including seq. */
  rows: number;
  /** When it was signed, by the signer's clock (not the database's). */
  at: string;
  keyId: string;
  /** Ed25519 signature of `signedText`, base64. */
  sig: string;
}

/** A line of the checkpoint file as read back: a checkpoint whose signature holds, or why it does not. */
export type CheckpointLine = { line: number } & ({ checkpoint: Checkpoint } | { error: string });

export const CHECKPOINT_FILE = 'audit-checkpoints.jsonl';

/** What is signed: fixed fields in a fixed order, so no JSON canonicalisation is needed to check it. */
function signedText(c: Omit<Checkpoint, 'sig'>): Buffer {
  return Buffer.from(
    `concierge-ops audit checkpoint v1\nseq=${c.seq}\nhash=${c.hash}\nrows=${c.rows}\nat=${c.at}\nkey=${c.keyId}\n`,
  );
}

export function signCheckpoint(
  head: { seq: number; hash: string; rows: number },
  keys: CheckpointKeys,
): Checkpoint {
  if (!keys.privateKey) throw new Error('no checkpoint signing key is configured');
  const c = {
    seq: head.seq,
    hash: head.hash,
    rows: head.rows,
    at: new Date().toISOString(),
    keyId: keys.keyId,
  };
  return { ...c, sig: crypto.sign(null, signedText(c), keys.privateKey).toString('base64') };
}

/** Parses and checks one line: its fields' shapes, its key and its signature. */
export function checkLine(text: string, keys: CheckpointKeys): Checkpoint | string {
  let c: Checkpoint;
  try {
    c = JSON.parse(text) as Checkpoint;
  } catch {
    return 'the line is not JSON: the checkpoint file was edited or damaged';
  }
  const valid =
    typeof c === 'object' &&
    c !== null &&
    Number.isSafeInteger(c.seq) &&
    c.seq >= 0 &&
    Number.isSafeInteger(c.rows) &&
    c.rows >= 0 &&
    typeof c.hash === 'string' &&
    /^([0-9a-f]{64})?$/.test(c.hash) &&
    typeof c.at === 'string' &&
    typeof c.keyId === 'string' &&
    typeof c.sig === 'string';
  if (!valid) return 'the line is not a checkpoint: the checkpoint file was edited or damaged';
  if (c.keyId !== keys.keyId)
    return `signed by key ${c.keyId}, not by this control plane's key ${keys.keyId}`;
  const ok = crypto.verify(null, signedText(c), keys.publicKey, Buffer.from(c.sig, 'base64'));
  return ok ? c : 'its signature does not verify: the checkpoint was edited after it was signed';
}

/**
 * The checkpoint file outside the database: appended to, never rewritten (it may live on a write-once mount).
 * Each line is written whole with one append and flushed to disk before the checkpoint counts as published.
 */
export class CheckpointFile {
  readonly path: string;
  constructor(dir: string) {
    this.path = path.join(dir, CHECKPOINT_FILE);
  }

  async append(c: Checkpoint): Promise<void> {
    await fs.mkdir(path.dirname(this.path), { recursive: true });
    const f = await fs.open(this.path, 'a', 0o644);
    try {
      await f.appendFile(JSON.stringify(c) + '\n');
      await f.sync();
    } finally {
      await f.close();
    }
  }

  /** Every line, checked; an empty list when the file does not exist yet. */
  async readAll(keys: CheckpointKeys): Promise<CheckpointLine[]> {
    let text: string;
    try {
      text = await fs.readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const lines = text.split('\n');
    // A final newline ends the last line rather than starting an empty one.
    if (lines[lines.length - 1] === '') lines.pop();
    return lines.map((t, i) => {
      const r = checkLine(t, keys);
      return typeof r === 'string' ? { line: i + 1, error: r } : { line: i + 1, checkpoint: r };
    });
  }

  async exists(): Promise<boolean> {
    return fs.stat(this.path).then(
      () => true,
      () => false,
    );
  }
}
