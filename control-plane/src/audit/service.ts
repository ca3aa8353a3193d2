import type { Pool, Queryable } from '../db/pool.ts';
import { actorName, type Auth } from '../http/auth.ts';
import { ConflictError } from '../http/errors.ts';
import type { Writable } from 'node:stream';
import type { CheckpointFile } from './checkpoints.ts';
import { exportFilter, runExport, type ExportQuery } from './export.ts';
import type { ExportFormat } from './export-formats.ts';
import { signCheckpoint, type Checkpoint, type CheckpointLine } from './checkpoints.ts';
import type { CheckpointKeys } from './keys.ts';
import * as store from './store.ts';
import { retentionAnchor } from './archive-store.ts';
import { judge, type Broken } from './verify.ts';
import { parseRange } from '../http/range.ts';
import type { ListQuery } from './schemas.ts';

export interface Change {
  action: string;
  targetType: string;
  targetId: string | null;
  before?: unknown;
  after?: unknown;
}

export interface VerifyResult {
  ok: boolean;
  rows: number;
  firstBroken: Broken | null;
  /** The newest checkpoint under which every row verified: how far the signed, verified history reaches. */
  verifiedThrough: { seq: number; at: string } | null;
  /**
   * Months deleted after their retention: the verified history in the database begins at the first record
   * after `lastSeq`, which must link to `lastHash` (the deleted month's last record, as its signed archive
   * manifest gives it). Null while nothing was deleted.
   */
  deleted: { throughMonth: string; lastSeq: number | null; lastHash: string | null; rows: number } | null;
  checkpoints: {
    /** false: no key, so no checkpoint is written or checked (the chain alone is). */
    enabled: boolean;
    /** Lines in the checkpoint file (those that fail count too, and are named in firstBroken). */
    count: number;
    newestSeq: number | null;
    newestAt: string | null;
    newestHash: string | null;
    keyId: string | null;
    file: string | null;
  };
}

/** Checkpoints of the chain's head, signed with a key the database never holds, published to a file. */
export interface CheckpointSetup {
  keys: CheckpointKeys;
  file: CheckpointFile;
}

/**
 * A fixed name with the caller behind it: Alertmanager's webhook is `alertmanager` on the timeline and in the
 * record's actor, while the record names its token and source like any API call's; a job of the control plane
 * (`systemJob`) is named by its job.
 */
export interface Acting {
  readonly actor: string;
  readonly caller: store.AuditCaller;
}

/** Who a record says did it: a token's caller, a fixed name with its caller, or a bare name (no caller). */
export type Who = Auth | Acting | string;

/** The caller fields of a request's token and source. */
export function callerOf(auth: Auth): store.AuditCaller {
  return {
    tokenId: auth.tokenId,
    tokenName: auth.name,
    role: auth.role,
    clientId: auth.clientId,
    ip: auth.ip ?? null,
    userAgent: auth.userAgent ?? null,
  };
}

/** A request's change recorded under a fixed actor name (the webhook's `alertmanager`), with its caller. */
export function actingAs(actor: string, auth: Auth): Acting {
  return { actor, caller: callerOf(auth) };
}

/**
 * The control plane's own job `name` (escalation, paging, the dead man's switch): role `system`, token name the
 * job's, and a token id no real token has (real ones are UUIDs; `00000000-<name>`, as the jobs that call
 * services with an Auth of their own), so an auditor sees what did it and the watch never takes it for a person.
 */
export function systemJob(name: string): Acting {
  return {
    actor: name,
    caller: {
      tokenId: `00000000-${name}`,
      tokenName: name,
      role: 'system',
      clientId: null,
      ip: null,
      userAgent: null,
    },
  };
}

/** The name a record's actor column (and a timeline) gives `who`. */
export function actorOf(who: Who): string {
  if (typeof who === 'string') return who;
  return 'caller' in who ? who.actor : actorName(who);
}

function entry(who: Who, requestId: string | null, change: Change): store.AuditEntry {
  return {
    actor: actorOf(who),
    action: change.action,
    targetType: change.targetType,
    targetId: change.targetId,
    before: change.before ?? null,
    after: change.after ?? null,
    requestId,
    who: typeof who === 'string' ? null : 'caller' in who ? who.caller : callerOf(who),
  };
}

/** Staged records moved into the chain per transaction. */
const CHAIN_BATCH = 500;
/**
 * How long a chaining pass waits for more records to take along (a reader does not wait for it). At 150
 * webhooks/s, 20 ms gave passes of 3 records at 0.29 ms of database time per webhook; 200 ms gives passes of 20
 * at 0.13 ms, and 85% fewer chaining transactions (bench:page-latency with BENCH_PGSS=1).
 */
const CHAIN_DELAY_MS = 200;

