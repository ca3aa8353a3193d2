import type { Queryable } from '../db/pool.ts';

/** A named statement: prepared once per connection, so the hot paths skip parsing and planning each time. */
const prepared = (name: string, text: string, values: unknown[]) => ({ name, text, values });

export type Channel = 'sms' | 'voice' | 'email' | 'webhook' | 'slack' | 'teams';
/** Every channel, in the order a level lists them. */
export const CHANNELS: readonly Channel[] = ['sms', 'voice', 'email', 'webhook', 'slack', 'teams'];

export interface NewNotification {
  incidentId: string;
  level: number;
  repeat: number;
  responderId: string;
  channel: Channel;
  idempotencyKey: string;
  fallbackOf: string | null;
}

/** One page to send, with what the page says and where it goes (read only to send it). */
export interface DbPage {
  id: string;
  /** Null for a test page (`test`), which belongs to no incident. */
  incident_id: string | null;
  test: boolean;
  level: number;
  repeat: number;
  channel: Channel;
  idempotency_key: string;
  attempts: number;
  fallback_of: string | null;
  responder_id: string;
  responder_name: string;
  phone: string | null;
  email: string | null;
  webhook_url: string | null;
  webhook_secret: string | null;
  slack_webhook_url: string | null;
  teams_webhook_url: string | null;
  code: string;
  severity: 'critical' | 'warning' | 'info';
  incident_status: string;
  title: string;
  summary: string;
  client_slug: string | null;
  unassigned: boolean;
  instance: string | null;
  service: string | null;
  /** The page is a failure drill's: every channel says DRILL. */
  drill: boolean;
}

/**
 * SQL inserting the outbox rows of `$1` (a JSON array of NewNotification) that do not exist yet, returning
 * the new ones: a replayed escalation step returns none and so pages no one. Also the first part of the
 * escalation step's own statement (escalation/store.ts `writeStep`).
 */
export const INSERT_NEW = `insert into notifications (incident_id, level, repeat, responder_id, channel,
    idempotency_key, fallback_of)
  select * from jsonb_to_recordset($1::jsonb) as x("incidentId" uuid, level int, repeat int,
    "responderId" uuid, channel text, "idempotencyKey" text, "fallbackOf" uuid)
  on conflict (idempotency_key) do nothing returning id, idempotency_key`;

/** Outbox rows that do not exist yet (see INSERT_NEW). */
export async function insertNew(db: Queryable, rows: NewNotification[]) {
  if (rows.length === 0) return [];
  const { rows: out } = await db.query<{ id: string; idempotency_key: string }>(
    prepared('notify.insertNew', INSERT_NEW, [JSON.stringify(rows)]),
  );
  return out;
}

export interface SentMark {
  id: string;
  providerId: string | null;
  attempt: number;
  ms: number;
}

/** An incident whose first accepted page a `recordSent` recorded: seconds from its failure's beginning. */
export interface FirstPage {
  severity: 'critical' | 'warning' | 'info';
  seconds: number;
}

/**
 * Pages the provider accepted, in one statement: each row marked sent and its attempt recorded, with an
 * asynchronous commit. Losing it in a crash leaves the rows 'sending' (the claim was durable before the send),
 * which no one sends again, so it cannot page twice; it spares the page path one WAL flush wait per page.
 * The incidents paged for the first time get first_page_at, and are returned: of replicas recording pages of
 * one incident at once, the row lock lets one statement set it and the others find it set, so each incident's
 * first page is returned (and counted in /metrics) once, by the process that recorded it.
 */
export async function recordSent(db: Queryable, marks: SentMark[]): Promise<FirstPage[]> {
  const { rows } = await db.query<FirstPage>(
    prepared(
      'notify.recordSent',
      `with x as (
       select * from jsonb_to_recordset($1::jsonb) as x(id uuid, "providerId" text, attempt int, ms int)),
     s as (
       update notifications n set status = 'sent', provider_id = x."providerId", last_error = null,
         updated_at = now()
       from x where n.id = x.id returning n.id, n.incident_id),
     a as (
       insert into notification_attempts (notification_id, attempt, outcome, duration_ms)
       select x.id, x.attempt, 'sent', x.ms from x join s on s.id = x.id),
     f as (
       update incidents i set first_page_at = now()
       where i.id in (select incident_id from s) and i.first_page_at is null
       returning i.severity, extract(epoch from i.first_page_at - i.failure_began_at)::float8 as seconds,
         i.drill_id),
     cfg as (select set_config('synchronous_commit', 'off', true))
     -- a drill's first page is its report's figure, not one of the failure-to-page figures of real failures
     select f.severity, f.seconds from f, cfg where f.drill_id is null`,
      [JSON.stringify(marks)],
    ),
  );
  return rows;
}

