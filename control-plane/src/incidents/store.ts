import { CALLER_COLUMNS, callerValues, entryValues, stageSql, type AuditEntry } from '../audit/store.ts';
import { UUID, type Queryable } from '../db/pool.ts';

/** A named statement: prepared once per connection, so the hot paths skip parsing and planning each time. */
const prepared = (name: string, text: string, values: unknown[]) => ({ name, text, values });

export type Severity = 'critical' | 'warning' | 'info';
/** Severities from lowest to highest. */
export const SEVERITIES: Severity[] = ['info', 'warning', 'critical'];
export type IncidentStatus = 'open' | 'acknowledged' | 'resolved';
/** What kind of failure an incident is (the seeds' four, and availability); policies select on it. */
export const CLASSES = ['crisis', 'security', 'compliance', 'performance', 'availability'] as const;
export type IncidentClass = (typeof CLASSES)[number];
/** An alert's `class` label as a class, or null when it names none of them. */
export const classOf = (label: string | undefined): IncidentClass | null =>
  (CLASSES as readonly string[]).includes(label ?? '') ? (label as IncidentClass) : null;
/** An alert's `urgency` label: only `emergency` means anything (it pages the whole ladder at once). */
export const urgencyOf = (label: string | undefined): 'emergency' | null =>
  label === 'emergency' ? 'emergency' : null;

export interface DbIncident {
  id: string;
  code: string;
  client_id: string | null;
  client_slug: string | null;
  unassigned: boolean;
  /** The instance's slug as stored; `instance_id` is set only when it is an instance of the incident's client. */
  instance: string | null;
  instance_id: string | null;
  service: string | null;
  severity: Severity;
  status: IncidentStatus;
  class: IncidentClass | null;
  urgency: 'emergency' | null;
  group_key: string | null;
  source: 'alertmanager' | 'manual' | 'deadman' | 'drill';
  title: string;
  summary: string;
  public_summary: string | null;
  policy_id: string | null;
  auto_resolve: boolean;
  opened_at: Date;
  /** When the failure began: the alerts' earliest startsAt at the opening, or the time a hand-made one gives. */
  failure_began_at: Date;
  /** When a provider first accepted one of its pages (Twilio's API, the SMTP server); null until then. */
  first_page_at: Date | null;
  acknowledged_at: Date | null;
  acknowledged_by: string | null;
  resolved_at: Date | null;
  resolved_by: string | null;
  /** Set for a failure drill's incident: staff only, left out of reports and of the SLA. */
  drill_id: string | null;
}

export interface DbEvent {
  id: number;
  at: Date;
  kind: string;
  actor: string;
  detail: Record<string, unknown>;
  internal: boolean;
}

export interface NewIncident {
  clientId: string | null;
  unassigned: boolean;
  instance: string | null;
  service: string | null;
  severity: Severity;
  groupKey: string | null;
  source: DbIncident['source'];
  title: string;
  summary: string;
  publicSummary: string | null;
  autoResolve: boolean;
  /** When the failure began; null: the opening. Never later than the opening (the table's trigger). */
  failureBeganAt: string | null;
  class?: IncidentClass | null;
  urgency?: 'emergency' | null;
}

export interface AlertRow {
  fingerprint: string;
  status: 'firing' | 'resolved';
  alertname: string | null;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string | null;
}

// The instance is joined on its client too: a row written before references were checked never shows a client
// another client's instance.
const SELECT = `select i.*, c.slug as client_slug, ins.id as instance_id from incidents i
  left join clients c on c.id = i.client_id
  left join instances ins on ins.slug = i.instance and ins.client_id = i.client_id`;

function values(n: NewIncident) {
  return [
    n.clientId,
    n.unassigned,
    n.instance,
    n.service,
    n.severity,
    n.groupKey,
    n.source,
    n.title,
    n.summary,
    n.publicSummary,
    n.autoResolve,
    n.failureBeganAt,
    n.class ?? null,
    n.urgency ?? null,
  ];
}
const INSERT = `insert into incidents (client_id, unassigned, instance, service, severity, group_key, source, title,
  summary, public_summary, auto_resolve, failure_began_at, class, urgency)
  values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`;

