import type { Queryable } from '../db/pool.ts';

export type UpdateKind = 'opened' | 'updated' | 'resolved' | 'maintenance';
export type UpdateChannel = 'email' | 'sms';

export interface NewUpdate {
  clientId: string;
  contactId: string;
  recipient: string;
  channel: UpdateChannel;
  kind: UpdateKind;
  incidentId: string | null;
  maintenanceWindowId: string | null;
  content: object;
  idempotencyKey: string;
}

/** One update to send, with its contact's unsubscribe link secret (read only to send it). */
export interface DbUpdate {
  id: string;
  client_id: string;
  recipient: string;
  channel: UpdateChannel;
  kind: UpdateKind;
  content: Record<string, unknown>;
  idempotency_key: string;
  attempts: number;
  unsubscribe_token: string;
}

export const SEND_TASK = 'status-update';

/**
 * The rows of `updates` that do not exist yet (the idempotency key decides), each with its `status-update`
 * job keyed the same, in one statement: a replayed webhook, a second replica or a second reminder tick adds
 * neither a row nor a job. Returns the new rows' ids.
 */
export async function insertNew(db: Queryable, updates: NewUpdate[], maxAttempts: number): Promise<string[]> {
  if (updates.length === 0) return [];
  const { rows } = await db.query<{ id: string }>(
    `with n as (
       insert into status_updates (client_id, contact_id, recipient, channel, kind, incident_id,
         maintenance_window_id, content, idempotency_key)
       select * from jsonb_to_recordset($1::jsonb) as x("clientId" uuid, "contactId" uuid, recipient text,
         channel text, kind text, "incidentId" uuid, "maintenanceWindowId" uuid, content jsonb, "idempotencyKey" text)
       on conflict (idempotency_key) do nothing returning id, idempotency_key)
     select n.id, graphile_worker.add_job($2, json_build_object('id', n.id), job_key := n.idempotency_key,
       max_attempts := $3) from n`,
    [JSON.stringify(updates), SEND_TASK, maxAttempts],
  );
  return rows.map((r) => r.id);
}

/**
 * Claims a queued update for sending (one worker of any replica wins the row), when its contact is still
 * listed and subscribed; returns it, or undefined. An update whose contact left or unsubscribed meanwhile is
 * cancelled instead, in the same statement.
 */
export async function claim(db: Queryable, id: string): Promise<DbUpdate | undefined> {
  const { rows } = await db.query<DbUpdate & { live: boolean }>(
    `with u as (select u.id, (c.id is not null and c.position is not null and c.unsubscribed_at is null) as live
                from status_updates u left join client_status_contacts c on c.id = u.contact_id
                where u.id = $1 and u.status = 'queued' for update of u),
     s as (
       update status_updates x set status = case when u.live then 'sending' else 'cancelled' end,
         attempts = x.attempts + case when u.live then 1 else 0 end, updated_at = now()
       from u where x.id = u.id and x.status = 'queued' returning x.*, u.live)
     select s.id, s.client_id, s.recipient, s.channel, s.kind, s.content, s.idempotency_key, s.attempts, s.live,
       c.unsubscribe_token
     from s left join client_status_contacts c on c.id = s.contact_id`,
    [id],
  );
  const r = rows[0];
  return r?.live ? r : undefined;
}

export async function markSent(db: Queryable, id: string, providerId: string | null): Promise<void> {
  await db.query(
    `update status_updates set status = 'sent', provider_id = $2, last_error = null, updated_at = now()
     where id = $1`,
    [id, providerId],
  );
}

/** Back to queued (its job is retried) or failed for good. */
export async function markFailed(db: Queryable, id: string, status: 'queued' | 'failed', error: string) {
  await db.query(`update status_updates set status = $2, last_error = $3, updated_at = now() where id = $1`, [
    id,
    status,
    error.slice(0, 500),
  ]);
}

/**
 * Updates left 'sending' longer than a send can take: their process stopped before the provider answered.
 * They are never sent again (it may have gone out); they become 'unknown'. Returns how many.
 */
export async function markStaleUnknown(db: Queryable, staleMs: number): Promise<number> {
  const { rowCount } = await db.query(
    `update status_updates set status = 'unknown', updated_at = now(),
       last_error = 'the process sending it stopped before the provider answered'
     where status = 'sending' and updated_at < now() - $1::float8 * interval '1 millisecond'`,
    [staleMs],
  );
  return rowCount ?? 0;
}

/** Whether the clinic was told of this incident before (an update of it was queued). */
export async function toldOf(db: Queryable, incidentId: string): Promise<boolean> {
  const { rows } = await db.query('select 1 from status_updates where incident_id = $1 limit 1', [
    incidentId,
  ]);
  return rows.length > 0;
}
