import type { Queryable } from '../db/pool.ts';

/** A month of the audit log in one scope: [from, to), and a client's id and slug (null: the provider, everything). */
export interface ReportScope {
  from: Date;
  to: Date;
  client: { id: string; slug: string } | null;
}

/**
 * The scope filter every query below shares: a client's report holds the records made with its tokens
 * (client_id) or about it (a client target), as the export's `client` filter (by id or slug); never another client's.
 */
const IN_SCOPE = `at >= $1 and at < $2 and ($3::text[] is null or client_id = any($3::text[])
  or (target_type = 'client' and target_id = any($3::text[])))`;
// A read names its client as asked, by id or slug; a slug is never a UUID, so neither matches another client.
const args = (s: ReportScope) => [s.from, s.to, s.client ? [s.client.id, s.client.slug] : null];

/** Changes of configuration an auditor asks about: tokens, responders, policies, rotations, maintenance, reports. */
export const CHANGE_ACTIONS = [
  'token.create',
  'token.revoke',
  'token.bootstrap',
  'responder.create',
  'responder.update',
  'escalation_policy.create',
  'escalation_policy.replace',
  'escalation_policy.delete',
  'rotation.create',
  'rotation.update',
  'rotation.delete',
  'rotation.override',
  'rotation.override_delete',
  'maintenance.create',
  'maintenance.delete',
  'report_settings.update',
  'report.edit_summaries',
  'report.approve',
  'report.correct',
  'report.resend',
  'client.create',
  'client.update',
  'client.decommission',
  'instance.create',
  'instance.update',
  'instance.decommission',
  'backup_policy.update',
  'availability.correct',
  'faro_key.update',
  'faro_key.revoke',
  'audit.report',
];

/** Reads of client data and of the audit log itself (docs/audit.md "Who read what"). */
export const READ_ACTIONS = [
  'report.list',
  'report.read',
  'sla.read',
  'responder.list',
  'audit.read',
  'token.list',
];

/** Flagged as suspicious access (docs/audit.md "Suspicious access"); admin tokens created are token.create. */
/** Listed records per section at most; the section's count says how many there were. */
const LIST_MAX = 500;

export interface DbAccessGroup {
  actor: string;
  token_id: string | null;
  token_name: string | null;
  role: string | null;
  records: number;
  reads: number;
  changes: number;
}

/** Records of the month by actor and role: what each caller did, how much of it read and changed. */
export async function accessByActor(db: Queryable, s: ReportScope): Promise<DbAccessGroup[]> {
  const { rows } = await db.query<DbAccessGroup>(
    `select actor, token_id, token_name, role, count(*)::int as records,
       (count(*) filter (where action = any($4::text[])))::int as reads,
       (count(*) filter (where action = any($5::text[])))::int as changes
     from audit_log where ${IN_SCOPE}
     group by actor, token_id, token_name, role order by records desc, actor limit ${LIST_MAX}`,
    [...args(s), READ_ACTIONS, CHANGE_ACTIONS],
  );
  return rows;
}

export interface DbActionCount {
  action: string;
  role: string | null;
  n: number;
}

export async function countsByAction(db: Queryable, s: ReportScope): Promise<DbActionCount[]> {
  const { rows } = await db.query<DbActionCount>(
    `select action, role, count(*)::int as n from audit_log where ${IN_SCOPE}
     group by action, role order by action, role limit ${LIST_MAX}`,
    args(s),
  );
  return rows;
}

export interface DbReportRecord {
  seq: number;
  at: Date;
  actor: string;
  action: string;
  target_type: string;
  target_id: string | null;
  token_name: string | null;
  role: string | null;
  client_id: string | null;
  ip: string | null;
  after: unknown;
}

/** The month's records with one of `actions` (or admin tokens created, when `adminTokens`), oldest first. */
export async function records(
  db: Queryable,
  s: ReportScope,
  actions: string[],
  adminTokens = false,
): Promise<{ count: number; items: DbReportRecord[] }> {
  const where = `${IN_SCOPE} and (action = any($4::text[])
    or ($5::boolean and action = 'token.create' and after->>'role' = 'admin'))`;
  const [count, list] = await Promise.all([
    db.query<{ n: number }>(`select count(*)::int as n from audit_log where ${where}`, [
      ...args(s),
      actions,
      adminTokens,
    ]),
    db.query<DbReportRecord>(
      `select seq, at, actor, action, target_type, target_id, token_name, role, client_id, ip, after
       from audit_log where ${where} order by seq limit ${LIST_MAX}`,
      [...args(s), actions, adminTokens],
    ),
  ]);
  return { count: count.rows[0]!.n, items: list.rows };
}

/** The month's newest record in the whole chain (what a checkpoint must cover), whatever the scope. */
export async function lastSeqBefore(db: Queryable, to: Date): Promise<number | null> {
  const { rows } = await db.query<{ seq: string | null }>(
    `select max(seq)::bigint as seq from audit_log where at < $1`,
    [to],
  );
  return rows[0]!.seq === null ? null : Number(rows[0]!.seq);
}

