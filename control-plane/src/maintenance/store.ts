import type { Queryable } from '../db/pool.ts';
import type { Recurrence } from './recurrence.ts';

export interface DbWindow {
  id: string;
  client_id: string;
  client_slug: string;
  time_zone: string;
  instance_id: string | null;
  instance_slug: string | null;
  starts_at: Date;
  ends_at: Date | null;
  recurrence: Recurrence | null;
  reason: string;
  alertmanager_silence_id: string | null;
  silence_ends_at: Date | null;
  created_by: string;
  created_at: Date;
  deleted_at: Date | null;
}

const SELECT = `
  select w.*, c.slug as client_slug, c.time_zone, i.slug as instance_slug
  from maintenance_windows w join clients c on c.id = w.client_id left join instances i on i.id = w.instance_id`;

export async function insert(
  db: Queryable,
  w: {
    clientId: string;
    instanceId: string | null;
    start: string;
    end: string | null;
    recurrence: Recurrence | null;
    reason: string;
    createdBy: string;
  },
): Promise<string> {
  const { rows } = await db.query<{ id: string }>(
    `insert into maintenance_windows (client_id, instance_id, starts_at, ends_at, recurrence, reason, created_by)
     values ($1, $2, $3, $4, $5, $6, $7) returning id`,
    [
      w.clientId,
      w.instanceId,
      w.start,
      w.end,
      w.recurrence && JSON.stringify(w.recurrence),
      w.reason,
      w.createdBy,
    ],
  );
  return rows[0]!.id;
}

export async function find(db: Queryable, id: string, forUpdate = false): Promise<DbWindow | undefined> {
  const { rows } = await db.query<DbWindow>(
    `${SELECT} where w.id = $1${forUpdate ? ' for update of w' : ''}`,
    [id],
  );
  return rows[0];
}

/** Windows not deleted that may touch [from, to), of the given clients (null: all). */
export async function listLive(
  db: Queryable,
  f: { clientIds: string[] | null; from: Date; to: Date },
): Promise<DbWindow[]> {
  const { rows } = await db.query<DbWindow>(
    `${SELECT} where w.deleted_at is null and ($1::uuid[] is null or w.client_id = any($1))
       and w.starts_at < $3 and (w.ends_at is null or w.ends_at > $2 or w.recurrence is not null)
     order by w.starts_at, w.id`,
    [f.clientIds, f.from, f.to],
  );
  return rows;
}

/** Live windows that begin at or after `after`, soonest first, at most `limit` (the console's "later" list). */
export async function listStartingAfter(
  db: Queryable,
  f: { clientIds: string[] | null; after: Date; limit: number },
): Promise<DbWindow[]> {
  const { rows } = await db.query<DbWindow>(
    `${SELECT} where w.deleted_at is null and ($1::uuid[] is null or w.client_id = any($1))
       and w.starts_at >= $2
     order by w.starts_at, w.id
     limit $3`,
    [f.clientIds, f.after, f.limit],
  );
  return rows;
}

export async function markDeleted(db: Queryable, id: string): Promise<void> {
  await db.query('update maintenance_windows set deleted_at = now() where id = $1', [id]);
}

/** Windows whose Alertmanager silence bookkeeping may need work: live ones, and deleted ones still silenced. */
export async function listForSilences(db: Queryable, now: Date): Promise<DbWindow[]> {
  const { rows } = await db.query<DbWindow>(
    `${SELECT} where (w.deleted_at is null and w.starts_at <= $1 and (w.ends_at is null or w.ends_at > $1 - interval '1 day'
                      or w.recurrence is not null))
                 or w.alertmanager_silence_id is not null
     order by w.id`,
    [now],
  );
  return rows;
}

export async function setSilence(
  db: Queryable,
  id: string,
  silenceId: string | null,
  endsAt: Date | null,
): Promise<void> {
  await db.query(
    'update maintenance_windows set alertmanager_silence_id = $2, silence_ends_at = $3 where id = $1',
    [id, silenceId, endsAt],
  );
}

/** True when this replica holds the silence-sync lock until its transaction ends (one replica syncs). */
export async function trySyncLock(db: Queryable): Promise<boolean> {
  const { rows } = await db.query<{ ok: boolean }>('select pg_try_advisory_xact_lock(7216400100) as ok');
  return rows[0]!.ok;
}