/**
 * When an alert group's failure began, from the earliest start of the alerts that open its incident: never
 * before the group's previous incident resolved (an alert still firing after an operator resolved its incident
 * begins no new failure back then), and never after the opening (the table's trigger sees to that).
 */
const FAILURE_BEGAN = (startsAt: string, groupKey: string) =>
  `greatest(${startsAt}::timestamptz, (select max(r.resolved_at) from incidents r
     where r.group_key = ${groupKey} and r.status = 'resolved'))`;

/** Opens the group's incident unless one is open: the partial unique index decides between racing webhooks. */
export async function insertForGroup(db: Queryable, n: NewIncident): Promise<string | undefined> {
  const { rows } = await db.query<{ id: string }>(
    `${INSERT} on conflict (group_key) where status <> 'resolved' and group_key is not null do nothing
     returning id`,
    values(n),
  );
  return rows[0]?.id;
}

/** A client label as the look-up's two parameters: (id, null) for a client's id, (null, slug) otherwise. */
const clientLookup = (client: string | null) =>
  client !== null && UUID.test(client) ? [client, null] : [null, client];

/**
 * Whether an instance label (a slug) names an instance of the client: labels are whatever a rule or a
 * runtime wrote, and an incident must never show one client another's instance.
 */
const OWN_INSTANCE = (instance: string, clientId: string) =>
  `exists (select 1 from instances where slug = ${instance}::text and client_id = ${clientId})`;
/** Whether a service label names a service of that instance (or, without one, of any of the client's). */
const OWN_SERVICE = (instance: string, service: string, clientId: string) =>
  `exists (select 1 from services s join instances si on si.id = s.instance_id
     where s.name = ${service}::text and si.client_id = ${clientId}
       and (${instance}::text is null or si.slug = ${instance}))`;

/**
 * `insertForGroup` in one round trip with what the webhook path needs: the client (by id or slug, unknown
 * means unassigned) resolved in the statement, and the whole new row back (already locked: this transaction
 * inserted it). An instance or service label that is not the client's own is left out (the caller records
 * that on the timeline). Undefined when another delivery's incident is open for the group.
 */
export async function openForGroup(
  db: Queryable,
  n: Omit<NewIncident, 'clientId' | 'unassigned' | 'failureBeganAt'> & {
    client: string | null;
    /** The earliest startsAt of the opening alerts (see FAILURE_BEGAN). */
    failureBeganAt: string;
    /** A `drill` label: the drill's id when it names a drill of ours, else nothing (a real alert). */
    drill?: string | null;
  },
): Promise<DbIncident | undefined> {
  const { rows } = await db.query<DbIncident>(
    prepared(
      'incidents.openForGroup',
      `with c as (select (select id from clients where ($1::uuid is not null and id = $1) or slug = $2) as id)
     insert into incidents (client_id, unassigned, instance, service, severity, group_key, source, title,
       summary, public_summary, auto_resolve, failure_began_at, class, urgency, drill_id)
     select c.id, c.id is null, case when ${OWN_INSTANCE('$3', 'c.id')} then $3 end,
       case when ${OWN_SERVICE('$3', '$4', 'c.id')} then $4 end, $5, $6, $7, $8, $9, $10, $11,
       ${FAILURE_BEGAN('$12', '$6')}, $13, $14,
       -- a label is any text: only a drill of ours (and not yet opened) marks the incident as a drill
       (select d.id from drills d where d.id = $15::uuid
          and not exists (select 1 from incidents x where x.drill_id = d.id)) from c
     on conflict (group_key) where status <> 'resolved' and group_key is not null do nothing
     returning *, null::text as client_slug, null::uuid as instance_id`,
      [
        ...clientLookup(n.client),
        n.instance,
        n.service,
        n.severity,
        n.groupKey,
        n.source,
        n.title,
        n.summary,
        n.publicSummary,
        n.autoResolve,
        n.failureBeganAt,
        n.class ?? null,
        n.urgency ?? null,
        // Only a uuid can name a drill: anything else is no drill, decided here so the statement keeps one
        // generic plan (a text comparison with the label made PostgreSQL plan it afresh on every call).
        n.drill && UUID.test(n.drill) ? n.drill : null,
      ],
    ),
  );
  return rows[0];
}

