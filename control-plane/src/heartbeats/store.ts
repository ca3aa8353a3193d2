import type { Queryable } from '../db/pool.ts';

export interface DbHeartbeat {
  id: string;
  instance_id: string;
  instance_slug: string;
  client_slug: string;
  client_id: string;
  name: string;
  interval_seconds: number;
  grace_seconds: number;
  severity: 'critical' | 'warning';
  token_prefix: string;
  last_push_at: Date | null;
  last_status: 'up' | 'down' | null;
  created_by: string;
  created_at: Date;
  state: 'waiting' | 'up' | 'down' | 'missing';
}

// The state by the database's clock: a push is due interval + grace after the last one (or the creation).
const SELECT = `select h.id, h.instance_id, i.slug as instance_slug, c.slug as client_slug, c.id as client_id,
    h.name, h.interval_seconds, h.grace_seconds, h.severity, h.token_prefix, h.last_push_at, h.last_status,
    h.created_by, h.created_at,
    case
      when h.last_status = 'down' then 'down'
      when now() > coalesce(h.last_push_at, h.created_at)
                   + make_interval(secs => h.interval_seconds + h.grace_seconds) then 'missing'
      when h.last_push_at is null then 'waiting'
      else 'up'
    end as state
  from heartbeat_monitors h join instances i on i.id = h.instance_id join clients c on c.id = i.client_id`;

export async function insert(
  db: Queryable,
  h: {
    instanceId: string;
    name: string;
    intervalSeconds: number;
    graceSeconds: number;
    severity: string;
    hash: Buffer;
    prefix: string;
    createdBy: string;
  },
): Promise<string | undefined> {
  const { rows } = await db.query<{ id: string }>(
    `insert into heartbeat_monitors (instance_id, name, interval_seconds, grace_seconds, severity, token_hash,
       token_prefix, created_by)
     values ($1, $2, $3, $4, $5, $6, $7, $8) on conflict (instance_id, name) do nothing returning id`,
    [h.instanceId, h.name, h.intervalSeconds, h.graceSeconds, h.severity, h.hash, h.prefix, h.createdBy],
  );
  return rows[0]?.id;
}

export async function find(db: Queryable, id: string, forUpdate = false): Promise<DbHeartbeat | undefined> {
  const { rows } = await db.query<DbHeartbeat>(
    `${SELECT} where h.id = $1${forUpdate ? ' for update of h' : ''}`,
    [id],
  );
  return rows[0];
}

/** One client's (or, with null, every client's) heartbeats, optionally of one instance, by name. */
export async function list(
  db: Queryable,
  f: { clientId: string | null; instanceId?: string; limit: number },
): Promise<DbHeartbeat[]> {
  const { rows } = await db.query<DbHeartbeat>(
    `${SELECT} where ($1::uuid is null or c.id = $1) and ($2::uuid is null or i.id = $2)
     order by i.slug, h.name limit $3`,
    [f.clientId, f.instanceId ?? null, f.limit],
  );
  return rows;
}

/** Heartbeats of active instances of active clients: what /metrics reports and alerts watch. */
export async function listActive(db: Queryable): Promise<DbHeartbeat[]> {
  const { rows } = await db.query<DbHeartbeat>(
    `${SELECT} where i.status = 'active' and c.status = 'active' order by c.slug, i.slug, h.name`,
  );
  return rows;
}

export async function update(
  db: Queryable,
  id: string,
  v: { intervalSeconds: number; graceSeconds: number; severity: string },
): Promise<void> {
  await db.query(
    `update heartbeat_monitors set interval_seconds = $2, grace_seconds = $3, severity = $4 where id = $1`,
    [id, v.intervalSeconds, v.graceSeconds, v.severity],
  );
}

export async function setToken(db: Queryable, id: string, hash: Buffer, prefix: string): Promise<void> {
  await db.query(`update heartbeat_monitors set token_hash = $2, token_prefix = $3 where id = $1`, [
    id,
    hash,
    prefix,
  ]);
}

export async function remove(db: Queryable, id: string): Promise<void> {
  await db.query(`delete from heartbeat_monitors where id = $1`, [id]);
}

/**
 * A push: one indexed update by the token's hash, nothing read first. Returns whether a heartbeat of an active
 * instance took it (a decommissioned instance's jobs are not listened to).
 */
export async function push(db: Queryable, hash: Buffer, status: 'up' | 'down'): Promise<boolean> {
  const { rowCount } = await db.query(
    `update heartbeat_monitors h set last_push_at = now(), last_status = $2
       from instances i where h.token_hash = $1 and i.id = h.instance_id and i.status = 'active'`,
    [hash, status],
  );
  return (rowCount ?? 0) > 0;
}
