import { UUID, type Queryable } from '../db/pool.ts';
import type { ServiceSpec } from './types.ts';

export interface DbClient {
  id: string;
  slug: string;
  name: string;
  time_zone: string;
  sla_target: number;
  report_contacts: string[];
  /** The listed status contacts in order (CLIENT_SELECT), as JSON. */
  status_contacts: DbStatusContactJson[];
  sla_services: string[] | null;
  status: 'active' | 'decommissioned';
  decommissioned_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

export interface DbStatusContactJson {
  email: string;
  name: string | null;
  sms: string | null;
  /** timestamptz as JSON text (PostgreSQL's own form, not ISO's `Z`). */
  unsubscribed_at: string | null;
}

/** A status contact as the updates need it: where to send, and its unsubscribe link's secret. */
export interface DbStatusContact {
  id: string;
  client_id: string;
  /** Null: off the client's list, kept only because it unsubscribed. */
  position: number | null;
  email: string;
  name: string | null;
  sms: string | null;
  unsubscribe_token: string;
  unsubscribed_at: Date | null;
}

export interface DbInstance {
  id: string;
  client_id: string;
  client_slug: string;
  slug: string;
  environment: string;
  base_url: string;
  metrics_url: string | null;
  node_exporter_url: string | null;
  postgres_exporter_url: string | null;
  labels: Record<string, string>;
  status: 'active' | 'decommissioned';
  decommissioned_at: Date | null;
  monitored_since: Date;
  created_at: Date;
  updated_at: Date;
  services: ServiceSpec[];
}

/** `{id or slug}` in paths: a UUID matches the id column, anything else the slug. */
const key = (idOrSlug: string) => (UUID.test(idOrSlug) ? 'id' : 'slug');

/** A client with its listed status contacts in order (unlisted ones are kept only to stay unsubscribed). */
const CLIENT_SELECT = `
  select c.*, coalesce((
      select jsonb_agg(jsonb_build_object('email', s.email, 'name', s.name, 'sms', s.sms,
                                          'unsubscribed_at', s.unsubscribed_at) order by s.position)
      from client_status_contacts s where s.client_id = c.id and s.position is not null), '[]') as status_contacts
  from clients c`;

export async function insertClient(
  db: Queryable,
  c: {
    slug: string;
    name: string;
    timeZone: string;
    slaTarget: number;
    reportContacts: string[];
    slaServices: string[] | null;
  },
): Promise<string> {
  const { rows } = await db.query<{ id: string }>(
    `insert into clients (slug, name, time_zone, sla_target, report_contacts, sla_services)
     values ($1, $2, $3, $4, $5, $6) returning id`,
    [c.slug, c.name, c.timeZone, c.slaTarget, c.reportContacts, c.slaServices],
  );
  return rows[0]!.id;
}

export async function findClient(
  db: Queryable,
  idOrSlug: string,
  forUpdate = false,
): Promise<DbClient | undefined> {
  const { rows } = await db.query<DbClient>(
    `${CLIENT_SELECT} where c.${key(idOrSlug)} = $1${forUpdate ? ' for update of c' : ''}`,
    [idOrSlug],
  );
  return rows[0];
}

export async function listClients(
  db: Queryable,
  f: { status: string | null; onlyId: string | null },
): Promise<DbClient[]> {
  const { rows } = await db.query<DbClient>(
    `${CLIENT_SELECT} where ($1::text is null or c.status = $1) and ($2::uuid is null or c.id = $2) order by c.slug`,
    [f.status, f.onlyId],
  );
  return rows;
}

export async function updateClient(
  db: Queryable,
  id: string,
  c: {
    name: string;
    timeZone: string;
    slaTarget: number;
    reportContacts: string[];
    slaServices: string[] | null;
  },
): Promise<void> {
  await db.query(
    `update clients set name = $2, time_zone = $3, sla_target = $4, report_contacts = $5, sla_services = $6,
       updated_at = now()
     where id = $1`,
    [id, c.name, c.timeZone, c.slaTarget, c.reportContacts, c.slaServices],
  );
}

export async function decommissionClient(db: Queryable, id: string): Promise<void> {
  await db.query(
    `update clients set status = 'decommissioned', decommissioned_at = coalesce(decommissioned_at, now()),
       updated_at = now() where id = $1`,
    [id],
  );
}

/**
 * Makes the client's status contact list `contacts`, in order, matched by address (case aside): a contact
 * still listed keeps its row, its unsubscribe link and whether it unsubscribed; a new one gets `token`; one
 * left off is forgotten, unless it unsubscribed, whose row stays unlisted so that listing it again does not
 * subscribe it again. One statement.
 */
export async function replaceStatusContacts(
  db: Queryable,
  clientId: string,
  contacts: { email: string; name: string | null; sms: string | null; token: string }[],
): Promise<void> {
  await db.query(
    `with x as (
       select * from jsonb_to_recordset($2::jsonb) as x(email text, name text, sms text, token text, position int)),
     gone as (
       delete from client_status_contacts s where s.client_id = $1 and s.unsubscribed_at is null
         and lower(s.email) not in (select lower(email) from x)),
     unlisted as (
       update client_status_contacts s set position = null where s.client_id = $1
         and s.unsubscribed_at is not null and lower(s.email) not in (select lower(email) from x))
     insert into client_status_contacts (client_id, position, email, name, sms, unsubscribe_token)
     select $1, x.position, x.email, x.name, x.sms, x.token from x
     on conflict (client_id, lower(email)) do update
       set position = excluded.position, email = excluded.email, name = excluded.name, sms = excluded.sms`,
    [clientId, JSON.stringify(contacts.map((c, position) => ({ ...c, position })))],
  );
}

/**
 * The client's listed contacts that have not unsubscribed, in order (who an update goes to), with the client's
 * name and time zone (what the update says); none for a decommissioned client.
 */
export async function subscribedStatusContacts(
  db: Queryable,
  clientId: string,
): Promise<(DbStatusContact & { client_name: string; time_zone: string })[]> {
  const { rows } = await db.query<DbStatusContact & { client_name: string; time_zone: string }>(
    `select s.*, c.name as client_name, c.time_zone from client_status_contacts s join clients c on c.id = s.client_id
     where s.client_id = $1 and c.status = 'active' and s.position is not null and s.unsubscribed_at is null
     order by s.position`,
    [clientId],
  );
  return rows;
}

/** The contact an unsubscribe link names (its token), listed or not; `forUpdate` locks it. */
export async function statusContactByToken(
  db: Queryable,
  token: string,
  forUpdate = false,
): Promise<(DbStatusContact & { client_name: string }) | undefined> {
  const { rows } = await db.query<DbStatusContact & { client_name: string }>(
    `select s.*, c.name as client_name from client_status_contacts s join clients c on c.id = s.client_id
     where s.unsubscribe_token = $1${forUpdate ? ' for update of s' : ''}`,
    [token],
  );
  return rows[0];
}

/** Subscribed again; a contact no longer listed is forgotten, as a listed one would be when taken off. */
export async function resubscribeStatusContact(db: Queryable, id: string): Promise<void> {
  await db.query(
    `with d as (delete from client_status_contacts where id = $1 and position is null)
     update client_status_contacts set unsubscribed_at = null where id = $1 and position is not null`,
    [id],
  );
}

export async function unsubscribeStatusContact(db: Queryable, id: string): Promise<void> {
  await db.query(
    `update client_status_contacts set unsubscribed_at = coalesce(unsubscribed_at, now()) where id = $1`,
    [id],
  );
}

const INSTANCE_SELECT = `
  select i.*, c.slug as client_slug,
    coalesce((select jsonb_agg(jsonb_build_object('name', s.name, 'kind', s.kind, 'probe', s.probe)
                                order by s.position)
              from services s where s.instance_id = i.id), '[]') as services
  from instances i join clients c on c.id = i.client_id`;

export async function findInstance(
  db: Queryable,
  idOrSlug: string,
  forUpdate = false,
): Promise<DbInstance | undefined> {
  const { rows } = await db.query<DbInstance>(
    `${INSTANCE_SELECT} where i.${key(idOrSlug)} = $1${forUpdate ? ' for update of i' : ''}`,
    [idOrSlug],
  );
  return rows[0];
}

export interface InstanceFilter {
  status: string | null;
  clientId: string | null;
  /** Words anywhere in the instance's or client's slug, the client's name, the environment or the base URL. */
  text?: string | null;
  /** Keyset paging: instances after this (client slug, instance slug), in that order. */
  after?: [string, string] | null;
  limit?: number | null;
}

const instanceWhere = `where ($1::text is null or i.status = $1) and ($2::uuid is null or i.client_id = $2)
    and ($3::text is null or concat_ws(' ', i.slug, c.slug, c.name, i.environment, i.base_url) ilike $3)`;
const like = (text: string | null | undefined) =>
  text ? `%${text.replace(/[\\%_]/g, (ch) => '\\' + ch)}%` : null;

export async function listInstances(db: Queryable, f: InstanceFilter): Promise<DbInstance[]> {
  // (c.slug, i.slug) is unique, so the row comparison pages without gaps or repeats.
  const { rows } = await db.query<DbInstance>(
    `${INSTANCE_SELECT} ${instanceWhere}
       and ($4::text is null or (c.slug, i.slug) > ($4::text, $5::text))
     order by c.slug, i.slug limit $6`,
    [f.status, f.clientId, like(f.text), f.after?.[0] ?? null, f.after?.[1] ?? null, f.limit ?? null],
  );
  return rows;
}

/** How many instances match a filter (for "1,000 instances" above a page of 50). */
export async function countInstances(db: Queryable, f: InstanceFilter): Promise<number> {
  const { rows } = await db.query<{ n: string }>(
    `select count(*) as n from instances i join clients c on c.id = i.client_id ${instanceWhere}`,
    [f.status, f.clientId, like(f.text)],
  );
  return Number(rows[0]!.n);
}

/** Active instances of active clients: what gets probed and scraped. */
export async function listMonitored(db: Queryable): Promise<DbInstance[]> {
  const { rows } = await db.query<DbInstance>(
    `${INSTANCE_SELECT} where i.status = 'active' and c.status = 'active' order by c.slug, i.slug`,
  );
  return rows;
}

export async function insertInstance(
  db: Queryable,
  i: {
    clientId: string;
    slug: string;
    environment: string;
    baseUrl: string;
    metricsUrl: string | null;
    nodeExporterUrl: string | null;
    postgresExporterUrl: string | null;
    labels: Record<string, string>;
    monitoredSince: string | null;
  },
): Promise<string> {
  const { rows } = await db.query<{ id: string }>(
    `insert into instances (client_id, slug, environment, base_url, metrics_url, labels, monitored_since,
                            node_exporter_url, postgres_exporter_url)
     values ($1, $2, $3, $4, $5, $6, coalesce($7::timestamptz, now()), $8, $9) returning id`,
    [
      i.clientId,
      i.slug,
      i.environment,
      i.baseUrl,
      i.metricsUrl,
      JSON.stringify(i.labels),
      i.monitoredSince,
      i.nodeExporterUrl,
      i.postgresExporterUrl,
    ],
  );
  return rows[0]!.id;
}

export async function updateInstance(
  db: Queryable,
  id: string,
  i: {
    environment: string;
    baseUrl: string;
    metricsUrl: string | null;
    nodeExporterUrl: string | null;
    postgresExporterUrl: string | null;
    labels: Record<string, string>;
    monitoredSince: Date | string;
  },
): Promise<void> {
  await db.query(
    `update instances set environment = $2, base_url = $3, metrics_url = $4, labels = $5, monitored_since = $6,
       node_exporter_url = $7, postgres_exporter_url = $8, updated_at = now()
     where id = $1`,
    [
      id,
      i.environment,
      i.baseUrl,
      i.metricsUrl,
      JSON.stringify(i.labels),
      i.monitoredSince,
      i.nodeExporterUrl,
      i.postgresExporterUrl,
    ],
  );
}

export async function replaceServices(
  db: Queryable,
  instanceId: string,
  services: ServiceSpec[],
): Promise<void> {
  await db.query('delete from services where instance_id = $1', [instanceId]);
  if (services.length === 0) return;
  await db.query(
    `insert into services (instance_id, name, kind, probe, position)
     select $1, s.name, s.kind, s.probe, s.position
     from jsonb_to_recordset($2::jsonb) as s(name text, kind text, probe jsonb, position int)`,
    [instanceId, JSON.stringify(services.map((s, position) => ({ ...s, position })))],
  );
}

export async function decommissionInstances(
  db: Queryable,
  f: { id?: string; clientId?: string },
): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(
    `update instances set status = 'decommissioned', decommissioned_at = coalesce(decommissioned_at, now()),
       updated_at = now()
     where status = 'active' and (($1::uuid is not null and id = $1) or ($2::uuid is not null and client_id = $2))
     returning id`,
    [f.id ?? null, f.clientId ?? null],
  );
  return rows.map((r) => r.id);
}
