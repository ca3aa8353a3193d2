import type { Queryable } from '../db/pool.ts';

export interface DbFaroKey {
  id: string;
  instance_id: string;
  prefix: string;
  allowed_origins: string[];
  page_routes: string[];
  created_by: string;
  created_at: Date;
  expires_at: Date | null;
}

// Never the hash: nothing outside this file needs it.
const COLUMNS = 'id, instance_id, prefix, allowed_origins, page_routes, created_by, created_at, expires_at';

export async function insertKey(
  db: Queryable,
  k: {
    instanceId: string;
    hash: Buffer;
    prefix: string;
    allowedOrigins: string[];
    pageRoutes: string[];
    createdBy: string;
  },
): Promise<DbFaroKey> {
  const { rows } = await db.query<DbFaroKey>(
    `insert into faro_app_keys (instance_id, key_hash, prefix, allowed_origins, page_routes, created_by)
     values ($1, $2, $3, $4, $5, $6) returning ${COLUMNS}`,
    [k.instanceId, k.hash, k.prefix, k.allowedOrigins, k.pageRoutes, k.createdBy],
  );
  return rows[0]!;
}

/** The instance's current key, locked when `forUpdate` (rotation and edits serialise on it). */
export async function findCurrent(
  db: Queryable,
  instanceId: string,
  forUpdate = false,
): Promise<DbFaroKey | undefined> {
  const { rows } = await db.query<DbFaroKey>(
    `select ${COLUMNS} from faro_app_keys where instance_id = $1 and expires_at is null
     ${forUpdate ? 'for update' : ''}`,
    [instanceId],
  );
  return rows[0];
}

export async function listKeys(db: Queryable, instanceId: string): Promise<DbFaroKey[]> {
  const { rows } = await db.query<DbFaroKey>(
    `select ${COLUMNS} from faro_app_keys where instance_id = $1 order by created_at desc, id`,
    [instanceId],
  );
  return rows;
}

/** Retires the current key: it keeps working for `graceSeconds` more (0: stops now). */
export async function expireCurrent(
  db: Queryable,
  instanceId: string,
  graceSeconds: number,
): Promise<DbFaroKey | undefined> {
  // The database clock owns time, so every replica agrees on when the old key stops.
  const { rows } = await db.query<DbFaroKey>(
    `update faro_app_keys set expires_at = now() + make_interval(secs => $2)
     where instance_id = $1 and expires_at is null returning ${COLUMNS}`,
    [instanceId, graceSeconds],
  );
  return rows[0];
}

/** Stops every key of the instance that still works (the current one and any in their grace period). */
export async function expireAll(db: Queryable, instanceId: string): Promise<DbFaroKey[]> {
  const { rows } = await db.query<DbFaroKey>(
    `update faro_app_keys set expires_at = now()
     where instance_id = $1 and (expires_at is null or expires_at > now()) returning ${COLUMNS}`,
    [instanceId],
  );
  return rows;
}

export async function updateKey(
  db: Queryable,
  id: string,
  allowedOrigins: string[],
  pageRoutes: string[],
): Promise<DbFaroKey> {
  const { rows } = await db.query<DbFaroKey>(
    `update faro_app_keys set allowed_origins = $2, page_routes = $3 where id = $1 returning ${COLUMNS}`,
    [id, allowedOrigins, pageRoutes],
  );
  return rows[0]!;
}

/** A key that works now (current, or rotated out and still within its grace period). */
export async function findWorkingByHash(db: Queryable, hash: Buffer): Promise<DbFaroKey | undefined> {
  const { rows } = await db.query<DbFaroKey>(
    `select ${COLUMNS} from faro_app_keys where key_hash = $1 and (expires_at is null or expires_at > now())`,
    [hash],
  );
  return rows[0];
}