/**
 * Pages committed at least `graceMs` ago that nobody has tried to send: the committing process died before
 * its send straight after commit (or is far behind). Oldest first.
 */
export async function unsentSince(db: Queryable, graceMs: number, limit: number): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(
    `select id from notifications where status = 'queued' and attempts = 0
       and created_at < now() - $1 * interval '1 millisecond' order by created_at limit $2`,
    [graceMs, limit],
  );
  return rows.map((r) => r.id);
}

export interface StalePage {
  id: string;
  incident_id: string | null;
  test: boolean;
  level: number;
  channel: string;
  responder_name: string;
}

/**
 * Pages left 'sending' longer than a send can take (`staleMs` for SMS and voice, `emailStaleMs` for e-mail):
 * the process that claimed them stopped before it recorded the provider's answer. They are not sent again
 * (the provider may have taken them); they become 'unknown', and are returned for the timeline.
 */
export async function markStaleSendingUnknown(
  db: Queryable,
  staleMs: number,
  emailStaleMs: number,
): Promise<StalePage[]> {
  const { rows } = await db.query<StalePage>(
    `with u as (
       update notifications set status = 'unknown', updated_at = now(),
         last_error = 'the process sending it stopped before the provider answered'
       where status = 'sending'
         and updated_at < now() - (case when channel = 'email' then $2::float8 else $1::float8 end) * interval '1 millisecond'
       returning id, incident_id, level, channel, responder_id, test)
     select u.id, u.incident_id, u.test, u.level, u.channel, r.name as responder_name
     from u join responders r on r.id = u.responder_id order by u.incident_id, u.level`,
    [staleMs, emailStaleMs],
  );
  return rows;
}

/**
 * Claims queued pages for sending; returns those it claimed. Only one worker (of any replica) wins each row's
 * update, so a page is handed to the provider at most once per attempt.
 */
export async function claim(db: Queryable, ids: string[]): Promise<DbPage[]> {
  const { rows } = await db.query<DbPage>(
    prepared(
      'notify.claim',
      `with c as (
       update notifications set status = 'sending', attempts = attempts + 1, updated_at = now()
       where id = any($1::uuid[]) and status = 'queued' returning *)
     ${PAGE_SELECT}`,
      [ids],
    ),
  );
  return rows;
}

export async function pageById(db: Queryable, id: string): Promise<DbPage | undefined> {
  const { rows } = await db.query<DbPage>(
    `with c as (select * from notifications where id = $1) ${PAGE_SELECT}`,
    [id],
  );
  return rows[0];
}

const PAGE_SELECT = `
     select c.id, c.incident_id, c.test, c.level, c.repeat, c.channel, c.idempotency_key, c.attempts,
       c.fallback_of, r.id as responder_id, r.name as responder_name, r.phone, r.email,
       r.webhook_url, r.webhook_secret, r.slack_webhook_url, r.teams_webhook_url,
       coalesce(i.code, 'TEST') as code, coalesce(i.severity, 'info') as severity,
       coalesce(i.status, 'resolved') as incident_status, coalesce(i.title, 'Test page') as title,
       coalesce(i.summary, '') as summary, cl.slug as client_slug, coalesce(i.unassigned, false) as unassigned,
       i.instance, i.service, i.drill_id is not null as drill
     from c join responders r on r.id = c.responder_id left join incidents i on i.id = c.incident_id
       left join clients cl on cl.id = i.client_id`;

/** Back to queued (for a retry) or failed for good. */
export async function markFailed(db: Queryable, id: string, status: 'queued' | 'failed', error: string) {
  await db.query(`update notifications set status = $2, last_error = $3, updated_at = now() where id = $1`, [
    id,
    status,
    error.slice(0, 500),
  ]);
}

export async function setStatus(db: Queryable, id: string, status: string): Promise<void> {
  await db.query(`update notifications set status = $2, updated_at = now() where id = $1`, [id, status]);
}

export async function insertAttempt(
  db: Queryable,
  a: { id: string; attempt: number; outcome: string; providerStatus?: string; error?: string; ms?: number },
): Promise<void> {
  await db.query(
    `insert into notification_attempts (notification_id, attempt, outcome, provider_status, error, duration_ms)
     values ($1, $2, $3, $4, $5, $6)`,
    [a.id, a.attempt, a.outcome, a.providerStatus ?? null, a.error?.slice(0, 500) ?? null, a.ms ?? null],
  );
}

