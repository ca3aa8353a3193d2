import pg from 'pg';
import type { Pool, Queryable } from '../db/pool.ts';

export interface AuditEntry {
  actor: string;
  action: string;
  targetType: string;
  targetId: string | null;
  before: unknown;
  after: unknown;
  requestId: string | null;
  /** The caller, when a token made the change (system records have none). */
  who: AuditCaller | null;
}

export interface AuditCaller {
  tokenId: string;
  tokenName: string;
  role: string;
  clientId: string | null;
  ip: string | null;
  userAgent: string | null;
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
  token_id: string | null;
  token_name: string | null;
  role: string | null;
  client_id: string | null;
  ip: string | null;
  user_agent: string | null;
  hash: Buffer;
}

/** An entry's columns as parameters $1-$7: actor, action, target_type, target_id, before, after, request_id. */
export function entryValues(e: AuditEntry): unknown[] {
  const json = (v: unknown) => (v === undefined ? null : JSON.stringify(v));
  return [e.actor, e.action, e.targetType, e.targetId, json(e.before), json(e.after), e.requestId];
}

/** The caller's columns (CALLER_COLUMNS) as six parameters: token_id, token_name, role, client_id, ip, user_agent. */
export function callerValues(e: AuditEntry): unknown[] {
  const w = e.who;
  return [
    w?.tokenId ?? null,
    w?.tokenName ?? null,
    w?.role ?? null,
    w?.clientId ?? null,
    w?.ip ?? null,
    w?.userAgent ?? null,
  ];
}

export const CALLER_COLUMNS = 'token_id, token_name, role, client_id, ip, user_agent';

const params = (first: number, n: number) => Array.from({ length: n }, (_, i) => `$${first + i}`).join(', ');

export async function insert(db: Queryable, e: AuditEntry): Promise<number> {
  // seq, prev_hash and hash are set by the audit_log_chain trigger.
  const { rows } = await db.query<{ seq: number }>(
    `insert into audit_log (seq, actor, action, target_type, target_id, before, after, request_id,
       ${CALLER_COLUMNS}, prev_hash, hash)
     values (0, ${params(1, 13)}, '', '') returning seq`,
    [...entryValues(e), ...callerValues(e)],
  );
  return rows[0]!.seq;
}

/**
 * SQL staging one record, whose `entryValues` then `callerValues` are parameters $first .. $first+12, to join the
 * hash chain after its transaction commits (see `chainPending`). Part of the statement of the change it records
 * (the webhook's timeline statement, incidents/store.ts `insertEvents`), so staging costs no round trip of its own.
 */
export const stageSql = (first: number) =>
  `insert into audit_pending (actor, action, target_type, target_id, before, after, request_id, ${CALLER_COLUMNS})
     values (${params(first, 13)})`;

/**
 * Moves up to `max` committed staged records into the chain, oldest first, in one transaction (the chain
 * trigger sets seq and the hashes; `at` stays the change's time). Rows another process is moving are skipped.
 * Returns how many moved. A function running as the schema's owner does it (migration audit_chain_definer),
 * so the control plane's own role never needs DELETE or UPDATE on audit_pending.
 */
export async function chainPending(db: Queryable, max: number): Promise<number> {
  const r = await db.query<{ n: number }>({
    name: 'audit.chainPending',
    text: 'select audit_chain_pending($1) as n',
    values: [max],
  });
  return r.rows[0]!.n;
}

/** What a page of the audit log may be filtered by; `from`/`to` bound `at` (the change's time). */
export interface ListFilter {
  targetType?: string;
  targetId?: string;
  /** The actor column, or the caller's token id or name (as the export's `actor`). */
  actor?: string;
  action?: string;
  from?: Date;
  to?: Date;
  limit: number;
  beforeSeq?: number;
}

export async function list(db: Queryable, f: ListFilter): Promise<DbAuditRow[]> {
  // Newest first by seq (keyset paging with `before`); the time range keeps a rare filter's scan bounded.
  const { rows } = await db.query<DbAuditRow>(
    `select seq, at, actor, action, target_type, target_id, before, after, request_id, ${CALLER_COLUMNS}, hash
     from audit_log
     where ($1::text is null or target_type = $1) and ($2::text is null or target_id = $2)
       and ($3::bigint is null or seq < $3)
       and ($5::text is null or actor = $5 or token_id = $5 or token_name = $5)
       and ($6::text is null or action = $6)
       and ($7::timestamptz is null or at >= $7) and ($8::timestamptz is null or at < $8)
     order by seq desc limit $4`,
    [
      f.targetType ?? null,
      f.targetId ?? null,
      f.beforeSeq ?? null,
      f.limit,
      f.actor ?? null,
      f.action ?? null,
      f.from ?? null,
      f.to ?? null,
    ],
  );
  return rows;
}

export interface DbBrokenRow {
  seq: number;
  reason: 'hash' | 'link';
}

/**
 * The first row whose hash does not match its content, or whose prev_hash is not the previous row's hash
 * (a row removed or reordered). One pass in the database, ordered by seq. `anchor` (hex) is what the first row
 * kept must link to: empty for a log that begins with its first record, the last deleted record's hash after
 * months past their retention were deleted.
 */