export interface DbMonthVerification {
  at: Date;
  ok: boolean;
  rows: string;
  first_broken: unknown;
}

/** The periodic verify job's runs in the month: the newest, and how many failed. */
export async function verifications(
  db: Queryable,
  s: ReportScope,
): Promise<{ runs: number; failed: number; newest: DbMonthVerification | undefined }> {
  const { rows } = await db.query<{ runs: number; failed: number; newest: DbMonthVerification | null }>(
    `select count(*)::int as runs, (count(*) filter (where not ok))::int as failed,
       (select row_to_json(v) from (select at, ok, rows, first_broken from audit_verifications
          where at >= $1 and at < $2 order by id desc limit 1) v) as newest
     from audit_verifications where at >= $1 and at < $2`,
    [s.from, s.to],
  );
  const r = rows[0]!;
  return {
    runs: r.runs,
    failed: r.failed,
    newest: r.newest ? { ...r.newest, at: new Date(r.newest.at) } : undefined,
  };
}

export interface DbAuditReport {
  id: string;
  scope: string;
  client_id: string | null;
  month: string;
  version: number;
  json: string;
  pdf: Buffer;
  sha256: string;
  pdf_sha256: string;
  created_by: string;
  created_at: Date;
}
export type DbAuditReportMeta = Omit<DbAuditReport, 'json' | 'pdf'>;
const META = 'id, scope, client_id, month, version, sha256, pdf_sha256, created_by, created_at';

/**
 * Stores the next version of a scope's month (1 when none), or with `onlyFirst` version 1 only. Undefined when
 * that version exists already (another replica, or the monthly job twice): PostgreSQL decides, never JavaScript.
 */
export async function insert(
  db: Queryable,
  r: Omit<DbAuditReport, 'id' | 'created_at' | 'version'>,
  onlyFirst: boolean,
): Promise<DbAuditReportMeta | undefined> {
  const { rows } = await db.query<DbAuditReportMeta>(
    `insert into audit_reports (scope, client_id, month, version, json, pdf, sha256, pdf_sha256, created_by)
     select $1, $2, $3, case when $9 then 1 else coalesce(max(version), 0) + 1 end, $4, $5, $6, $7, $8
       from audit_reports where scope = $1 and month = $3
     on conflict (scope, month, version) do nothing returning ${META}`,
    [r.scope, r.client_id, r.month, r.json, r.pdf, r.sha256, r.pdf_sha256, r.created_by, onlyFirst],
  );
  return rows[0];
}

export async function list(db: Queryable, scope: string | null): Promise<DbAuditReportMeta[]> {
  const { rows } = await db.query<DbAuditReportMeta>(
    `select ${META} from audit_reports where ($1::text is null or scope = $1)
     order by month desc, scope, version desc limit 1000`,
    [scope],
  );
  return rows;
}

export async function find(db: Queryable, id: string): Promise<DbAuditReport | undefined> {
  const { rows } = await db.query<DbAuditReport>(`select * from audit_reports where id = $1`, [id]);
  return rows[0];
}

/** Of these scopes, those with a stored report of `month`: the monthly job skips them. */
export async function stored(db: Queryable, month: string, scopes: string[]): Promise<Set<string>> {
  const { rows } = await db.query<{ scope: string }>(
    `select distinct scope from audit_reports where month = $1 and scope = any($2::text[])`,
    [month, scopes],
  );
  return new Set(rows.map((r) => r.scope));
}

/** Queues one delivery per contact; returns the contacts newly queued. */
export async function queueDeliveries(db: Queryable, reportId: string, contacts: readonly string[]) {
  const { rows } = await db.query<{ contact: string }>(
    `insert into audit_report_deliveries (report_id, contact) select $1, unnest($2::text[])
     on conflict do nothing returning contact`,
    [reportId, contacts],
  );
  return rows.map((r) => r.contact);
}

/** Claims an unsent delivery (locked until the caller's transaction ends); undefined when sent or taken. */
export async function claimDelivery(db: Queryable, reportId: string, contact: string) {
  const { rows } = await db.query<{ attempts: number }>(
    `select attempts from audit_report_deliveries where report_id = $1 and contact = $2 and status <> 'sent'
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
  const sent = 'messageId' in outcome;
  await db.query(
    `update audit_report_deliveries set attempts = attempts + 1, updated_at = now(),
       status = case when $3 then 'sent' when $6 then 'failed' else status end,
       message_id = $4, last_error = $5 where report_id = $1 and contact = $2`,
    [
      reportId,
      contact,
      sent,
      sent ? outcome.messageId : null,
      sent ? null : outcome.error.slice(0, 2000),
      !sent && outcome.final,
    ],
  );
}

export async function deliveries(db: Queryable, reportIds: string[]) {
  const { rows } = await db.query<{ report_id: string; contact: string; status: string; attempts: number }>(
    `select report_id, contact, status, attempts from audit_report_deliveries
     where report_id = any($1::uuid[]) order by contact`,
    [reportIds],
  );
  return rows;
}