/** A test page's outbox row (no incident); returns its id. */
export async function insertTestPage(
  db: Queryable,
  p: { responderId: string; channel: Channel; idempotencyKey: string },
): Promise<string> {
  const { rows } = await db.query<{ id: string }>(
    `insert into notifications (incident_id, test, level, repeat, responder_id, channel, idempotency_key)
     values (null, true, 0, 0, $1, $2, $3) returning id`,
    [p.responderId, p.channel, p.idempotencyKey],
  );
  return rows[0]!.id;
}

/** A responder as a test page needs it: whether they are active, and which channels can reach them. */
export async function responderContacts(db: Queryable, id: string) {
  const { rows } = await db.query<{
    id: string;
    name: string;
    active: boolean;
    phone: string | null;
    email: string | null;
    webhook: boolean;
    slack: boolean;
    teams: boolean;
  }>(
    `select id, name, active, phone, email, webhook_url is not null as webhook,
       slack_webhook_url is not null as slack, teams_webhook_url is not null as teams from responders where id = $1`,
    [id],
  );
  return rows[0];
}

export async function cancelQueued(db: Queryable, incidentId: string): Promise<number> {
  const { rowCount } = await db.query(
    `update notifications set status = 'cancelled', updated_at = now()
     where incident_id = $1 and status = 'queued'`,
    [incidentId],
  );
  return rowCount ?? 0;
}

/** True once a sent page with this provider id (Twilio's sid) is recorded. */
export async function providerIdKnown(db: Queryable, providerId: string): Promise<boolean> {
  const { rows } = await db.query(`select 1 from notifications where provider_id = $1`, [providerId]);
  return rows.length > 0;
}

export async function findByProviderId(db: Queryable, providerId: string) {
  const { rows } = await db.query<{
    id: string;
    incident_id: string;
    status: string;
    channel: Channel;
    level: number;
    repeat: number;
    responder_id: string;
    idempotency_key: string;
    attempts: number;
  }>(`select * from notifications where provider_id = $1 for update`, [providerId]);
  return rows[0];
}

/** Marks an e-mail acknowledge link used; false when it already was (links are single-use). */
export async function useAckLink(db: Queryable, id: string): Promise<{ incident_id: string } | undefined> {
  const { rows } = await db.query<{ incident_id: string }>(
    `update notifications set ack_link_used_at = now() where id = $1 and ack_link_used_at is null
     returning incident_id`,
    [id],
  );
  return rows[0];
}

/** The incident most recently paged to a responder that is still open (for a bare "ACK" reply). */
export async function latestOpenPagedTo(db: Queryable, responderId: string): Promise<string | undefined> {
  const { rows } = await db.query<{ code: string }>(
    `select i.code from notifications n join incidents i on i.id = n.incident_id
     where n.responder_id = $1 and i.status = 'open' order by n.created_at desc limit 1`,
    [responderId],
  );
  return rows[0]?.code;
}

export async function responderName(db: Queryable, notificationId: string) {
  const { rows } = await db.query<{
    name: string;
    incident_id: string;
    code: string;
    ack_link_used_at: Date | null;
  }>(
    `select r.name, n.incident_id, i.code, n.ack_link_used_at from notifications n
     join responders r on r.id = n.responder_id
     join incidents i on i.id = n.incident_id where n.id = $1`,
    [notificationId],
  );
  return rows[0];
}

/**
 * An incident's pages, oldest first, at most `limit` (a page list, not a log): who, how, what became of each and
 * when a provider first accepted it. The console's incident page and a drill's report both read this.
 */
export interface DbPage {
  level: number;
  repeat: number;
  responder: string;
  channel: Channel;
  status: string;
  attempts: number;
  last_error: string | null;
  created_at: Date;
  accepted_at: Date | null;
}

export async function pagesOf(db: Queryable, incidentId: string, limit: number): Promise<DbPage[]> {
  const { rows } = await db.query<DbPage>(
    `select n.level, n.repeat, r.name as responder, n.channel, n.status, n.attempts, n.last_error, n.created_at,
       (select min(t.at) from notification_attempts t where t.notification_id = n.id and t.outcome = 'sent')
         as accepted_at
     from notifications n join responders r on r.id = n.responder_id
     where n.incident_id = $1 order by n.created_at, n.level, n.channel, n.id limit $2`,
    [incidentId, limit],
  );
  return rows;
}