/**
 * The append-only, hash-chained record of every change. Write it in the same transaction as the change:
 * `record` chains it at once (holding the chain's lock until that transaction ends); a hot path stages the
 * record (`entry`) in a statement of its own, beside the change (audit/store.ts `stageSql`: the webhook's
 * timeline statement), and it joins the chain just after commit (`chainSoon`); the log's readers and
 * the periodic sweep chain whatever is still staged first, so no record is ever missing from what they see.
 */
export class AuditService {
  private chaining: Promise<void> | undefined;
  /** A record committed after the running pass began its first batch: take one more. */
  private again = false;
  private passStarted = false;
  /** Ends the wait of a pass still waiting out CHAIN_DELAY_MS. */
  private wake: (() => void) | undefined;
  /** The newest checkpoint this process wrote or read (the metrics show it); undefined until first looked up. */
  private newest: { checkpoint: Checkpoint | undefined } | undefined;
  constructor(
    private readonly pool: Pool,
    private readonly onError: (err: Error) => void = () => {},
    private readonly checkpoints?: CheckpointSetup,
  ) {}

  async record(tx: Queryable, who: Who, requestId: string | null, change: Change): Promise<number> {
    return store.insert(tx, entry(who, requestId, change));
  }

  /**
   * Records a read auditors ask about (a client's report, SLA, responders' contacts, the audit log, tokens).
   * Staged, like the webhook's records, so a read waits for one insert and never for the chain's lock.
   */
  async recordRead(who: Auth, requestId: string | null, change: Change): Promise<void> {
    await store.stage(this.pool, entry(who, requestId, change));
    this.chainSoon();
  }

  /** Checks an export's range and filters (a 400 names the field) before anything is sent. */
  exportFilter(q: ExportQuery): store.ExportFilter {
    return exportFilter(q);
  }

  /** Streams the records in `f` to `out` with their integrity block, and records the export (export.ts). */
  async export(
    by: { auth: Auth; requestId: string },
    f: store.ExportFilter,
    format: ExportFormat,
    out: Writable,
  ): Promise<void> {
    await runExport(this.pool, this, by, f, format, out);
  }

  /** A signing key is configured: checkpoints can be written. */
  get canSign(): boolean {
    return this.checkpoints?.keys.privateKey !== undefined;
  }

  /**
   * The record for a hot path's own statement to stage (audit/store.ts `stageSql`): it joins the chain after
   * that transaction commits (call `chainSoon` then).
   */
  entry(who: Who, requestId: string | null, change: Change): store.AuditEntry {
    return entry(who, requestId, change);
  }

  /**
   * Chains staged records soon, without waiting: the pass starts CHAIN_DELAY_MS later, so that under load one
   * pass (one transaction, one WAL flush) takes the records of every webhook committed meanwhile; calls while a
   * pass runs make one more pass, CHAIN_DELAY_MS after it.
   */
  chainSoon(): void {
    if (this.chaining) {
      // Still waiting out the delay, the coming pass takes this record too.
      if (this.passStarted) this.again = true;
      return;
    }
    this.passStarted = false;
    this.chaining = (async () => {
      // A reader (flush) cuts the wait short.
      await new Promise<void>((r) => {
        const timer = setTimeout(r, CHAIN_DELAY_MS);
        this.wake = () => {
          clearTimeout(timer);
          r();
        };
      });
      this.wake = undefined;
      this.passStarted = true;
      this.again = false;
      while ((await store.chainPending(this.pool, CHAIN_BATCH)) === CHAIN_BATCH);
    })()
      // Left staged: the next pass, a reader or the sweep chains it.
      .catch((err: unknown) => this.onError(err as Error))
      .finally(() => {
        this.chaining = undefined;
        // Asked for after the last batch had looked: that record still needs a pass, after the delay too. Under
        // steady webhooks a record arrives during every pass, and an immediate one took ~3 records at a time:
        // each pass a transaction, a WAL flush and the chain's lock, beside the webhooks' own commits.
        if (this.again) {
          this.again = false;
          this.chainSoon();
        }
      });
  }

  /** Chains everything staged and committed so far (readers call this first). */
  async flush(): Promise<void> {
    this.wake?.();
    await this.chaining;
    while ((await store.chainPending(this.pool, CHAIN_BATCH)) === CHAIN_BATCH);
  }

  /**
   * A list query's filter: `limit` within 1..1000 (default 100), and with any of actor, action, from or to a time
   * range checked as every range-taking route does (default the 31 days before `to`, at most 366; a 400 names
   * the field), so a filter that matches little still reads a bounded stretch of the log; the console's page is
   * always ranged (`alwaysRanged`).
   */
  listFilter(q: ListQuery, alwaysRanged = false, now = new Date()): store.ListFilter {
    const ranged =
      alwaysRanged ||
      q.actor !== undefined ||
      q.action !== undefined ||
      q.from !== undefined ||
      q.to !== undefined;
    return {
      targetType: q.targetType,
      targetId: q.targetId,
      actor: q.actor,
      action: q.action,
      ...(ranged ? parseRange(q, { maxDays: 366, defaultDays: 31, anchor: 'to' }, now) : {}),
      limit: q.limit === undefined ? 100 : Math.min(Number(q.limit), 1000),
      beforeSeq: q.before === undefined ? undefined : Number(q.before),
    };
  }

