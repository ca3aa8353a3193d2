import type { Pool, Queryable } from '../db/pool.ts';
import { actorName, type Auth } from '../http/auth.ts';
import * as store from './store.ts';

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
  firstBroken: { seq: number; reason: string } | null;
}

function entry(who: Auth | string, requestId: string | null, change: Change): store.AuditEntry {
  return {
    actor: typeof who === 'string' ? who : actorName(who),
    action: change.action,
    targetType: change.targetType,
    targetId: change.targetId,
    before: change.before ?? null,
    after: change.after ?? null,
    requestId,
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
  constructor(
    private readonly pool: Pool,
    private readonly onError: (err: Error) => void = () => {},
  ) {}

  async record(tx: Queryable, who: Auth | string, requestId: string | null, change: Change): Promise<number> {
    return store.insert(tx, entry(who, requestId, change));
  }

  /**
   * The record for a hot path's own statement to stage (audit/store.ts `stageSql`): it joins the chain after
   * that transaction commits (call `chainSoon` then).
   */
  entry(who: Auth | string, requestId: string | null, change: Change): store.AuditEntry {
    return entry(who, requestId, change);
  }

  /**
   * Chains staged records soon, without waiting: the pass starts CHAIN_DELAY_MS later, so that under load one
   * pass (one transaction, one WAL flush) takes the records of every webhook committed meanwhile; calls while a
   * pass runs make one more pass.
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
      do {
        this.again = false;
        while ((await store.chainPending(this.pool, CHAIN_BATCH)) === CHAIN_BATCH);
      } while (this.again);
    })()
      // Left staged: the next pass, a reader or the sweep chains it.
      .catch((err: unknown) => this.onError(err as Error))
      .finally(() => {
        this.chaining = undefined;
        // Asked for after the last batch had looked: that record still needs a pass.
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

  async list(f: { targetType?: string; targetId?: string; limit?: number; beforeSeq?: number }) {
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
      hash: r.hash.toString('hex'),
    }));
  }

  async verify(): Promise<VerifyResult> {
    await this.flush();
    const { broken, rows } = await store.firstBroken(this.pool);
    return {
      ok: broken === null,
      rows,
      firstBroken: broken && {
        seq: broken.seq,
        reason:
          broken.reason === 'hash'
            ? 'the row was altered: its hash does not match its content'
            : 'the chain is broken before this row: a row was removed or altered before it',
      },
    };
  }
}
