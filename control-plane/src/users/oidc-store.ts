import type { Queryable } from '../db/pool.ts';

export interface DbOidcLogin {
  nonce: string;
  code_verifier: string;
  next: string;
}

/** How long a started sign-in may take at the provider (typing a password, a second factor there). */
const TTL_SECONDS = 600;

export async function insert(db: Queryable, stateHash: Buffer, l: DbOidcLogin): Promise<void> {
  // Expired rows go as new sign-ins start, so the table holds only the last ten minutes' attempts.
  await db.query(`delete from console_oidc_logins where expires_at <= now()`);
  await db.query(
    `insert into console_oidc_logins (state_hash, nonce, code_verifier, next, expires_at)
     values ($1, $2, $3, $4, now() + make_interval(secs => $5))`,
    [stateHash, l.nonce, l.code_verifier, l.next, TTL_SECONDS],
  );
}

/** Takes a started sign-in once: a replayed callback finds nothing. */
export async function take(db: Queryable, stateHash: Buffer): Promise<DbOidcLogin | undefined> {
  const { rows } = await db.query<DbOidcLogin>(
    `delete from console_oidc_logins where state_hash = $1 and expires_at > now()
     returning nonce, code_verifier, next`,
    [stateHash],
  );
  return rows[0];
}
