import type { Queryable } from '../db/pool.ts';

export interface AuditEntry {
  actor: string;
  action: string;
  targetType: string;
  targetId: string | null;
  before: unknown;
  after: unknown;
  requestId: string | null;
}

export interface DbAuditRow {
  seq: number;
  at: Date;
  actor: string;
  action: string;
  target_type: string;
  target_id: string | null;
  before: unknown;
  after: unknown;
  request_id: string | null;
  hash: Buffer;
}

/** An entry's columns as parameters $1-$7: actor, action, target_type, target_id, before, after, request_id. */
export function entryValues(e: AuditEntry): unknown[] {
  const json = (v: unknown) => (v === undefined ? null : JSON.stringify(v));
  return [e.actor, e.action, e.targetType, e.targetId, json(e.before), json(e.after), e.requestId];
}

export async function insert(db: Queryable, e: AuditEntry): Promise<number> {
  // seq, prev_hash and hash are set by the audit_log_chain trigger.
  const { rows } = await db.query<{ seq: number }>(
    `insert into audit_log (seq, actor, action, target_type, target_id, before, after, request_id, prev_hash, hash)
     values (0, $1, $2, $3, $4, $5, $6, $7, '', '') returning seq`,
    entryValues(e),
  );
  return rows[0]!.seq;
}

/**
 * SQL staging one record, whose `entryValues` are parameters $first .. $first+6, to join the hash chain after
 * its transaction commits (see `chainPending`). Part of the statement of the change it records (the webhook's
 * timeline statement, incidents/store.ts `insertEvents`), so staging costs no round trip of its own.
 */
export const stageSql = (first: number) =>
  `insert into audit_pending (actor, action, target_type, target_id, before, after, request_id)
     values (${Array.from({ length: 7 }, (_, i) => `$${first + i}`).join(', ')})`;

/**
 * Moves up to `max` committed staged records into the chain, oldest first, in one transaction (the chain
 * trigger sets seq and the hashes; `at` stays the change's time). Rows another process is moving are skipped.
 * Returns how many moved.
 */
export async function chainPending(db: Queryable, max: number): Promise<number> {
  const r = await db.query({
    name: 'audit.chainPending',
    text: `with m as (
       delete from audit_pending where id in (
         select id from audit_pending order by id limit $1 for update skip locked)
       returning *)
     insert into audit_log (seq, at, actor, action, target_type, target_id, before, after, request_id,
       prev_hash, hash)
     select 0, at, actor, action, target_type, target_id, before, after, request_id, '', '' from m order by id`,
    values: [max],
  });
  return r.rowCount ?? 0;
}

export async function list(
  db: Queryable,
  f: { targetType?: string; targetId?: string; limit: number; beforeSeq?: number },
): Promise<DbAuditRow[]> {
  const { rows } = await db.query<DbAuditRow>(
    `select seq, at, actor, action, target_type, target_id, before, after, request_id, hash from audit_log
     where ($1::text is null or target_type = $1) and ($2::text is null or target_id = $2)
       and ($3::bigint is null or seq < $3)
     order by seq desc limit $4`,
    [f.targetType ?? null, f.targetId ?? null, f.beforeSeq ?? null, f.limit],
  );
  return rows;
}

export interface DbBrokenRow {
  seq: number;
  reason: 'hash' | 'link';
}

/**
 * The first row whose hash does not match its content, or whose prev_hash is not the previous row's hash
 * (a row removed or reordered). One pass in the database, ordered by seq.
 */
export async function firstBroken(db: Queryable): Promise<{ broken: DbBrokenRow | null; rows: number }> {
  const { rows } = await db.query<{ seq: number | null; reason: 'hash' | 'link' | null; total: number }>(
    `with chain as (
       select seq, hash, prev_hash, sha256(prev_hash || audit_log_canonical(a)) as expected,
              coalesce(lag(hash) over (order by seq), '\\x'::bytea) as previous
       from audit_log a
     )
     select (select count(*) from audit_log)::int as total, b.seq, b.reason from (select 1) one
     left join lateral (
       select seq, case when hash <> expected then 'hash' else 'link' end as reason
       from chain where hash <> expected or prev_hash <> previous order by seq limit 1
     ) b on true`,
  );
  const r = rows[0]!;
  return { rows: r.total, broken: r.seq === null ? null : { seq: r.seq, reason: r.reason! } };
}
