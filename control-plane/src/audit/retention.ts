import path from 'node:path';
import type { Logger } from 'pino';
import type { AuditConfig } from '../config.ts';
import type { Pool, Queryable } from '../db/pool.ts';
import { withTx } from '../db/pool.ts';
import {
  jsonlName,
  manifestName,
  manifestSigned,
  readIfExists,
  sha256,
  signManifest,
  writeDurably,
  type Manifest,
} from './archive-files.ts';
import * as store from './archive-store.ts';
import type { AuditService, CheckpointSetup } from './service.ts';
import { insert as insertAudit } from './store.ts';

/**
 * At start, as the owner role (openDatabase's `asOwner`): the retention audit_log_drop_month applies, which the
 * app role cannot change. A retention under six years (AUDIT_RETENTION_OVERRIDE) is recorded in the audit log at
 * every start, with its reason.
 */
export async function applyRetention(owner: Queryable, config: AuditConfig): Promise<void> {
  const { retentionYears: years, retentionOverride: override } = config;
  await store.setRetention(owner, years, override);
  if (override)
    await insertAudit(owner, {
      actor: 'system:config',
      action: 'audit.retention_override',
      targetType: 'audit',
      targetId: null,
      before: null,
      after: { retentionYears: years, override },
      requestId: null,
      who: null,
    });
}

/** Months ahead of the current one that always have a partition (a record never waits for one). */
export const MONTHS_AHEAD = 3;
/** Records read per statement while a month is written out: memory stays flat however large the month. */
const PAGE = 1000;

const ym = (monthStart: string) => monthStart.slice(0, 7);
const nextMonth = (monthStart: string) => {
  const d = new Date(`${monthStart}T00:00:00Z`);
  d.setUTCMonth(d.getUTCMonth() + 1);
  return d.toISOString().slice(0, 10);
};

export interface RetentionOptions {
  archiveDir: string;
  retentionYears: number;
  /** The clock that decides which months are closed and expired (tests set it); the database re-checks both. */
  now?: () => Date;
}

/**
 * The audit log's life after its month: partitions made ahead, closed months archived to signed, hash-linked
 * files, and archived months dropped once older than the retention (docs/audit.md, "Retention and archive").
 */
export class AuditRetention {
  private readonly now: () => Date;
  constructor(
    private readonly pool: Pool,
    private readonly audit: AuditService,
    private readonly checkpoints: CheckpointSetup | undefined,
    private readonly opts: RetentionOptions,
    private readonly log: Logger,
  ) {
    this.now = opts.now ?? (() => new Date());
  }

  /** Partitions for this month and the next MONTHS_AHEAD; how many were created. */
  async ensurePartitions(): Promise<number> {
    return store.addPartitions(this.pool, this.now(), MONTHS_AHEAD + 1);
  }

  /**
   * Archives every closed month not archived yet, oldest first (a month's manifest links to the one before, so
   * none is skipped). Idempotent: a month already archived is left alone; files a crash left behind are checked
   * and reused. Returns the manifests written.
   */
  async archiveClosed(): Promise<Manifest[]> {
    const keys = this.checkpoints?.keys;
    if (!keys?.privateKey) return [];
    // No record can join a month that ended before this instant (see chainBarrier).
    const barrier = await withTx(this.pool, (tx) => store.chainBarrier(tx));
    const cutoff = new Date(Math.min(barrier.getTime(), this.now().getTime()));
    await this.audit.flush();
    const done = new Map((await store.archives(this.pool)).map((a) => [a.month, a]));
    const written: Manifest[] = [];
    let prev: { month: string; manifestSha256: string } | null = null;
    // Dropped months stay in audit_archives: the first month kept links to the last one dropped.
    const months = [...new Set([...done.keys(), ...(await store.partitionMonths(this.pool))])].sort();
    for (const month of months) {
      if (new Date(`${nextMonth(month)}T00:00:00Z`) > cutoff) break;
      const archived = done.get(month);
      if (archived) {
        prev = { month: ym(month), manifestSha256: archived.manifest_sha256 };
        continue;
      }
      const { manifest, manifestSha256 } = await this.archiveMonth(month, prev);
      written.push(manifest);
      prev = { month: manifest.month, manifestSha256 };
    }
    return written;
  }

