import crypto from 'node:crypto';
import type { Queryable } from '../db/pool.ts';

/** What a session row says, with its user's id; `csrf` is the synchronizer token its forms carry. */
export interface DbSession {
  user_id: string;
  stage: 'password' | 'totp-setup' | 'full';
  csrf: string;
  pending_totp: string | null;
}

export const hashSessionId = (id: string) => crypto.createHash('sha256').update(id, 'utf8').digest();

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

/**
 * The live session with this id, its idle clock reset when `touch`: a session idle longer than `idleSeconds`
 * or past its absolute expiry is not live (and is deleted on the way), by the database clock.
 */
export async function liveSession(
  db: Queryable,
  id: string,
  idleSeconds: number,
  touch: boolean,
): Promise<DbSession | undefined> {
  const hash = hashSessionId(id);
  const { rows } = await db.query<DbSession>(
    touch
      ? `update console_sessions set last_seen_at = now()
         where id_hash = $1 and expires_at > now() and last_seen_at > now() - make_interval(secs => $2)
         returning user_id, stage, csrf, pending_totp`
      : `select user_id, stage, csrf, pending_totp from console_sessions
         where id_hash = $1 and expires_at > now() and last_seen_at > now() - make_interval(secs => $2)`,
    [hash, idleSeconds],
  );
  if (!rows[0]) await db.query('delete from console_sessions where id_hash = $1', [hash]);
  return rows[0];
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
