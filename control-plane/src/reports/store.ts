import type { Queryable } from '../db/pool.ts';

export interface DbReport {
  id: string;
  client_id: string;
  month: string;
  version: number;
  status: 'pending_review' | 'sent';
  reason: string | null;
  json: string;
  html: string;
  pdf: Buffer;
  sha256: string;
  created_by: string;
  created_at: Date;
  approved_by: string | null;
  sent_at: Date | null;
}
export type DbReportMeta = Omit<DbReport, 'json' | 'html' | 'pdf'>;

export interface DbDelivery {
  report_id: string;
  contact: string;
  status: 'queued' | 'sent' | 'failed';
  attempts: number;
  message_id: string | null;
  last_error: string | null;
  sends: number;
  updated_at: Date;
}

export interface DbSettings {
  client_id: string;
  send_at: string;
  review_before_send: boolean;
}

const META = `id, client_id, month, version, status, reason, sha256, created_by, created_at, approved_by, sent_at`;

export async function settings(db: Queryable, clientIds: string[]): Promise<DbSettings[]> {
  const { rows } = await db.query<DbSettings>(
    `select client_id, to_char(send_at, 'HH24:MI') as send_at, review_before_send from report_settings
     where client_id = any($1::uuid[])`,
    [clientIds],
  );
  return rows;
}

export async function upsertSettings(db: Queryable, s: DbSettings): Promise<void> {
  await db.query(
    `insert into report_settings (client_id, send_at, review_before_send) values ($1, $2::time, $3)
     on conflict (client_id) do update set send_at = excluded.send_at,
       review_before_send = excluded.review_before_send, updated_at = now()`,
    [s.client_id, s.send_at, s.review_before_send],
  );
}

/** Inserts a version; null when that (client, month, version) exists already (another replica won). */
export async function insert(
  db: Queryable,
  r: Omit<DbReport, 'id' | 'created_at' | 'approved_by'>,
): Promise<DbReportMeta | undefined> {
  const { rows } = await db.query<DbReportMeta>(
    `insert into reports (client_id, month, version, status, reason, json, html, pdf, sha256, created_by, sent_at)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
     on conflict (client_id, month, version) do nothing returning ${META}`,
    [
      r.client_id,
      r.month,
      r.version,
      r.status,
      r.reason,
      r.json,
      r.html,
      r.pdf,
      r.sha256,
      r.created_by,
      r.sent_at,
    ],
  );
  return rows[0];
}

export async function listMeta(db: Queryable, clientId: string): Promise<DbReportMeta[]> {
  const { rows } = await db.query<DbReportMeta>(
    `select ${META} from reports where client_id = $1 order by month desc, version desc`,
    [clientId],
  );
  return rows;
}

/** One month's stored versions of the given clients, newest version first per client. */
export async function listMonthMeta(
  db: Queryable,
  clientIds: string[],
  month: string,
): Promise<DbReportMeta[]> {
  const { rows } = await db.query<DbReportMeta>(
    `select ${META} from reports where client_id = any($1::uuid[]) and month = $2 order by client_id, version desc`,
    [clientIds, month],
  );
  return rows;
}

export async function find(db: Queryable, id: string, lock = false): Promise<DbReport | undefined> {
  const { rows } = await db.query<DbReport>(
    `select * from reports where id = $1${lock ? ' for update' : ''}`,
    [id],
  );
  return rows[0];
}

/** The newest version of a month, or the newest sent one. */
export async function latest(
  db: Queryable,
  clientId: string,
  month: string,
  onlySent: boolean,
): Promise<DbReport | undefined> {
  const { rows } = await db.query<DbReport>(
    `select * from reports where client_id = $1 and month = $2 and ($3::boolean is false or status = 'sent')
     order by version desc limit 1`,
    [clientId, month, onlySent],
  );
  return rows[0];
}

export async function existing(db: Queryable, month: Map<string, string>): Promise<Set<string>> {
  const { rows } = await db.query<{ client_id: string }>(
    `select distinct r.client_id from reports r
     join jsonb_each_text($1::jsonb) as m(client_id, month) on m.client_id::uuid = r.client_id and m.month = r.month`,
    [JSON.stringify(Object.fromEntries(month))],
  );
  return new Set(rows.map((r) => r.client_id));
}

export async function replaceContent(
  db: Queryable,
  id: string,
  json: string,
  html: string,
  pdf: Buffer,
  sha: string,
) {
  await db.query('update reports set json = $2, html = $3, pdf = $4, sha256 = $5 where id = $1', [
    id,
    json,
    html,
    pdf,
    sha,
  ]);
}

export async function markSent(db: Queryable, id: string, approvedBy: string | null): Promise<void> {
  await db.query(
    `update reports set status = 'sent', sent_at = now(), approved_by = coalesce($2, approved_by) where id = $1`,
    [id, approvedBy],
  );
}

/** Queues one delivery per contact; returns the contacts newly queued (a repeat queues nothing). */
export async function queueDeliveries(
  db: Queryable,
  reportId: string,
  contacts: string[],
): Promise<string[]> {
  const { rows } = await db.query<{ contact: string }>(
    `insert into report_deliveries (report_id, contact) select $1, unnest($2::text[])
     on conflict do nothing returning contact`,
    [reportId, contacts],
  );
  return rows.map((r) => r.contact);
}

/** A re-send: every delivery of the report queued again; returns them with their new send number. */
export async function requeueDeliveries(db: Queryable, reportId: string): Promise<DbDelivery[]> {
  const { rows } = await db.query<DbDelivery>(
    `update report_deliveries set status = 'queued', sends = sends + 1, updated_at = now()
     where report_id = $1 returning *`,
    [reportId],
  );
  return rows;
}

export async function deliveries(db: Queryable, reportIds: string[]): Promise<DbDelivery[]> {
  const { rows } = await db.query<DbDelivery>(
    'select * from report_deliveries where report_id = any($1::uuid[]) order by contact',
    [reportIds],
  );
  return rows;
}

/** Claims a queued delivery for sending (locked until the caller's transaction ends). */
export async function claimDelivery(db: Queryable, reportId: string, contact: string) {
  const { rows } = await db.query<DbDelivery>(
    `select * from report_deliveries where report_id = $1 and contact = $2 and status <> 'sent'
     for update skip locked`,
    [reportId, contact],
  );
  return rows[0];
}

export async function deliveryDone(
  db: Queryable,
  reportId: string,
  contact: string,
  outcome: { messageId: string } | { error: string; final: boolean },
): Promise<void> {
  if ('messageId' in outcome)
    await db.query(
      `update report_deliveries set status = 'sent', attempts = attempts + 1, message_id = $3, last_error = null,
         updated_at = now() where report_id = $1 and contact = $2`,
      [reportId, contact, outcome.messageId],
    );
  else
    await db.query(
      `update report_deliveries set status = case when $4 then 'failed' else status end, attempts = attempts + 1,
         last_error = $3, updated_at = now() where report_id = $1 and contact = $2`,
      [reportId, contact, outcome.error.slice(0, 2000), outcome.final],
    );
}
