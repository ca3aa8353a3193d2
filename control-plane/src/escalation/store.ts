import { CALLER_COLUMNS, callerValues, entryValues, type AuditEntry } from '../audit/store.ts';
import { UUID, type Queryable } from '../db/pool.ts';
import { INSERT_NEW, type NewNotification } from '../notify/store.ts';
import type { Hours, RotationSpec } from '../oncall/schedule.ts';

/** A named statement: prepared once per connection, so the hot paths skip parsing and planning each time. */
const prepared = (name: string, text: string, values: unknown[]) => ({ name, text, values });

export interface DbLevel {
  level: number;
  delay_seconds: number;
  target_roles: string[];
  target_responders: string[];
  target_rotations: string[];
  channels: Record<string, string[]>;
  /** The level pages by `channels` only within these hours; outside, by `off_hours_channels` or not at all. */
  hours: Hours | null;
  off_hours_channels: Record<string, string[]> | null;
}

export interface DbPolicy {
  id: string;
  name: string;
  /** Repeats of the ladder after its last level; null: until acknowledged or resolved. */
  repeat_count: number | null;
  repeat_interval_seconds: number;
  /** An Alertmanager incident resolves itself when all its alerts have resolved. */
  auto_resolve: boolean;
  /** The policy is chosen only within these hours. */
  hours: Hours | null;
  levels: DbLevel[];
}

export interface DbResponder {
  id: string;
  name: string;
  role: string;
  phone: string | null;
  email: string | null;
  /** Whether the responder has a target on these channels (the targets themselves are read only to send). */
  webhook?: boolean;
  slack?: boolean;
  teams?: boolean;
}

/** A rotation a level targets, with its overrides not yet ended and its active people, as JSON gives them. */
export interface LevelRotation extends RotationSpec {
  id: string;
  name: string;
  overrides: { id: string; responderId: string; start: string; end: string; createdAt: string }[];
  people: DbResponder[];
}

export interface PolicyWithResponders extends DbPolicy {
  levels: (DbLevel & { responders: DbResponder[]; rotations: LevelRotation[] })[];
}

/** A rotation (alias `ro`) as LevelRotation: its overrides not yet ended and its active people. */
const ROTATION_JSON = `jsonb_build_object('id', ro.id, 'name', ro.name, 'timeZone', ro.time_zone,
             'handoff', ro.handoff, 'handoffTime', ro.handoff_time, 'startDate', ro.start_date::text,
             'members', to_jsonb(ro.members),
             'overrides', coalesce((select jsonb_agg(jsonb_build_object('id', o.id, 'responderId', o.responder_id,
                 'start', o.starts_at, 'end', o.ends_at, 'createdAt', o.created_at))
               from rotation_overrides o where o.rotation_id = ro.id and o.ends_at > now()), '[]'::jsonb),
             'people', coalesce((select jsonb_agg(jsonb_build_object('id', r.id, 'name', r.name, 'role', r.role,
                 'phone', r.phone, 'email', r.email, 'webhook', r.webhook_url is not null,
                 'slack', r.slack_webhook_url is not null, 'teams', r.teams_webhook_url is not null)) from responders r
               where r.active and (r.id = any (ro.members) or r.id in (select o.responder_id
                 from rotation_overrides o where o.rotation_id = ro.id and o.ends_at > now()))), '[]'::jsonb))`;

/** A rotation by id or name, as a level that targets it sees it (for a page to whoever is on call now). */
export async function rotationForPaging(db: Queryable, idOrName: string): Promise<LevelRotation | undefined> {
  const { rows } = await db.query<{ r: LevelRotation }>(
    `select ${ROTATION_JSON} as r from rotations ro where ro.${UUID.test(idOrName) ? 'id' : 'name'} = $1`,
    [idOrName],
  );
  return rows[0]?.r;
}

export async function activeResponder(db: Queryable, id: string): Promise<DbResponder | undefined> {
  const { rows } = await db.query<DbResponder>(
    `select id, name, role, phone, email from responders where active and id = $1`,
    [id],
  );
  return rows[0];
}

/**
 * The policies that may apply to a client, severity and class, most specific first (class, then client and
 * severity, client, severity; with hours before without; the default last), each level with its active responders by role or
 * name and the rotations it targets (with their overrides and people), in one round trip. The caller picks
 * the first whose hours hold (escalation/service.ts `choosePolicy`).
 */
export async function policyCandidates(
  db: Queryable,
  clientId: string | null,
  severity: string,
  incidentClass: string | null = null,
  /** This policy alone (a drill of it), however its selectors read. */
  only: string | null = null,
): Promise<PolicyWithResponders[]> {
  const { rows } = await db.query<PolicyWithResponders>(
    prepared(
      'escalation.policyCandidates',
      `select p.id, p.name, p.repeat_count, p.repeat_interval_seconds, p.auto_resolve, p.hours,
       (select jsonb_agg((to_jsonb(l) - 'policy_id') || jsonb_build_object('responders', coalesce(
          (select jsonb_agg(jsonb_build_object('id', r.id, 'name', r.name, 'role', r.role, 'phone', r.phone,
             'email', r.email, 'webhook', r.webhook_url is not null, 'slack', r.slack_webhook_url is not null,
             'teams', r.teams_webhook_url is not null) order by r.name, r.id) from responders r
           where r.active and (r.role = any (l.target_roles) or r.id = any (l.target_responders))),
          '[]'::jsonb), 'rotations', coalesce(
          (select jsonb_agg(${ROTATION_JSON}
             order by ro.name)
           from rotations ro where ro.id = any (l.target_rotations)), '[]'::jsonb)) order by l.level)
        from escalation_levels l where l.policy_id = p.id) as levels
     from escalation_policies p
     where case when $4::uuid is not null then p.id = $4 else p.is_default
        or ((p.client_id is null or p.client_id = $1) and (p.severities is null or $2 = any (p.severities))
          and (p.classes is null or $3 = any (p.classes))) end
     -- A class names what failed (a security incident goes to the security lead whoever the client is).
     order by (p.classes is not null) desc, (p.client_id is not null) desc, (p.severities is not null) desc,
       (p.hours is not null) desc, p.is_default, p.name
     limit 50`,
      [clientId, severity, incidentClass, only],
    ),
  );
  return rows.map((p) => ({ ...p, levels: p.levels ?? [] }));
}

