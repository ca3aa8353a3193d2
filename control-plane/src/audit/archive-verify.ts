import { isDeepStrictEqual } from 'node:util';
import fs from 'node:fs/promises';
import path from 'node:path';
import { checkLine } from './checkpoints.ts';
import {
  MANIFEST_RE,
  jsonlName,
  manifestName,
  manifestSigned,
  readIfExists,
  recordHash,
  sha256,
  type Manifest,
} from './archive-files.ts';
import type { CheckpointKeys } from './keys.ts';

export interface ArchiveVerifyResult {
  ok: boolean;
  months: number;
  rows: number;
  /** The first month (and record, when one is at fault) where the archive stops being what was signed. */
  firstBroken: { month: string; seq: number | null; reason: string } | null;
  first: { month: string; seq: number | null } | null;
  last: { month: string; seq: number | null; hash: string | null } | null;
}

const monthAfter = (m: string) => {
  const d = new Date(`${m}-01T00:00:00Z`);
  d.setUTCMonth(d.getUTCMonth() + 1);
  return d.toISOString().slice(0, 7);
};

class Broken extends Error {
  constructor(
    readonly month: string,
    readonly seq: number | null,
    reason: string,
  ) {
    super(reason);
  }
}

/**
 * Checks an audit archive directory from its files and the public key alone (no database): each manifest's
 * signature, the months' links (each manifest names the previous one's SHA-256, and no month is missing
 * between the first and the last), each JSON Lines file's SHA-256, every record's hash and its link to the
 * record before (across months), and the checkpoint each manifest carries. Throws when the directory cannot be
 * read at all (that is "could not check", not "broken").
 */
export async function verifyArchive(dir: string, keys: CheckpointKeys): Promise<ArchiveVerifyResult> {
  const names = await fs.readdir(dir);
  const months = names.flatMap((n) => MANIFEST_RE.exec(n)?.[1] ?? []).sort();
  // A JSON Lines file whose manifest is gone is a month removed too.
  const orphans = names.flatMap((n) => /^([0-9]{4}-[0-9]{2})\.jsonl$/.exec(n)?.[1] ?? []);
  const all = [...new Set([...months, ...orphans])].sort();
  const result: ArchiveVerifyResult = {
    ok: true,
    months: 0,
    rows: 0,
    firstBroken: null,
    first: null,
    last: null,
  };
  let prevManifest: { month: string; sha: string } | null = null;
  let prevHash: string | null = null;
  let lastSeq = 0;
  try {
    if (all.length === 0) throw new Error(`${dir} holds no archived month (no *.manifest.json)`);
    for (const month of all) {
      if (prevManifest && month !== monthAfter(prevManifest.month))
        throw new Broken(
          monthAfter(prevManifest.month),
          null,
          `month ${monthAfter(prevManifest.month)} is missing: ` +
            `its manifest and records are not in the archive (the next archived month is ${month})`,
        );
      const bytes = await readIfExists(path.join(dir, manifestName(month)));
      if (!bytes)
        throw new Broken(month, null, `${manifestName(month)} is missing (its records are still there)`);
      let m: Manifest;
      try {
        m = JSON.parse(bytes.toString('utf8')) as Manifest;
      } catch {
        throw new Broken(month, null, `${manifestName(month)} is not JSON: it was edited or damaged`);
      }
      if (m.month !== month || !manifestSigned(m, keys))
        throw new Broken(
          month,
          null,
          `${manifestName(month)}: its signature does not verify (key ${keys.keyId}): ` +
            'the manifest was edited after it was signed, or signed with another key',
        );
      if (prevManifest && (m.prevMonth !== prevManifest.month || m.prevManifestSha256 !== prevManifest.sha))
        throw new Broken(
          month,
          null,
          `${manifestName(month)} does not link to the archived ${prevManifest.month}: ` +
            "the previous month's manifest was replaced",
        );
      const jsonl = await readIfExists(path.join(dir, m.jsonl));
      if (m.jsonl !== jsonlName(month) || !jsonl)
        throw new Broken(month, null, `${jsonlName(month)} is missing: the month's records were removed`);
      if (sha256(jsonl) !== m.jsonlSha256)
        throw new Broken(
          month,
          firstBadRecord(jsonl.toString('utf8'), prevHash),
          `${m.jsonl} does not have the SHA-256 its manifest signed: records were edited, added or removed`,
        );
      const lines = jsonl.toString('utf8').split('\n');
      if (lines.at(-1) === '') lines.pop();
      let first: number | null = null;
      for (const line of lines) {
        const r = parseRecord(line);
        if (typeof r === 'string') throw new Broken(month, seqOf(line), r);
        if (r.seq <= lastSeq) throw new Broken(month, r.seq, `record seq ${r.seq} is out of order`);
        if (recordHash(r.prevHash, r.canonical) !== r.hash)
          throw new Broken(month, r.seq, `record seq ${r.seq} does not match its hash: it was altered`);
        if (prevHash !== null && r.prevHash !== prevHash)
          throw new Broken(
            month,
            r.seq,
            `record seq ${r.seq} does not link to the record before it: ` +
              'a record was removed or altered before it',
          );
        if (r.loggedAt.slice(0, 7) !== month)
          throw new Broken(
            month,
            r.seq,
            `record seq ${r.seq} was logged in ${r.loggedAt.slice(0, 7)}, not ${month}`,
          );
        first ??= r.seq;
        prevHash = r.hash;
        lastSeq = r.seq;
        result.rows++;
      }
      if (lines.length !== m.rows || first !== m.firstSeq || (lines.length > 0 && lastSeq !== m.lastSeq))
        throw new Broken(month, null, `${m.jsonl} holds ${lines.length} records, its manifest ${m.rows}`);
      if (m.checkpoint) {
        const c = checkLine(JSON.stringify(m.checkpoint), keys);
        if (typeof c === 'string')
          throw new Broken(month, m.lastSeq, `the checkpoint in ${manifestName(month)}: ${c}`);
        if (c.seq < (m.lastSeq ?? 0))
          throw new Broken(
            month,
            m.lastSeq,
            `the checkpoint in ${manifestName(month)} ends before the month does`,
          );
        if (c.seq === m.lastSeq && c.hash !== m.lastHash)
          throw new Broken(
            month,
            m.lastSeq,
            `record seq ${c.seq} does not have the hash its checkpoint signed`,
          );
      } else if (m.rows > 0)
        throw new Broken(month, m.lastSeq, `${manifestName(month)} carries no checkpoint`);
      result.first ??= { month, seq: first };
      result.last = { month, seq: m.lastSeq ?? result.last?.seq ?? null, hash: prevHash };
      result.months++;
      prevManifest = { month, sha: sha256(bytes) };
    }
  } catch (err) {
    if (!(err instanceof Broken)) throw err;
    result.ok = false;
    result.firstBroken = { month: err.month, seq: err.seq, reason: err.message };
  }
  return result;
}