/**
 * A drill's incident on an escalation path (no alert, no client): `policyId` is the policy it escalates by
 * (null: none, a rotation is paged instead). Returns the new row.
 */
export async function insertDrill(
  db: Queryable,
  d: { drillId: string; severity: Severity; title: string; summary: string; policyId: string | null },
): Promise<DbIncident> {
  const { rows } = await db.query<{ id: string }>(
    `insert into incidents (client_id, unassigned, severity, source, title, summary, auto_resolve, drill_id,
       policy_id)
     values (null, false, $1, 'drill', $2, $3, false, $4, $5) returning id`,
    [d.severity, d.title, d.summary, d.drillId, d.policyId],
  );
  return (await find(db, rows[0]!.id))!;
}

/** Ends a drill's incident's alerts too: a late re-send of its firing alert is then known to be over. */
export async function resolveAlerts(db: Queryable, incidentId: string): Promise<void> {
  await db.query(
    `update incident_alerts set status = 'resolved', ends_at = now(), updated_at = now()
     where incident_id = $1 and status = 'firing'`,
    [incidentId],
  );
}

/** The incidents of these drills (at most one each). */
export async function byDrills(db: Queryable, drillIds: string[]): Promise<DbIncident[]> {
  const { rows } = await db.query<DbIncident>(`${SELECT} where i.drill_id = any($1::uuid[])`, [drillIds]);
  return rows;
}

/**
 * A new group's incident with everything its opening writes, in one statement (no transaction of its own,
 * so one round trip): the incident (`id` made by the caller), its alerts, its timeline (the caller's events in
 * order, the last being the escalation step's, which gets the step's `pages`), the opening's audit record
 * (staged; its `after` gets the incident's code), the first step's outbox rows and the next step's row.
 * It writes nothing, and returns undefined, when the group has an incident open (the partial unique index
 * decides between racing webhooks), when an alert of it already resolved in this group (a late replay), when
 * paging_config_version is no longer `configVersion` (the escalation was planned from a policy read before a
 * change), when the client label no longer means `clientId` or when an instance or service label is not the
 * client's own (the usual way records that): the caller then opens it the usual way.
 */
