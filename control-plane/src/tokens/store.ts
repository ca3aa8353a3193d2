import type { Queryable } from '../db/pool.ts';

export interface DbToken {
  id: string;
  name: string;
  role: string;
  client_id: string | null;
  prefix: string;
  created_at: Date;
  last_used_at: Date | null;
  revoked_at: Date | null;
  provisioned_from: string | null;
}

const COLUMNS = 'id, name, role, client_id, prefix, created_at, last_used_at, revoked_at, provisioned_from';

export async function insert(
  db: Queryable,
  t: {
    name: string;
    role: string;
    clientId: string | null;
    hash: Buffer;
    prefix: string;
    provisionedFrom?: string;
  },
): Promise<DbToken> {
  const { rows } = await db.query<DbToken>(
    `insert into api_tokens (name, role, client_id, token_hash, prefix, provisioned_from)
     values ($1, $2, $3, $4, $5, $6)
     returning ${COLUMNS}`,
    [t.name, t.role, t.clientId, t.hash, t.prefix, t.provisionedFrom ?? null],
  );
  return rows[0]!;
}

/** The live token provisioned from the secret file `key`, with its hash to compare the file against. */
export async function findProvisioned(
  db: Queryable,
  key: string,
): Promise<(DbToken & { token_hash: Buffer }) | undefined> {
  const { rows } = await db.query<DbToken & { token_hash: Buffer }>(
    `select ${COLUMNS}, token_hash from api_tokens where provisioned_from = $1 and revoked_at is null`,
    [key],
  );
  return rows[0];
}

/** Any token with this hash, revoked ones included (a hash is never reused). */
export async function findByHash(db: Queryable, hash: Buffer): Promise<DbToken | undefined> {
  const { rows } = await db.query<DbToken>(`select ${COLUMNS} from api_tokens where token_hash = $1`, [hash]);
  return rows[0];
}

/** Marks an existing live token as the one provisioned from `key` (its secret was put in that file). */
export async function claim(db: Queryable, id: string, key: string): Promise<DbToken> {
  const { rows } = await db.query<DbToken>(
    `update api_tokens set provisioned_from = $2 where id = $1 returning ${COLUMNS}`,
    [id, key],
  );
  return rows[0]!;
}

export async function findActiveByHash(db: Queryable, hash: Buffer): Promise<DbToken | undefined> {
  const { rows } = await db.query<DbToken>(
    `select ${COLUMNS} from api_tokens where token_hash = $1 and revoked_at is null`,
    [hash],
  );
  return rows[0];
}

/**
 * Records a use of the token, at most once a minute: with several replicas each may ask, and PostgreSQL's
 * clock and row lock decide, so the row is written once a minute however many requests it carries.
 */
export async function touch(db: Queryable, id: string): Promise<void> {
  await db.query(
    `update api_tokens set last_used_at = now()
      where id = $1 and (last_used_at is null or last_used_at < now() - interval '1 minute')`,
    [id],
  );
}

export async function list(db: Queryable): Promise<DbToken[]> {
  const { rows } = await db.query<DbToken>(`select ${COLUMNS} from api_tokens order by created_at`);
  return rows;
}

export async function byId(db: Queryable, id: string): Promise<DbToken | undefined> {
  const { rows } = await db.query<DbToken>(`select ${COLUMNS} from api_tokens where id = $1`, [id]);
  return rows[0];
}

/**
 * One page of tokens, newest first, live ones only unless `all`; `cursor` is the keyset to go on after (the
 * creation time to the microsecond and the id, so tokens made in the same millisecond are neither skipped nor
 * shown twice).
 */
export async function page(
  db: Queryable,
  p: { all: boolean; limit: number; after?: { createdAt: string; id: string } },
): Promise<(DbToken & { cursor: string })[]> {
  const { rows } = await db.query<DbToken & { cursor: string }>(
    `select ${COLUMNS},
       to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') || '~' || id as cursor
     from api_tokens
     where ($1 or revoked_at is null)
       and ($3::timestamptz is null or (created_at, id) < ($3::timestamptz, $4::uuid))
     order by created_at desc, id desc limit $2`,
    [p.all, p.limit, p.after?.createdAt ?? null, p.after?.id ?? null],
  );
  return rows;
}

export async function revoke(db: Queryable, id: string): Promise<DbToken | undefined> {
  const { rows } = await db.query<DbToken>(
    `update api_tokens set revoked_at = coalesce(revoked_at, now()) where id = $1 returning ${COLUMNS}`,
    [id],
  );
  return rows[0];
}

/** Whether any token exists; called under the bootstrap advisory lock. */
export async function anyExists(db: Queryable): Promise<boolean> {
  const { rows } = await db.query('select 1 from api_tokens limit 1');
  return rows.length > 0;
}

export async function lockBootstrap(db: Queryable): Promise<void> {
  // Several replicas starting on an empty database: only one creates the first admin token.
  await db.query('select pg_advisory_xact_lock(7216400002)');
}