export async function firstBroken(
  db: Queryable,
  anchor = '',
): Promise<{ broken: DbBrokenRow | null; rows: number; last: number | null }> {
  const { rows } = await db.query<{
    seq: number | null;
    reason: 'hash' | 'link' | null;
    total: number;
    last: number | null;
  }>(
    `with chain as (
       select seq, hash, prev_hash, sha256(prev_hash || audit_log_canonical(a)) as expected,
              coalesce(lag(hash) over (order by seq), decode($1, 'hex')) as previous
       from audit_log a
     )
     select (select count(*) from audit_log)::int as total, (select max(seq) from audit_log) as last, b.seq,
       b.reason from (select 1) one
     left join lateral (
       select seq, case when hash <> expected then 'hash' else 'link' end as reason
       from chain where hash <> expected or prev_hash <> previous order by seq limit 1
     ) b on true`,
    [anchor],
  );
  const r = rows[0]!;
  return { rows: r.total, last: r.last, broken: r.seq === null ? null : { seq: r.seq, reason: r.reason! } };
}

/**
 * The chain's head to checkpoint: the newest row's seq and hash, and how many rows there are. One statement,
 * so one snapshot; the chain trigger's lock is held until commit, so what a snapshot sees is a prefix of the chain.
 */
export async function head(db: Queryable): Promise<{ seq: number; hash: Buffer; rows: number } | undefined> {
  const { rows } = await db.query<{ seq: number; hash: Buffer; rows: number }>(
    `select seq, hash, (select count(*) from audit_log)::int as rows from audit_log order by seq desc limit 1`,
  );
  return rows[0];
}

/**
 * Of the rows with these seqs (the checkpointed ones): each one's hash, and how many rows lie up to it
 * (`deleted`: rows of months deleted after their retention, which lay before every row kept).
 */
export async function rowsAt(
  db: Queryable,
  seqs: number[],
  deleted = 0,
): Promise<Map<number, { hash: string; rows: number }>> {
  const { rows } = await db.query<{ seq: number; hash: Buffer; n: number }>(
    `select seq, hash, n + $2 as n
     from (select seq, hash, row_number() over (order by seq) as n from audit_log) a
     where seq = any($1::bigint[])`,
    [seqs, deleted],
  );
  return new Map(rows.map((r) => [r.seq, { hash: r.hash.toString('hex'), rows: r.n }]));
}

/** Stages one record (a recorded read) to join the chain soon, without taking the chain's lock. */
export async function stage(db: Queryable, e: AuditEntry): Promise<void> {
  await db.query({ name: 'audit.stage', text: stageSql(1), values: [...entryValues(e), ...callerValues(e)] });
}

export interface ExportFilter {
  from: Date;
  to: Date;
  /** The actor column, or the caller's token id or name. */
  actor: string | null;
  /** The caller's client scope, or a record about that client. */
  client: string | null;
  action: string | null;
}

/** A row as exported: `canonical` is the exact text its hash covers, `at` in the same form as in it. */
export interface DbExportRow {
  seq: number;
  at: string;
  actor: string;
  action: string;
  target_type: string;
  target_id: string | null;
  request_id: string | null;
  token_id: string | null;
  token_name: string | null;
  role: string | null;
  client_id: string | null;
  ip: string | null;
  user_agent: string | null;
  before: string | null;
  after: string | null;
  prev_hash: string;
  hash: string;
  canonical: string;
}

/**
 * The seq range an export covers: from the first record at or after `from` to the last before `to`, both at or
 * below `through`; null when none lies in [from, to). `at` is not quite in seq order (a staged record keeps its
 * change's time), so a range of seq, not of time, keeps an unfiltered export one unbroken piece of the chain.
 */
export async function seqRange(
  db: Queryable,
  f: ExportFilter,
  through: number,
): Promise<{ first: number; last: number } | null> {
  // One scan per export, not per batch.
  const { rows } = await db.query<{ first: number | null; last: number | null }>(
    `select min(seq) filter (where at >= $1) as first, max(seq) filter (where at < $2) as last
     from audit_log where seq <= $3 and at >= $1 and at < $2`,
    [f.from, f.to, through],
  );
  const r = rows[0]!;
  return r.first === null || r.last === null ? null : { first: r.first, last: r.last };
}

/**
 * The matching records with seq in (after, upTo], in seq order, each handed to `onRow` as it arrives; answers how
 * many. Callers step through the log in windows of seq (keyset pagination on the primary key), so each statement
 * reads a bounded slice however rare a match. No row is kept: held for a whole window (pg's result array), a
 * window's rows outlived young-generation collections and were promoted, and V8 let its old generation grow to
 * some 4 times the process's live heap before collecting them (export.ts).
 */
