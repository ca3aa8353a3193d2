import type { Queryable } from '../db/pool.ts';

/** A named statement: prepared once per connection, so the hot paths skip parsing and planning each time. */
const prepared = (name: string, text: string, values: unknown[]) => ({ name, text, values });

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

export interface PolicyWithResponders extends DbPolicy {
  levels: (DbLevel & { responders: DbResponder[] })[];
}

/**
 * The most specific policy for a client and severity (client and severity, then client, severity, default),
 * with each level's active responders (`responders`), in one round trip: an escalation step inside a
 * webhook's transaction needs both.
 */
export async function policyWithResponders(
  db: Queryable,
  clientId: string | null,
  severity: string,
): Promise<PolicyWithResponders> {
  const { rows } = await db.query<PolicyWithResponders>(
    prepared(
      'escalation.policyWithResponders',
      `select p.id, p.name, p.repeat_count, p.repeat_interval_seconds,
       (select jsonb_agg((to_jsonb(l) - 'policy_id') || jsonb_build_object('responders', coalesce(
          (select jsonb_agg(jsonb_build_object('id', r.id, 'name', r.name, 'role', r.role, 'phone', r.phone,
             'email', r.email) order by r.name, r.id) from responders r
           where r.active and (r.role = any (l.target_roles) or r.id = any (l.target_responders))),
          '[]'::jsonb)) order by l.level)
        from escalation_levels l where l.policy_id = p.id) as levels
     from escalation_policies p
     where p.is_default
        or ((p.client_id is null or p.client_id = $1) and (p.severities is null or $2 = any (p.severities)))
     order by (p.client_id is not null) desc, (p.severities is not null) desc, p.is_default
     limit 1`,
      [clientId, severity],
    ),
  );
  return { ...rows[0]!, levels: rows[0]!.levels ?? [] };
}

/**
 * The end of an escalation step in one statement: its timeline event (when it paged or found no one) and
 * the next step's job (when the ladder goes on).
 */
export async function finishStep(
  db: Queryable,
  s: {
    incidentId: string;
    event: { kind: string; actor: string; detail: object } | null;
    next: { payload: object; jobKey: string; runAt: Date } | null;
  },
): Promise<void> {
  await db.query(
    prepared(
      'escalation.finishStep',
      `with e as (
       insert into incident_events (incident_id, kind, actor, detail, internal)
       select $1, $2, $3, $4::jsonb, true where $2::text is not null)
     select case when $7::text is not null then (graphile_worker.add_job('escalate', $5::json,
       run_at := $6::timestamptz, job_key := $7::text, job_key_mode := 'preserve_run_at', max_attempts := 25)).id
     end as job`,
      [
        s.incidentId,
        s.event?.kind ?? null,
        s.event?.actor ?? null,
        s.event ? JSON.stringify(s.event.detail) : null,
        s.next ? JSON.stringify(s.next.payload) : null,
        s.next?.runAt ?? null,
        s.next?.jobKey ?? null,
      ],
    ),
  );
}

export async function findResponderByPhone(db: Queryable, phone: string): Promise<DbResponder | undefined> {
  const { rows } = await db.query<DbResponder>(
    `select id, name, role, phone, email from responders where active and phone = $1`,
    [phone],
  );
  return rows[0];
}
