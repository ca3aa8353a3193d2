import type { Queryable } from '../db/pool.ts';

export interface DbUser {
  id: string;
  email: string;
  name: string;
  role: string;
  client_id: string | null;
  password_hash: string | null;
  totp_secret: string | null;
  recovery_codes: string[];
  failed_signins: number;
  locked_until: Date | null;
  created_at: Date;
  disabled_at: Date | null;
  /** Computed: the lock is in force now (by the database clock). */
  locked: boolean;
}

export const COLUMNS = `id, email, name, role, client_id, password_hash, totp_secret, recovery_codes, failed_signins,
  locked_until, created_at, disabled_at, coalesce(locked_until > now(), false) as locked`;

export async function insert(
  db: Queryable,
  u: { email: string; name: string; role: string; clientId: string | null },
): Promise<DbUser | undefined> {
  // on conflict: an e-mail already invited is a 409, decided by the unique index rather than a prior look-up.
  const { rows } = await db.query<DbUser>(
    `insert into console_users (email, name, role, client_id) values ($1, $2, $3, $4)
     on conflict (email) do nothing returning ${COLUMNS}`,
    [u.email, u.name, u.role, u.clientId],
  );
  return rows[0];
}

export async function byId(db: Queryable, id: string): Promise<DbUser | undefined> {
  const { rows } = await db.query<DbUser>(`select ${COLUMNS} from console_users where id = $1`, [id]);
  return rows[0];
}

export async function byEmail(db: Queryable, email: string): Promise<DbUser | undefined> {
  const { rows } = await db.query<DbUser>(`select ${COLUMNS} from console_users where email = $1`, [email]);
  return rows[0];
}

/** By e-mail (unique), those after `after`: keyset paging, so each page costs its own rows only. */
export async function page(db: Queryable, limit: number, after: string | null): Promise<DbUser[]> {
  const { rows } = await db.query<DbUser>(
    `select ${COLUMNS} from console_users where ($2::text is null or email > $2) order by email limit $1`,
    [limit, after],
  );
  return rows;
}

/** A failed sign-in: counts it, and locks the account for `lockSeconds` when it reaches `max` failures. */
export async function failSignin(
  db: Queryable,
  id: string,
  max: number,
  lockSeconds: number,
): Promise<DbUser> {
  // One statement, so two wrong guesses racing on two replicas both count.
  const { rows } = await db.query<DbUser>(
    `update console_users set failed_signins = failed_signins + 1,
       locked_until = case when failed_signins + 1 >= $2 then now() + make_interval(secs => $3) else locked_until end
     where id = $1 returning ${COLUMNS}`,
    [id, max, lockSeconds],
  );
  return rows[0]!;
}

/** A lock that has run out starts the count afresh. */
export async function clearExpiredLock(db: Queryable, id: string): Promise<void> {
  await db.query(
    `update console_users set failed_signins = 0, locked_until = null where id = $1 and locked_until <= now()`,
    [id],
  );
}

export async function signedIn(db: Queryable, id: string): Promise<void> {
  await db.query(`update console_users set failed_signins = 0, locked_until = null where id = $1`, [id]);
}

export async function setPassword(db: Queryable, id: string, hash: string): Promise<void> {
  await db.query(
    `update console_users set password_hash = $2, failed_signins = 0, locked_until = null where id = $1`,
    [id, hash],
  );
}

export async function setTotp(db: Queryable, id: string, secret: string, codes: string[]): Promise<void> {
  await db.query(`update console_users set totp_secret = $2, recovery_codes = $3 where id = $1`, [
    id,
    secret,
    codes,
  ]);
}

/** Uses up a recovery code; true when it was one of the user's unused codes. */
export async function useRecoveryCode(db: Queryable, id: string, hash: string): Promise<boolean> {
  const { rowCount } = await db.query(
    `update console_users set recovery_codes = array_remove(recovery_codes, $2)
     where id = $1 and $2 = any (recovery_codes)`,
    [id, hash],
  );
  return rowCount === 1;
}

export async function insertLink(
  db: Queryable,
  l: { hash: Buffer; userId: string; purpose: 'invite' | 'reset'; ttlSeconds: number },
): Promise<void> {
  await db.query(
    `insert into console_user_links (token_hash, user_id, purpose, expires_at)
     values ($1, $2, $3, now() + make_interval(secs => $4))`,
    [l.hash, l.userId, l.purpose, l.ttlSeconds],
  );
}

/** Takes a link once: marks it used and returns its user, or nothing when unknown, used or expired. */
export async function useLink(
  db: Queryable,
  hash: Buffer,
): Promise<{ user_id: string; purpose: 'invite' | 'reset' } | undefined> {
  const { rows } = await db.query<{ user_id: string; purpose: 'invite' | 'reset' }>(
    `update console_user_links set used_at = now()
     where token_hash = $1 and used_at is null and expires_at > now() returning user_id, purpose`,
    [hash],
  );
  return rows[0];
}

/** A link still usable (the accept page checks it before showing the form). */
export async function peekLink(
  db: Queryable,
  hash: Buffer,
): Promise<{ user_id: string; purpose: 'invite' | 'reset' } | undefined> {
  const { rows } = await db.query<{ user_id: string; purpose: 'invite' | 'reset' }>(
    `select user_id, purpose from console_user_links
     where token_hash = $1 and used_at is null and expires_at > now()`,
    [hash],
  );
  return rows[0];
}
