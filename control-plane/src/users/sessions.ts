import type { Queryable } from '../db/pool.ts';
import { COLUMNS as USER_COLUMNS, type DbUser } from './store.ts';
import { hashSecret } from '../security/secrets.ts';

/** What a session row says, with its user's id; `csrf` is the synchronizer token its forms carry. */
export interface DbSession {
  user_id: string;
  stage: 'password' | 'totp-setup' | 'full';
  csrf: string;
  pending_totp: string | null;
}

export const hashSessionId = hashSecret;

export async function insertSession(
  db: Queryable,
  s: { id: string; userId: string; stage: DbSession['stage']; csrf: string; absoluteSeconds: number },
): Promise<void> {
  await db.query(
    `insert into console_sessions (id_hash, user_id, stage, csrf, expires_at)
     values ($1, $2, $3, $4, now() + make_interval(secs => $5))`,
    [hashSessionId(s.id), s.userId, s.stage, s.csrf, s.absoluteSeconds],
  );
}

/** How stale `last_seen_at` may get before a request writes it: page loads then mostly only read. */
const TOUCH_AFTER_SECONDS = 30;

/**
 * The live session with this id and its user, in one round trip. A session idle longer than `idleSeconds` or
 * past its absolute expiry is not live (and is deleted on the way), by the database clock. With `touch`, its
 * idle clock is reset, written only when older than TOUCH_AFTER_SECONDS (so the idle logout is exact to that).
 */
export async function liveSession(
  db: Queryable,
  id: string,
  idleSeconds: number,
  touch: boolean,
): Promise<(DbSession & { user: DbUser }) | undefined> {
  const hash = hashSessionId(id);
  // A named statement, prepared once per connection: every console request runs it, and its plan never varies.
  const { rows } = await db.query<DbSession & DbUser>({
    name: 'console.liveSession',
    text: `with s as (
       select user_id, stage, csrf, pending_totp from console_sessions
       where id_hash = $1 and expires_at > now() and last_seen_at > now() - make_interval(secs => $2)),
     t as (
       update console_sessions set last_seen_at = now()
       where $3 and id_hash = $1 and last_seen_at < now() - make_interval(secs => $4)
         and exists (select 1 from s))
     select s.user_id, s.stage, s.csrf, s.pending_totp, ${USER_COLUMNS}
     from s join console_users on console_users.id = s.user_id`,
    values: [hash, idleSeconds, touch, TOUCH_AFTER_SECONDS],
  });
  const r = rows[0];
  if (!r) {
    await db.query('delete from console_sessions where id_hash = $1', [hash]);
    return undefined;
  }
  const { user_id, stage, csrf, pending_totp, ...user } = r;
  return { user_id, stage, csrf, pending_totp, user: user as DbUser };
}

export async function setStage(
  db: Queryable,
  id: string,
  stage: DbSession['stage'],
  pendingTotp: string | null,
): Promise<void> {
  await db.query(`update console_sessions set stage = $2, pending_totp = $3 where id_hash = $1`, [
    hashSessionId(id),
    stage,
    pendingTotp,
  ]);
}

export async function deleteSession(db: Queryable, id: string): Promise<void> {
  await db.query('delete from console_sessions where id_hash = $1', [hashSessionId(id)]);
}

/** Sign out everywhere (and after a password reset): every session of the user ends. */
export async function deleteUserSessions(db: Queryable, userId: string): Promise<number> {
  const { rowCount } = await db.query('delete from console_sessions where user_id = $1', [userId]);
  return rowCount ?? 0;
}

/** Keeps a sealed one-time message for this session under `name` (a newer one replaces it) for `seconds`. */
export async function putFlash(
  db: Queryable,
  id: string,
  name: string,
  sealed: Buffer,
  seconds: number,
): Promise<void> {
  // Ended flashes of any session go on the way, so the table holds only the last two minutes' worth.
  await db.query(
    `with gone as (delete from console_flashes where expires_at < now())
     insert into console_flashes (session_hash, name, sealed, expires_at)
     values ($1, $2, $3, now() + make_interval(secs => $4))
     on conflict (session_hash, name) do update set sealed = excluded.sealed, expires_at = excluded.expires_at`,
    [hashSessionId(id), name, sealed, seconds],
  );
}

/** Takes (deletes and returns) this session's live message under `name`, once. */
export async function takeFlash(db: Queryable, id: string, name: string): Promise<Buffer | undefined> {
  const { rows } = await db.query<{ sealed: Buffer; live: boolean }>(
    `delete from console_flashes where session_hash = $1 and name = $2
     returning sealed, expires_at > now() as live`,
    [hashSessionId(id), name],
  );
  return rows[0]?.live ? rows[0].sealed : undefined;
}