export async function openWithEscalation(
  db: Queryable,
  o: {
    id: string;
    client: string | null;
    clientId: string | null;
    instance: string | null;
    service: string | null;
    severity: Severity;
    class: IncidentClass | null;
    urgency: 'emergency' | null;
    groupKey: string;
    title: string;
    summary: string;
    /** The earliest startsAt of the opening alerts (see FAILURE_BEGAN). */
    failureBeganAt: string;
    configVersion: string;
    alerts: AlertRow[];
    events: {
      kind: string;
      actor: string;
      detail: object;
      internal: boolean;
      /** The escalation step's event: gets `pages`, and is left out without pages unless `evenWithoutPages`. */
      step?: boolean;
      evenWithoutPages?: boolean;
    }[];
    audit: AuditEntry;
    pages: unknown[];
    next: { level: number; repeat: number; offsetSeconds: number } | null;
  },
): Promise<(DbIncident & { sends: string[] }) | undefined> {
  const { rows } = await db.query<DbIncident & { sends: string[] }>(
    prepared(
      'incidents.openWithEscalation',
      `with c as (select (select id from clients where ($2::uuid is not null and id = $2) or slug = $3) as id),
     i as (
       insert into incidents (id, client_id, unassigned, instance, service, severity, group_key, source, title,
         summary, public_summary, auto_resolve, failure_began_at, class, urgency)
       select $1, c.id, c.id is null, $5, $6, $7, $8, 'alertmanager', $9, $10, null, true,
         ${FAILURE_BEGAN('$32', '$8')}, $33, $34 from c
       where c.id is not distinct from $4::uuid
         and ($5::text is null or ${OWN_INSTANCE('$5', 'c.id')})
         and ($6::text is null or ${OWN_SERVICE('$5', '$6', 'c.id')})
         and (select v::text from paging_config_version) = $11
         and cardinality(incidents_resolved_before($8, $25::jsonb)) = 0
       on conflict (group_key) where status <> 'resolved' and group_key is not null do nothing
       returning *),
     a as (
       insert into incident_alerts (incident_id, fingerprint, status, alertname, labels, annotations, starts_at,
         ends_at)
       select i.id, x.fingerprint, x.status, x.alertname, x.labels, x.annotations, x."startsAt", x."endsAt"
       from i, jsonb_to_recordset($12::jsonb) as x(fingerprint text, status text, alertname text, labels jsonb,
         annotations jsonb, "startsAt" timestamptz, "endsAt" timestamptz)),
     n as (
       insert into notifications (incident_id, level, repeat, responder_id, channel, idempotency_key, fallback_of)
       select x."incidentId", x.level, x.repeat, x."responderId", x.channel, x."idempotencyKey", x."fallbackOf"
       from i, jsonb_to_recordset($21::jsonb) as x("incidentId" uuid, level int, repeat int, "responderId" uuid,
         channel text, "idempotencyKey" text, "fallbackOf" uuid)
       returning id),
     e as (
       insert into incident_events (incident_id, kind, actor, detail, internal)
       select i.id, x.kind, x.actor,
         case when x.step then x.detail || jsonb_build_object('pages', (select count(*) from n)) else x.detail end,
         x.internal
       from i, jsonb_to_recordset($13::jsonb) as x(ord int, kind text, actor text, detail jsonb, internal boolean,
         step boolean, "evenWithoutPages" boolean)
       where not coalesce(x.step, false) or x."evenWithoutPages" or exists (select 1 from n)
       order by x.ord),
     au as (
       insert into audit_pending (actor, action, target_type, target_id, before, after, request_id, ${CALLER_COLUMNS})
       select $14, $15, $16, $17, $18::jsonb, $19::jsonb || jsonb_build_object('code', i.code), $20,
         $26, $27, $28, $29, $30, $31 from i),
     s as (
       insert into escalation_steps (incident_id, level, repeat, due_at)
       select i.id, $22, $23, i.opened_at + $24 * interval '1 second' from i where $22::int is not null)
     select i.*, null::text as client_slug, null::uuid as instance_id, array(select id from n) as sends from i`,
      [
        o.id,
        ...clientLookup(o.client),
        o.clientId,
        o.instance,
        o.service,
        o.severity,
        o.groupKey,
        o.title,
        o.summary,
        o.configVersion,
        JSON.stringify(o.alerts),
        JSON.stringify(o.events.map((e, ord) => ({ ...e, ord }))),
        ...entryValues(o.audit),
        JSON.stringify(o.pages),
        o.next?.level ?? null,
        o.next?.repeat ?? null,
        o.next?.offsetSeconds ?? null,
        JSON.stringify(
          o.alerts
            .filter((a) => a.status === 'firing')
            .map((a) => ({ fingerprint: a.fingerprint, startsAt: a.startsAt })),
        ),
        ...callerValues(o.audit),
        o.failureBeganAt,
        o.class,
        o.urgency,
      ],
    ),
  );
  return rows[0];
}

/**
 * The group's open incident, locked; when there is none, also the firing alerts whose very occurrence
 * (fingerprint and start) already resolved, in this group or in a delivery that found no incident
 * (`incidents_resolved_before`, a migration): a late duplicate from another Alertmanager must not reopen what is over. One round trip.
 */
