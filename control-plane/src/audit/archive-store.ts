import type { Queryable } from '../db/pool.ts';

/** A month of audit_log: the first day of the month, as YYYY-MM-DD (UTC). */
export type MonthStart = string;

/** Creates the partitions of the months from `from` (any day in it) for `count` months; how many were new. */
export async function addPartitions(db: Queryable, from: Date, count: number): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `select count(*) filter (where audit_log_add_partition(m::date))::int as n
     from generate_series(date_trunc('month', $1::timestamptz at time zone 'UTC'),
       date_trunc('month', $1::timestamptz at time zone 'UTC') + make_interval(months => $2 - 1),
       interval '1 month') m`,
    [from, count],
  );
  return rows[0]!.n;
}

/** The months audit_log has a partition for (named by audit_log_add_partition), oldest first. */
export async function partitionMonths(db: Queryable): Promise<MonthStart[]> {
  const { rows } = await db.query<{ month: string }>(
    `select to_char(to_date(substring(c.relname from 'y([0-9]{4}m[0-9]{2})$'), 'YYYY"m"MM'), 'YYYY-MM-DD')
       as month
     from pg_inherits i join pg_class c on c.oid = i.inhrelid
     where i.inhparent = 'public.audit_log'::regclass order by month`,
  );
  return rows.map((r) => r.month);
}

/**
 * Waits for every transaction that took a logged_at before now to end: each took the chain's lock while
 * choosing it and holds that lock until it ends. After this, no record can join a month that ended before now.
 */
export async function chainBarrier(db: Queryable): Promise<Date> {
  const { rows } = await db.query<{ now: Date }>(
    `select now from (select pg_advisory_xact_lock(7216400001)) l, lateral (select clock_timestamp() as now) c`,
  );
  return rows[0]!.now;
}

export interface DbArchiveRow {
  seq: number;
  logged_at: string;
  prev_hash: string;
  hash: string;
  canonical: string;
}

/** A month's records with seq after `afterSeq`, in seq order, at most `limit` (keyset pages on the primary key). */
export async function monthPage(
  db: Queryable,
  month: MonthStart,
  afterSeq: number,
  limit: number,
): Promise<DbArchiveRow[]> {
  const { rows } = await db.query<DbArchiveRow>(
    `select seq, to_char(logged_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as logged_at,
       encode(prev_hash, 'hex') as prev_hash, encode(hash, 'hex') as hash,
       convert_from(audit_log_canonical(a), 'UTF8') as canonical
     from audit_log a
     where logged_at >= ($1::date::timestamp at time zone 'UTC')
       and logged_at < (($1::date + interval '1 month') at time zone 'UTC') and seq > $2
     order by seq limit $3`,
    [month, afterSeq, limit],
  );
  return rows;
}

export interface DbArchive {
  month: string;
  rows: number;
  first_seq: number | null;
  last_seq: number | null;
  last_hash: string | null;
  jsonl_sha256: string;
  manifest_sha256: string;
}

export async function archives(db: Queryable): Promise<DbArchive[]> {
  const { rows } = await db.query<DbArchive>(
    `select to_char(month, 'YYYY-MM-DD') as month, rows, first_seq, last_seq, last_hash, jsonl_sha256,
       manifest_sha256 from audit_archives order by month`,
  );
  return rows;
}

/** Records a month as archived; false when another process did first (its files are the same records). */
export async function insertArchive(db: Queryable, a: DbArchive): Promise<boolean> {
  const r = await db.query(
    `insert into audit_archives (month, rows, first_seq, last_seq, last_hash, jsonl_sha256, manifest_sha256)
     values ($1, $2, $3, $4, $5, $6, $7) on conflict (month) do nothing`,
    [a.month, a.rows, a.first_seq, a.last_seq, a.last_hash, a.jsonl_sha256, a.manifest_sha256],
  );
  return r.rowCount === 1;
}

/** Drops an archived month past its retention (audit_log_drop_month checks both, and audits it); its rows. */
export async function dropMonth(db: Queryable, month: MonthStart): Promise<number | null> {
  const { rows } = await db.query<{ n: number | null }>('select audit_log_drop_month($1::date) as n', [
    month,
  ]);
  return rows[0]!.n;
}

/** The newest deletion's record: where the chain kept in the database now starts. */
export interface DbRetentionAnchor {
  month: string;
  lastSeq: number | null;
  lastHash: string | null;
  manifestSha256: string;
  rowsDeletedInAll: number;
}

export async function retentionAnchor(db: Queryable): Promise<DbRetentionAnchor | undefined> {
  const { rows } = await db.query<{ after: DbRetentionAnchor }>(
    `select after from audit_log where action = 'audit.month_deleted' and actor = 'system:retention'
     order by seq desc limit 1`,
  );
  return rows[0]?.after;
}

/** The retention the deletion function applies (written by the owner role at start). */
export async function setRetention(
  db: Queryable,
  years: number,
  override: string | undefined,
): Promise<void> {
  await db.query(
    `insert into audit_retention (one, years, override) values (true, $1, $2)
     on conflict (one) do update set years = $1, override = $2, updated_at = now()
     where (audit_retention.years, audit_retention.override) is distinct from ($1, $2)`,
    [years, override ?? null],
  );
}
