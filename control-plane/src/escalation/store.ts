import type { Queryable } from '../db/pool.ts';

export interface DbLevel {
  level: number;
  delay_seconds: number;
  target_roles: string[];
  target_responders: string[];
  channels: Record<string, string[]>;
}

export interface DbPolicy {
  id: string;
  name: string;
  repeat_count: number;
  repeat_interval_seconds: number;
  levels: DbLevel[];
}

export interface DbResponder {
  id: string;
  name: string;
  role: string;
  phone: string | null;
  email: string | null;
}

/** The most specific policy for a client and severity: client and severity, then client, severity, default. */
export async function policyFor(db: Queryable, clientId: string | null, severity: string): Promise<DbPolicy> {
  const { rows } = await db.query<DbPolicy>(
    `select p.id, p.name, p.repeat_count, p.repeat_interval_seconds,
       (select jsonb_agg(to_jsonb(l) - 'policy_id' order by l.level) from escalation_levels l
        where l.policy_id = p.id) as levels
     from escalation_policies p
     where p.is_default
        or ((p.client_id is null or p.client_id = $1) and (p.severities is null or $2 = any (p.severities)))
     order by (p.client_id is not null) desc, (p.severities is not null) desc, p.is_default
     limit 1`,
    [clientId, severity],
  );
  return { ...rows[0]!, levels: rows[0]!.levels ?? [] };
}

export async function respondersFor(db: Queryable, roles: string[], ids: string[]): Promise<DbResponder[]> {
  const { rows } = await db.query<DbResponder>(
    `select id, name, role, phone, email from responders
     where active and (role = any ($1::text[]) or id = any ($2::uuid[])) order by name, id`,
    [roles, ids],
  );
  return rows;
}

export async function findResponderByPhone(db: Queryable, phone: string): Promise<DbResponder | undefined> {
  const { rows } = await db.query<DbResponder>(
    `select id, name, role, phone, email from responders where active and phone = $1`,
    [phone],
  );
  return rows[0];
}