interface ArchivedRecord {
  seq: number;
  loggedAt: string;
  prevHash: string;
  hash: string;
  canonical: string;
}

/** One line, checked for shape and that its readable fields are the ones its hash covers; or why not. */
function parseRecord(line: string): ArchivedRecord | string {
  let r: Record<string, unknown>;
  try {
    r = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return 'a line is not JSON: the records were edited or damaged';
  }
  const { loggedAt, prevHash, hash, canonical, ...fields } = r;
  if (
    typeof canonical !== 'string' ||
    typeof loggedAt !== 'string' ||
    typeof prevHash !== 'string' ||
    typeof hash !== 'string' ||
    !Number.isSafeInteger(fields.seq)
  )
    return 'a line is not an audit record: the records were edited or damaged';
  let hashed: unknown;
  try {
    hashed = JSON.parse(canonical);
  } catch {
    return `record seq ${String(fields.seq)}: its canonical text is not JSON`;
  }
  if (!isDeepStrictEqual(hashed, fields))
    return `record seq ${String(fields.seq)}: its fields differ from the text its hash covers: it was altered`;
  return { seq: fields.seq as number, loggedAt, prevHash, hash, canonical };
}

/** The first record whose line fails its own hash (naming where an edited file was edited), if any. */
function firstBadRecord(text: string, prevHash: string | null): number | null {
  let prev = prevHash;
  for (const line of text.split('\n')) {
    if (!line) continue;
    const r = parseRecord(line);
    if (typeof r === 'string') return seqOf(line);
    if (recordHash(r.prevHash, r.canonical) !== r.hash || (prev !== null && r.prevHash !== prev))
      return r.seq;
    prev = r.hash;
  }
  return null;
}

function seqOf(line: string): number | null {
  try {
    const seq = (JSON.parse(line) as { seq?: unknown }).seq;
    return Number.isSafeInteger(seq) ? (seq as number) : null;
  } catch {
    return null;
  }
}