export async function lockOpenOrResolved(
  db: Queryable,
  groupKey: string,
  firing: AlertRow[],
): Promise<{ incident: DbIncident | undefined; over: Set<string>; configVersion: string }> {
  const { rows } = await db.query<
    DbIncident & { over_fingerprints: string[] | null; paging_config_version: string }
  >(
    prepared(
      'incidents.lockOpenOrResolved',
      `with o as (
       select i.*, null::text as client_slug, null::uuid as instance_id from incidents i
       where group_key = $1 and status <> 'resolved' for update)
     select o.*, case when o.id is null and $2::jsonb <> '[]'::jsonb
         then incidents_resolved_before($1, $2::jsonb) end as over_fingerprints,
       (select v from paging_config_version) as paging_config_version
     from (select 1) one left join o on true`,
      [groupKey, JSON.stringify(firing.map((a) => ({ fingerprint: a.fingerprint, startsAt: a.startsAt })))],
    ),
  );
  const { over_fingerprints: over, paging_config_version: configVersion, ...row } = rows[0]!;
  return { incident: row.id ? (row as DbIncident) : undefined, over: new Set(over ?? []), configVersion };
}

/** How long a resolution delivered without an incident is remembered (see alert_resolutions). */
const RESOLUTIONS_KEPT = '7 days';

/**
 * Remembers resolved occurrences a delivery brought for a group with no incident, and forgets expired ones,
 * at most twice as many as it records (plus 100), so the table stays bounded without a job.
 */
export async function recordResolutions(db: Queryable, alerts: AlertRow[]): Promise<void> {
  const resolved = alerts
    .filter((a) => a.status === 'resolved')
    .map((a) => ({ fingerprint: a.fingerprint, startsAt: a.startsAt }));
  if (resolved.length === 0) return;
  await db.query(
    prepared(
      'incidents.recordResolutions',
      `with gone as (
       delete from alert_resolutions where (fingerprint, starts_at) in (
         select fingerprint, starts_at from alert_resolutions
         where recorded_at < now() - interval '${RESOLUTIONS_KEPT}' order by recorded_at limit $2))
     insert into alert_resolutions (fingerprint, starts_at)
     select x.fingerprint, x."startsAt" from jsonb_to_recordset($1::jsonb) as x(fingerprint text, "startsAt" timestamptz)
     on conflict do nothing`,
      [JSON.stringify(resolved), 2 * resolved.length + 100],
    ),
  );
}

export async function insert(db: Queryable, n: NewIncident): Promise<string> {
  const { rows } = await db.query<{ id: string }>(`${INSERT} returning id`, values(n));
  return rows[0]!.id;
}

export async function lockOpenByGroup(db: Queryable, groupKey: string): Promise<DbIncident | undefined> {
  const { rows } = await db.query<DbIncident>(
    prepared(
      'incidents.lockOpenByGroup',
      `select i.*, null::text as client_slug, null::uuid as instance_id from incidents i
     where group_key = $1 and status <> 'resolved' for update`,
      [groupKey],
    ),
  );
  return rows[0];
}

/** By id or code (INC-000123); `forUpdate` locks the row for the rest of the transaction. */
export async function find(
  db: Queryable,
  idOrCode: string,
  forUpdate = false,
): Promise<DbIncident | undefined> {
  const col = UUID.test(idOrCode) ? 'i.id' : 'i.code';
  const { rows } = await db.query<DbIncident>(
    `${SELECT} where ${col} = $1${forUpdate ? ' for update of i' : ''}`,
    [idOrCode],
  );
  return rows[0];
}

export interface ListFilter {
  clientId: string | null;
  instance: string | null;
  status: string | null;
  severity: string | null;
  from: string | null;
  to: string | null;
  limit: number;
  /** Whether drills' incidents are listed (staff asking for incidents) or left out (clients, reports). */
  drills: boolean;
}

