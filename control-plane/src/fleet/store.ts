import { UUID, type Queryable } from '../db/pool.ts';
import type { ServiceSpec } from './types.ts';

export interface DbClient {
  id: string;
  slug: string;
  name: string;
  time_zone: string;
  sla_target: number;
  report_contacts: string[];
  sla_services: string[] | null;
  status: 'active' | 'decommissioned';
  decommissioned_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

export interface DbInstance {
  id: string;
  client_id: string;
  client_slug: string;
  slug: string;
  environment: string;
  base_url: string;
  metrics_url: string | null;
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
): Promise<DbClient> {
  const { rows } = await db.query<DbClient>(
    `insert into clients (slug, name, time_zone, sla_target, report_contacts, sla_services)
     values ($1, $2, $3, $4, $5, $6) returning *`,
    [c.slug, c.name, c.timeZone, c.slaTarget, c.reportContacts, c.slaServices],
  );
  return rows[0]!;
}

export async function findClient(
  db: Queryable,
  idOrSlug: string,
  forUpdate = false,
): Promise<DbClient | undefined> {
  const { rows } = await db.query<DbClient>(
    `select * from clients where ${key(idOrSlug)} = $1${forUpdate ? ' for update' : ''}`,
    [idOrSlug],
  );
  return rows[0];
}

export async function listClients(
  db: Queryable,
  f: { status: string | null; onlyId: string | null },
): Promise<DbClient[]> {
  const { rows } = await db.query<DbClient>(
    `select * from clients where ($1::text is null or status = $1) and ($2::uuid is null or id = $2) order by slug`,
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
): Promise<DbClient> {
  const { rows } = await db.query<DbClient>(
    `update clients set name = $2, time_zone = $3, sla_target = $4, report_contacts = $5, sla_services = $6,
       updated_at = now()
     where id = $1 returning *`,
    [id, c.name, c.timeZone, c.slaTarget, c.reportContacts, c.slaServices],
  );
  return rows[0]!;
}

export async function decommissionClient(db: Queryable, id: string): Promise<DbClient> {
  const { rows } = await db.query<DbClient>(
    `update clients set status = 'decommissioned', decommissioned_at = coalesce(decommissioned_at, now()),
       updated_at = now() where id = $1 returning *`,
    [id],
  );
  return rows[0]!;
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
    labels: Record<string, string>;
    monitoredSince: string | null;
  },
): Promise<string> {
  const { rows } = await db.query<{ id: string }>(
    `insert into instances (client_id, slug, environment, base_url, metrics_url, labels, monitored_since)
     values ($1, $2, $3, $4, $5, $6, coalesce($7::timestamptz, now())) returning id`,
    [i.clientId, i.slug, i.environment, i.baseUrl, i.metricsUrl, JSON.stringify(i.labels), i.monitoredSince],
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
    labels: Record<string, string>;
    monitoredSince: Date | string;
  },
): Promise<void> {
  await db.query(
    `update instances set environment = $2, base_url = $3, metrics_url = $4, labels = $5, monitored_since = $6,
       updated_at = now()
     where id = $1`,
    [id, i.environment, i.baseUrl, i.metricsUrl, JSON.stringify(i.labels), i.monitoredSince],
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