/**
 * One escalation step's writes in one statement: its outbox rows (those that do not exist yet, each with a
 * `send` job when `sendJobs`), its timeline event (when it paged someone, or found no one to page; the
 * event's detail gets `pages`, how many rows are new) and the next step's row (when the ladder goes on; a
 * step already scheduled keeps its due time). Returns the new outbox rows: none for a replayed step.
 */
export async function writeStep(
  db: Queryable,
  s: {
    incidentId: string;
    rows: NewNotification[];
    sendJobs: boolean;
    event?: { kind: string; actor: string; detail: object; evenWithoutPages: boolean } | null;
    next?: { level: number; repeat: number; dueAt: Date } | null;
    /** The step's audit record (a step the escalation job ran), staged with its event: it gets `pages` too. */
    audit?: AuditEntry | null;
  },
): Promise<{ id: string; idempotency_key: string }[]> {
  const none = Array.from({ length: 13 }, () => null);
  const { rows } = await db.query<{ id: string; idempotency_key: string }>(
    prepared(
      'escalation.writeStep',
      `with n as (${INSERT_NEW}),
     j as (
       select graphile_worker.add_job('send', json_build_object('notificationId', n.id),
         job_key := n.idempotency_key, max_attempts := 25) from n where $2::bool),
     e as (
       insert into incident_events (incident_id, kind, actor, detail, internal)
       select $3, $4, $5, $6::jsonb || jsonb_build_object('pages', (select count(*) from n)), true
       where $4::text is not null and ($7::bool or exists (select 1 from n))),
     s as (
       insert into escalation_steps (incident_id, level, repeat, due_at)
       select $3, $8, $9, $10 where $8::int is not null
       on conflict do nothing),
     au as (
       insert into audit_pending (actor, action, target_type, target_id, before, after, request_id, ${CALLER_COLUMNS})
       select $11, $12, $13, $14, $15::jsonb, $16::jsonb || jsonb_build_object('pages', (select count(*) from n)),
         $17, $18, $19, $20, $21, $22, $23
       where $11::text is not null and $4::text is not null and ($7::bool or exists (select 1 from n)))
     -- j is read here because PostgreSQL skips a CTE that is not data-modifying unless something reads it.
     select n.id, n.idempotency_key, (select count(*) from j) as jobs from n`,
      [
        JSON.stringify(s.rows),
        s.sendJobs,
        s.incidentId,
        s.event?.kind ?? null,
        s.event?.actor ?? null,
        s.event ? JSON.stringify(s.event.detail) : null,
        s.event?.evenWithoutPages ?? false,
        s.next?.level ?? null,
        s.next?.repeat ?? null,
        s.next?.dueAt ?? null,
        ...(s.audit ? [...entryValues(s.audit), ...callerValues(s.audit)] : none),
      ],
    ),
  );
  return rows;
}

/** Schedules a step (a step already scheduled keeps its due time: a replayed opening changes nothing). */
export async function scheduleStep(
  db: Queryable,
  s: { incidentId: string; level: number; repeat: number; dueAt: Date },
): Promise<void> {
  await db.query(
    `insert into escalation_steps (incident_id, level, repeat, due_at) values ($1, $2, $3, $4)
     on conflict do nothing`,
    [s.incidentId, s.level, s.repeat, s.dueAt],
  );
}

export interface DueStep {
  incident_id: string;
  level: number;
  repeat: number;
  attempts: number;
}

/**
 * Takes one due step and removes it, inside the caller's transaction: the row stays locked (other
 * processes skip it) until the step's work commits with its removal, or comes back when that rolls back.
 */
export async function takeDueStep(db: Queryable): Promise<DueStep | undefined> {
  const { rows } = await db.query<DueStep>(
    prepared(
      'escalation.takeDueStep',
      `delete from escalation_steps where (incident_id, level, repeat) = (
       select incident_id, level, repeat from escalation_steps where due_at <= now()
       order by due_at limit 1 for update skip locked)
     returning incident_id, level, repeat, attempts`,
      [],
    ),
  );
  return rows[0];
}

/** A step that failed: tried again after `delayMs`, with the error kept. */
export async function postponeStep(db: Queryable, step: DueStep, delayMs: number, error: string) {
  await db.query(
    `update escalation_steps set due_at = now() + $4 * interval '1 millisecond', attempts = attempts + 1,
       last_error = $5 where incident_id = $1 and level = $2 and repeat = $3`,
    [step.incident_id, step.level, step.repeat, delayMs, error.slice(0, 500)],
  );
}

/** Milliseconds until the next step is due (0 when one is due now), or undefined when none waits. */
export async function msUntilNextStep(db: Queryable): Promise<number | undefined> {
  const { rows } = await db.query<{ ms: number | null }>(
    `select greatest(0, extract(epoch from min(due_at) - now()) * 1000)::float8 as ms from escalation_steps`,
  );
  return rows[0]?.ms ?? undefined;
}

export async function findResponderByPhone(db: Queryable, phone: string): Promise<DbResponder | undefined> {
  const { rows } = await db.query<DbResponder>(
    `select id, name, role, phone, email from responders where active and phone = $1`,
    [phone],
  );
  return rows[0];
}