const LIST_WHERE = `where ($1::uuid is null or i.client_id = $1)
       and ($2::text is null or ins.slug = $2 or ins.id::text = $2)
       and ($3::text is null or i.status = $3) and ($4::text is null or i.severity = $4)
       and ($5::timestamptz is null or i.opened_at >= $5) and ($6::timestamptz is null or i.opened_at < $6)
       and ($8 or i.drill_id is null)
     order by i.opened_at desc limit $7`;
const listValues = (f: ListFilter) => [
  f.clientId,
  f.instance,
  f.status,
  f.severity,
  f.from,
  f.to,
  f.limit,
  f.drills,
];

export async function list(db: Queryable, f: ListFilter): Promise<DbIncident[]> {
  const { rows } = await db.query<DbIncident>(`${SELECT} ${LIST_WHERE}`, listValues(f));
  return rows;
}

/**
 * `list`, and the id of the newest timeline event, in one statement: one round trip instead of two for the
 * console's list page, and one snapshot, so a live list that goes on from that id misses nothing the page lacks.
 * The left join keeps the event id when no incident matches.
 */
export async function listWithLastEvent(
  db: Queryable,
  f: ListFilter,
): Promise<{ rows: DbIncident[]; lastEventId: number }> {
  const { rows } = await db.query<DbIncident & { last_event_id: string | null }>(
    `select e.last_event_id, l.*
     from (select max(id)::text as last_event_id from incident_events) e
     left join (${SELECT} ${LIST_WHERE}) l on true`,
    listValues(f),
  );
  const lastEventId = Number(rows[0]?.last_event_id ?? 0);
  return {
    lastEventId,
    rows: rows.filter((r) => r.id !== null).map(({ last_event_id: _, ...r }) => r),
  };
}

/**
 * Inserts or moves an alert forward. A resolved alert goes back to firing only for a later occurrence
 * (startsAt), so replays and out-of-order duplicates change nothing. Returns the new status when it changed.
 */
export async function upsertAlert(db: Queryable, incidentId: string, a: AlertRow) {
  const { rows } = await db.query<{ status: string; inserted: boolean }>(
    `insert into incident_alerts as t (incident_id, fingerprint, status, alertname, labels, annotations,
       starts_at, ends_at) values ($1, $2, $3, $4, $5, $6, $7, $8)
     on conflict (incident_id, fingerprint) do update
       set status = excluded.status, labels = excluded.labels, annotations = excluded.annotations,
           starts_at = excluded.starts_at, ends_at = excluded.ends_at, updated_at = now()
       where excluded.starts_at > t.starts_at or (t.status = 'firing' and excluded.status = 'resolved')
     returning status, (xmax = 0) as inserted`,
    [
      incidentId,
      a.fingerprint,
      a.status,
      a.alertname,
      JSON.stringify(a.labels),
      JSON.stringify(a.annotations),
      a.startsAt,
      a.endsAt,
    ],
  );
  return rows[0];
}

/** The same as upsertAlert for many alerts in one statement (fingerprints must be unique in `alerts`). */
export async function upsertAlerts(db: Queryable, incidentId: string, alerts: AlertRow[]) {
  const { rows } = await db.query<{
    fingerprint: string;
    alertname: string | null;
    status: string;
    inserted: boolean;
  }>(
    prepared(
      'incidents.upsertAlerts',
      `insert into incident_alerts as t (incident_id, fingerprint, status, alertname, labels, annotations,
       starts_at, ends_at)
     select $1, x.fingerprint, x.status, x.alertname, x.labels, x.annotations, x."startsAt", x."endsAt"
     from jsonb_to_recordset($2::jsonb) as x(fingerprint text, status text, alertname text, labels jsonb,
       annotations jsonb, "startsAt" timestamptz, "endsAt" timestamptz)
     on conflict (incident_id, fingerprint) do update
       set status = excluded.status, labels = excluded.labels, annotations = excluded.annotations,
           starts_at = excluded.starts_at, ends_at = excluded.ends_at, updated_at = now()
       where excluded.starts_at > t.starts_at or (t.status = 'firing' and excluded.status = 'resolved')
     returning fingerprint, alertname, status, (xmax = 0) as inserted`,
      [incidentId, JSON.stringify(alerts)],
    ),
  );
  return rows;
}

