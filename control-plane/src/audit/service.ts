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

/** The append-only, hash-chained record of every change. Write it in the same transaction as the change. */
export class AuditService {
  constructor(private readonly pool: Pool) {}

  async record(tx: Queryable, who: Auth | string, requestId: string | null, change: Change): Promise<number> {
    return store.insert(tx, {
      actor: typeof who === 'string' ? who : actorName(who),
      action: change.action,
      targetType: change.targetType,
      targetId: change.targetId,
      before: change.before ?? null,
      after: change.after ?? null,
      requestId,
    });
  }

  async list(f: { targetType?: string; targetId?: string; limit?: number; beforeSeq?: number }) {
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
