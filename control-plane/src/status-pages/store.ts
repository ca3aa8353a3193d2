import type { Queryable } from '../db/pool.ts';

export interface DbStatusPage {
  client_id: string;
  enabled: boolean;
  show_name: boolean;
  updated_at: Date;
}

export async function find(db: Queryable, clientId: string): Promise<DbStatusPage | undefined> {
  const { rows } = await db.query<DbStatusPage>(
    'select client_id, enabled, show_name, updated_at from status_pages where client_id = $1',
    [clientId],
  );
  return rows[0];
}

/** Sets the switches; a first call makes the row with `sha256` as its token (a later call keeps its token). */
export async function upsert(
  db: Queryable,
  clientId: string,
  sha256: string,
  enabled: boolean,
  showName: boolean,
): Promise<{ row: DbStatusPage; created: boolean }> {
  // xmax = 0 only on a freshly inserted row: whether the token given here is the one now in force.
  const { rows } = await db.query<DbStatusPage & { created: boolean }>(
    `insert into status_pages (client_id, token_sha256, enabled, show_name) values ($1, $2, $3, $4)
     on conflict (client_id) do update set enabled = $3, show_name = $4, updated_at = now()
     returning client_id, enabled, show_name, updated_at, (xmax = 0) as created`,
    [clientId, sha256, enabled, showName],
  );
  const { created, ...row } = rows[0]!;
  return { row, created };
}

/** Replaces the token (making a disabled page when there was none): the old URL stops working at once. */
export async function setToken(db: Queryable, clientId: string, sha256: string): Promise<DbStatusPage> {
  const { rows } = await db.query<DbStatusPage>(
    `insert into status_pages (client_id, token_sha256) values ($1, $2)
     on conflict (client_id) do update set token_sha256 = $2, updated_at = now()
     returning client_id, enabled, show_name, updated_at`,
    [clientId, sha256],
  );
  return rows[0]!;
}

/** The enabled page behind a token's hash (one index look-up), else undefined. */
export async function byToken(db: Queryable, sha256: string): Promise<DbStatusPage | undefined> {
  const { rows } = await db.query<DbStatusPage>(
    `select client_id, enabled, show_name, updated_at from status_pages
     where token_sha256 = $1 and enabled`,
    [sha256],
  );
  return rows[0];
}

/** The pages of the given clients (those without one have no row). */
export async function listFor(db: Queryable, clientIds: string[]): Promise<DbStatusPage[]> {
  const { rows } = await db.query<DbStatusPage>(
    `select client_id, enabled, show_name, updated_at from status_pages where client_id = any($1::uuid[])`,
    [clientIds],
  );
  return rows;
}