/**
 * Timeline events of one incident, and with them (when given) the audit record of the change staged in the
 * same statement: a webhook's alert updates cost one round trip, not two.
 */
export async function insertEvents(
  db: Queryable,
  incidentId: string,
  actor: string,
  events: { kind: string; detail: object; internal: boolean }[],
  audit?: AuditEntry,
): Promise<void> {
  const insert = `insert into incident_events (incident_id, kind, actor, detail, internal)
     select $1, x.kind, $2, x.detail, x.internal
     from jsonb_to_recordset($3::jsonb) as x(kind text, detail jsonb, internal boolean)`;
  const values = [incidentId, actor, JSON.stringify(events)];
  await db.query(
    audit
      ? prepared('incidents.insertEventsAudited', `with e as (${insert}) ${stageSql(4)}`, [
          ...values,
          ...entryValues(audit),
          ...callerValues(audit),
        ])
      : prepared('incidents.insertEvents', insert, values),
  );
}

export async function countEvents(db: Queryable, incidentId: string, kind: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `select count(*)::int as n from incident_events where incident_id = $1 and kind = $2`,
    [incidentId, kind],
  );
  return rows[0]!.n;
}

export async function countFiring(db: Queryable, incidentId: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `select count(*)::int as n from incident_alerts where incident_id = $1 and status = 'firing'`,
    [incidentId],
  );
  return rows[0]!.n;
}

export async function acknowledge(db: Queryable, id: string, by: string): Promise<void> {
  await db.query(
    `update incidents set status = 'acknowledged', acknowledged_at = now(), acknowledged_by = $2,
       updated_at = now() where id = $1`,
    [id, by],
  );
}

export async function resolve(db: Queryable, id: string, by: string): Promise<void> {
  await db.query(
    `update incidents set status = 'resolved', resolved_at = now(), resolved_by = $2, updated_at = now()
     where id = $1`,
    [id, by],
  );
}

export async function raiseSeverity(db: Queryable, id: string, severity: Severity): Promise<void> {
  await db.query(`update incidents set severity = $2, updated_at = now() where id = $1`, [id, severity]);
}

export async function setClass(db: Queryable, id: string, cls: IncidentClass): Promise<void> {
  await db.query(`update incidents set class = $2, updated_at = now() where id = $1`, [id, cls]);
}

/** Sets the public summary only when it says something else; true when it changed. */
export async function changePublicSummary(db: Queryable, id: string, text: string): Promise<boolean> {
  const { rowCount } = await db.query(
    `update incidents set public_summary = $2, updated_at = now()
     where id = $1 and public_summary is distinct from $2`,
    [id, text],
  );
  return (rowCount ?? 0) > 0;
}

export async function setPublicSummary(db: Queryable, id: string, text: string): Promise<void> {
  await db.query(`update incidents set public_summary = $2, updated_at = now() where id = $1`, [id, text]);
}

export async function insertEvent(
  db: Queryable,
  e: { incidentId: string; kind: string; actor: string; detail: object; internal: boolean },
): Promise<void> {
  await db.query(
    prepared(
      'incidents.insertEvent',
      `insert into incident_events (incident_id, kind, actor, detail, internal) values ($1, $2, $3, $4, $5)`,
      [e.incidentId, e.kind, e.actor, JSON.stringify(e.detail), e.internal],
    ),
  );
}

export async function listEvents(
  db: Queryable,
  incidentId: string,
  withInternal: boolean,
): Promise<DbEvent[]> {
  const { rows } = await db.query<DbEvent>(
    `select id, at, kind, actor, detail, internal from incident_events
     where incident_id = $1 and ($2 or not internal) order by id`,
    [incidentId, withInternal],
  );
  return rows;
}