  private async archiveMonth(
    month: string,
    prev: { month: string; manifestSha256: string } | null,
  ): Promise<{ manifest: Manifest; manifestSha256: string }> {
    const cp = this.checkpoints!;
    const dir = this.opts.archiveDir;
    const stats = { rows: 0, firstSeq: null as number | null, lastSeq: null as number | null };
    let firstPrevHash: string | null = null;
    let lastHash: string | null = null;
    const pool = this.pool;
    async function* lines() {
      for (let after = 0; ;) {
        const page = await store.monthPage(pool, month, after, PAGE);
        let chunk = '';
        for (const r of page) {
          const fields = JSON.parse(r.canonical) as object;
          chunk +=
            JSON.stringify({
              ...fields,
              loggedAt: r.logged_at,
              prevHash: r.prev_hash,
              hash: r.hash,
              canonical: r.canonical,
            }) + '\n';
          stats.rows++;
          stats.firstSeq ??= r.seq;
          firstPrevHash ??= r.prev_hash;
          stats.lastSeq = r.seq;
          lastHash = r.hash;
        }
        if (chunk) yield chunk;
        if (page.length < PAGE) return;
        after = page[page.length - 1]!.seq;
      }
    }
    const existing = await readIfExists(path.join(dir, manifestName(ym(month))));
    let manifest: Manifest;
    let manifestSha256: string;
    if (existing) {
      // A crash between writing the files and recording them: the files stand if they hold this month.
      manifest = JSON.parse(existing.toString('utf8')) as Manifest;
      const jsonl = await readIfExists(path.join(dir, manifest.jsonl));
      if (!manifestSigned(manifest, cp.keys) || !jsonl || sha256(jsonl) !== manifest.jsonlSha256)
        throw new Error(
          `the archive's ${manifestName(ym(month))} exists but does not verify: not overwritten`,
        );
      manifestSha256 = sha256(existing);
    } else {
      const jsonlSha256 = await writeDurably(dir, jsonlName(ym(month)), lines());
      const checkpoint = stats.lastSeq === null ? null : await this.audit.checkpointCovering(stats.lastSeq);
      manifest = signManifest(
        {
          version: 1,
          month: ym(month),
          ...stats,
          firstPrevHash,
          lastHash,
          jsonl: jsonlName(ym(month)),
          jsonlSha256,
          prevMonth: prev?.month ?? null,
          prevManifestSha256: prev?.manifestSha256 ?? null,
          checkpoint,
          archivedAt: this.now().toISOString(),
        },
        cp.keys,
      );
      manifestSha256 = await writeDurably(
        dir,
        manifestName(ym(month)),
        oneChunk(manifestBytes(manifest).toString('utf8')),
      );
    }
    const recorded = await store.insertArchive(this.pool, {
      month,
      rows: manifest.rows,
      first_seq: manifest.firstSeq,
      last_seq: manifest.lastSeq,
      last_hash: manifest.lastHash,
      jsonl_sha256: manifest.jsonlSha256,
      manifest_sha256: manifestSha256,
    });
    if (recorded)
      await this.audit.record(this.pool, 'system:archive', null, {
        action: 'audit.month_archived',
        targetType: 'audit_month',
        targetId: manifest.month,
        after: {
          month: manifest.month,
          rows: manifest.rows,
          firstSeq: manifest.firstSeq,
          lastSeq: manifest.lastSeq,
          lastHash: manifest.lastHash,
          manifestSha256,
          file: manifestName(manifest.month),
        },
      });
    this.log.info({ month: manifest.month, rows: manifest.rows }, 'audit month archived');
    return { manifest, manifestSha256 };
  }

  /**
   * Drops every archived month whose end lies more than the retention back; the database function re-checks
   * both conditions and records each deletion in the chain before it drops. Returns the months dropped.
   */
  async deleteExpired(): Promise<{ month: string; rows: number }[]> {
    const limit = new Date(this.now());
    limit.setUTCFullYear(limit.getUTCFullYear() - this.opts.retentionYears);
    const archived = new Set((await store.archives(this.pool)).map((a) => a.month));
    const dropped: { month: string; rows: number }[] = [];
    for (const month of await store.partitionMonths(this.pool)) {
      if (new Date(`${nextMonth(month)}T00:00:00Z`) > limit) break;
      // Months are dropped oldest first and only archived ones: the kept chain stays one unbroken piece.
      if (!archived.has(month)) break;
      const rows = await store.dropMonth(this.pool, month);
      if (rows === null) continue;
      dropped.push({ month: ym(month), rows });
      this.log.warn({ month: ym(month), rows }, 'audit month deleted after its retention');
    }
    return dropped;
  }
}

/** A manifest file's exact bytes: pretty JSON for the auditor reading it, and what the next month hashes. */
export const manifestBytes = (m: Manifest) => Buffer.from(JSON.stringify(m, null, 2) + '\n');

async function* oneChunk(s: string) {
  yield s;
}