  async list(f: Partial<store.ListFilter>) {
    await this.flush();
    const rows = await store.list(this.pool, { ...f, limit: Math.min(f.limit ?? 100, 1000) });
    return rows.map((r) => ({
      seq: r.seq,
      at: r.at.toISOString(),
      actor: r.actor,
      action: r.action,
      targetType: r.target_type,
      targetId: r.target_id,
      before: r.before,
      after: r.after,
      requestId: r.request_id,
      tokenId: r.token_id,
      tokenName: r.token_name,
      role: r.role,
      clientId: r.client_id,
      ip: r.ip,
      userAgent: r.user_agent,
      hash: r.hash.toString('hex'),
    }));
  }

  /**
   * Signs the chain's head and appends it to the checkpoint file (after chaining what is staged, so the head is
   * everything committed). Asked for by a caller (`by`), its own record is chained first and so covered.
   * Throws ConflictError when no signing key is configured.
   */
  async checkpoint(by?: { auth: Auth; requestId: string }): Promise<Checkpoint> {
    const cp = this.checkpoints;
    if (!cp?.keys.privateKey)
      throw new ConflictError('audit checkpoints are off: no signing key is configured (see docs/audit.md)');
    if (by)
      await this.record(this.pool, by.auth, by.requestId, {
        action: 'audit.checkpoint',
        targetType: 'audit',
        targetId: null,
      });
    await this.flush();
    const h = await store.head(this.pool);
    const c = signCheckpoint(
      { seq: h?.seq ?? 0, hash: h?.hash.toString('hex') ?? '', rows: h?.rows ?? 0 },
      cp.keys,
    );
    await cp.file.append(c);
    this.newest = { checkpoint: c };
    return c;
  }

  /** The newest checkpoint in the file (read once, then kept as this process writes more), for the metrics. */
  async newestCheckpoint(): Promise<Checkpoint | undefined> {
    if (!this.checkpoints) return undefined;
    if (!this.newest) {
      const lines = await this.checkpoints.file.readAll(this.checkpoints.keys);
      this.newest = { checkpoint: newestOf(signedOf(lines)) };
    }
    return this.newest.checkpoint;
  }

  /**
   * The earliest signed checkpoint covering row `seq` (its seq at or above it), from the file; when none does
   * yet and a key is configured, one is signed now (as an export does). Null when checkpoints are off.
   */
  async checkpointCovering(seq: number): Promise<Checkpoint | null> {
    const cp = this.checkpoints;
    if (!cp) return null;
    const lines = await cp.file.readAll(cp.keys);
    const covering = signedOf(lines)
      .filter((c) => c.seq >= seq)
      .sort((a, b) => a.seq - b.seq || a.at.localeCompare(b.at))[0];
    if (covering) return covering;
    return this.canSign ? this.checkpoint() : null;
  }

  /** Checks the chain, and it against every checkpoint in the file, trusting only the file and the public key. */
  async verify(): Promise<VerifyResult> {
    await this.flush();
    const cp = this.checkpoints;
    const lines = cp ? await cp.file.readAll(cp.keys) : [];
    const anchor = await retentionAnchor(this.pool);
    const chain = await store.firstBroken(this.pool, anchor?.lastHash ?? '');
    const signed = signedOf(lines);
    const deleted = anchor?.rowsDeletedInAll ?? 0;
    const at = await store.rowsAt(this.pool, [...new Set(signed.map((c) => c.seq))], deleted);
    const { firstBroken, verifiedThrough } = judge(chain, lines, at, anchor?.lastSeq ?? 0);
    const newest = newestOf(signed);
    return {
      ok: firstBroken === null,
      rows: chain.rows,
      firstBroken,
      verifiedThrough,
      deleted: anchor
        ? { throughMonth: anchor.month, lastSeq: anchor.lastSeq, lastHash: anchor.lastHash, rows: deleted }
        : null,
      checkpoints: {
        enabled: cp !== undefined,
        count: lines.length,
        newestSeq: newest?.seq ?? null,
        newestAt: newest?.at ?? null,
        newestHash: newest?.hash ?? null,
        keyId: cp?.keys.keyId ?? null,
        file: cp?.file.path ?? null,
      },
    };
  }
}

/** The checkpoint of the highest seq, the latest signed among equals. */
function newestOf(cs: Checkpoint[]): Checkpoint | undefined {
  return cs.reduce<Checkpoint | undefined>(
    (a, c) => (!a || c.seq > a.seq || (c.seq === a.seq && c.at > a.at) ? c : a),
    undefined,
  );
}

/** The checkpoints the file's lines hold, in file order (a line that could not be read holds none). */
function signedOf(lines: CheckpointLine[]): Checkpoint[] {
  return lines.flatMap((l) => ('checkpoint' in l ? [l.checkpoint] : []));
}