export async function exportWindow(
  pool: Pool,
  f: ExportFilter,
  after: number,
  upTo: number,
  onRow: (row: DbExportRow) => void,
): Promise<number> {
  // A row listener makes pg hand rows over one at a time instead of collecting them; a pool's query cannot.
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    return await new Promise<number>((resolve, reject) => {
      let n = 0;
      let failed: unknown;
      const q = new pg.Query<DbExportRow>({
        name: 'audit.exportWindow',
        text: `select seq, to_char(at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as at, actor, action,
             target_type, target_id, request_id, ${CALLER_COLUMNS}, before::text as before, after::text as after,
             encode(prev_hash, 'hex') as prev_hash, encode(hash, 'hex') as hash,
             convert_from(audit_log_canonical(a), 'UTF8') as canonical
           from audit_log a
           where seq > $1 and seq <= $2
             and ($3::text is null or actor = $3 or token_id = $3 or token_name = $3)
             and ($4::text is null or client_id = $4 or (target_type = 'client' and target_id = $4))
             and ($5::text is null or action = $5)
           order by seq`,
        values: [after, upTo, f.actor, f.client, f.action],
      });
      q.on('row', (row) => {
        if (failed !== undefined) return;
        try {
          n++;
          onRow(row);
        } catch (err) {
          // The statement runs to its end either way; the first failure is the answer.
          failed = err;
        }
      });
      q.on('error', (err: Error) => reject((broken = err)));
      q.on('end', () => (failed === undefined ? resolve(n) : reject(failed as Error)));
      void client.query(q);
    });
  } finally {
    // A statement that failed (a dropped connection, a cancel) may leave the connection unusable: not reused.
    client.release(broken);
  }
}

/** Records after `afterSeq` (committed and chained), counted by action and role: what /metrics counts. */
export interface DbTailGroup {
  action: string;
  role: string | null;
  n: number;
  last: number;
  /** When each record of a real admin token (not the control plane's own jobs) in this group was written. */
  admin_at: Date[];
  /** Of token.create records: how many created an admin token. */
  admin_tokens: number;
}

/**
 * The next `max` records of the chain after `afterSeq`, grouped. Seq is the commit order (the chain
 * trigger's lock), so a record never appears below a seq already read. Real tokens have UUID ids; the control
 * plane's own jobs act as '00000000-<name>' and are not a person's admin action.
 */
export async function tail(db: Queryable, afterSeq: number, max: number): Promise<DbTailGroup[]> {
  const { rows } = await db.query<DbTailGroup>(
    `select action, role, count(*)::int as n, max(seq)::bigint as last,
       coalesce(array_agg(at) filter (where role = 'admin' and token_id ~ '^[0-9a-f]{8}-[0-9a-f]{4}-'
         and action <> 'token.new_source'), '{}') as admin_at,
       (count(*) filter (where action = 'token.create' and after->>'role' = 'admin'))::int as admin_tokens
     from (select * from audit_log where seq > $1 order by seq limit $2) a group by action, role`,
    [afterSeq, max],
  );
  return rows.map((r) => ({ ...r, last: Number(r.last) }));
}

/** The newest seq in the log (0 when empty): where a new process starts counting. */
export async function lastSeq(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ seq: string | null }>('select max(seq)::bigint as seq from audit_log');
  return Number(rows[0]!.seq ?? 0);
}

/** Actions that are a flag by themselves (suspicious-access review, the monthly audit report). */
export const FLAG_ACTIONS = ['security.denied_burst', 'token.new_source', 'audit.export'];

/** Records since `since` that suspicious-access review looks at (see AuditWatch.flagged), oldest first. */
export async function flaggedSince(db: Queryable, since: Date, limit: number): Promise<DbAuditRow[]> {
  const { rows } = await db.query<DbAuditRow>(
    `select seq, at, actor, action, target_type, target_id, before, after, request_id, ${CALLER_COLUMNS}, hash
     from audit_log
     where at >= $1 and (action = any($3::text[])
       or (action = 'token.create' and after->>'role' = 'admin')
       or (role = 'admin' and token_id ~ '^[0-9a-f]{8}-[0-9a-f]{4}-'))
     order by seq limit $2`,
    [since, limit, FLAG_ACTIONS],
  );
  return rows;
}

export interface DbVerification {
  at: Date;
  ok: boolean;
  rows: string;
  first_broken: { seq: number | null; reason: string } | null;
}

export async function insertVerification(
  db: Queryable,
  v: { ok: boolean; rows: number; firstBroken: unknown },
): Promise<void> {
  await db.query(`insert into audit_verifications (ok, rows, first_broken) values ($1, $2, $3)`, [
    v.ok,
    v.rows,
    v.firstBroken === null ? null : JSON.stringify(v.firstBroken),
  ]);
}

export async function newestVerification(db: Queryable): Promise<DbVerification | undefined> {
  const { rows } = await db.query<DbVerification>(
    `select at, ok, rows, first_broken from audit_verifications order by id desc limit 1`,
  );
  return rows[0];
}

export async function failedVerificationsSince(db: Queryable, since: Date): Promise<DbVerification[]> {
  const { rows } = await db.query<DbVerification>(
    `select at, ok, rows, first_broken from audit_verifications where at >= $1 and not ok order by id limit 50`,
    [since],
  );
  return rows;
}