/** Open (unresolved) incidents by client slug and severity, for the /metrics gauge; drills never count. */
export async function openCounts(db: Queryable) {
  const { rows } = await db.query<{ client: string | null; severity: string; n: number }>(
    `select c.slug as client, i.severity, count(*)::int as n from incidents i
     left join clients c on c.id = i.client_id
     where i.status <> 'resolved' and i.drill_id is null group by 1, 2`,
  );
  return rows;
}

/**
 * Open incidents (drills left out) past their targets now, by class ('none' without one) and severity: `ack`
 * not yet acknowledged, `resolve` not yet resolved. `targets` is targets.ts `targetTable`, one row per pair.
 */
export async function pastTargets(db: Queryable, targets: object[], breachAlert: string) {
  const { rows } = await db.query<{ class: string; severity: Severity; ack: number; resolve: number }>(
    `with t as (select * from jsonb_to_recordset($1::jsonb)
                  as t(severity text, class text, ack_seconds int, resolve_seconds int))
     select coalesce(i.class, 'none') as class, i.severity,
            count(*) filter (where i.status = 'open'
                               and now() > i.opened_at + make_interval(secs => t.ack_seconds))::int as ack,
            count(*) filter (where now() > i.opened_at + make_interval(secs => t.resolve_seconds))::int as resolve
       from incidents i join t on t.severity = i.severity and t.class is not distinct from i.class
      where i.status <> 'resolved' and i.drill_id is null
        -- an incident opened for the breach alert itself would keep that alert firing after the real one is handled
        and not exists (select 1 from incident_alerts a where a.incident_id = i.id and a.alertname = $2)
      group by 1, 2`,
    [JSON.stringify(targets), breachAlert],
  );
  return rows;
}

export async function touchHeartbeat(db: Queryable, name: string): Promise<void> {
  await db.query(
    `insert into heartbeats (name, last_at) values ($1, now())
     on conflict (name) do update set last_at = now()`,
    [name],
  );
}

/** Seconds since the heartbeat last arrived (by the database clock); null if it never has. */
export async function heartbeatAge(db: Queryable, name: string): Promise<number | null> {
  const { rows } = await db.query<{ age: number }>(
    `select extract(epoch from now() - last_at)::float8 as age from heartbeats where name = $1`,
    [name],
  );
  return rows[0]?.age ?? null;
}

/** When the open incident of a group first stored each of these alerts (repair.ts keeps a replaced start stable). */
export async function alertStarts(db: Queryable, groupKey: string, fingerprints: string[]) {
  const { rows } = await db.query<{ fingerprint: string; starts_at: Date }>(
    `select a.fingerprint, a.starts_at from incidents i join incident_alerts a on a.incident_id = i.id
     where i.group_key = $1 and i.status <> 'resolved' and a.fingerprint = any($2::text[])`,
    [groupKey, fingerprints],
  );
  return new Map(rows.map((r) => [r.fingerprint, r.starts_at]));
}

/**
 * Incidents with timeline events after event `afterId` (at most `limit` events looked at), and the newest
 * event id seen: the console's live list follows the timeline, which every change writes to.
 */
export async function changedSince(
  db: Queryable,
  afterId: number,
  limit: number,
): Promise<{ last: number; ids: string[] }> {
  const { rows } = await db.query<{ last: string | null; ids: string[] | null }>(
    `select max(id)::text as last, array_agg(distinct incident_id::text) as ids
     from (select id, incident_id from incident_events where id > $1 order by id limit $2) e`,
    [afterId, limit],
  );
  return { last: rows[0]?.last ? Number(rows[0].last) : afterId, ids: rows[0]?.ids ?? [] };
}

export async function lastEventId(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ last: string | null }>(
    'select max(id)::text as last from incident_events',
  );
  return Number(rows[0]?.last ?? 0);
}
