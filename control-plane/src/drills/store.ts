import type { Queryable } from '../db/pool.ts';

export type Kind = 'instance' | 'policy' | 'rotation';
export type Severity = 'critical' | 'warning' | 'info';

export interface DbDrill {
  id: string;
  kind: Kind;
  instance_id: string | null;
  client_id: string | null;
  policy_id: string | null;
  rotation_id: string | null;
  target_name: string;
  severity: Severity;
  via: 'alertmanager' | 'direct' | 'escalation';
  schedule_id: string | null;
  started_by: string;
  started_at: Date;
  error: string | null;
}

export interface DbSchedule {
  id: string;
  name: string;
  kind: Kind;
  instance_id: string | null;
  policy_id: string | null;
  rotation_id: string | null;
  target_name: string;
  severity: Severity;
  every_unit: 'day' | 'week' | 'month';
  every_count: number;
  next_run_at: Date;
  created_by: string;
}

/** A resolved target: the id of the instance (with its client), policy or rotation, and its name. */
export interface Target {
  kind: Kind;
  instanceId: string | null;
  clientId: string | null;
  policyId: string | null;
  rotationId: string | null;
  name: string;
  severity: Severity;
}

export async function insertDrill(
  db: Queryable,
  t: Target,
  d: { via: DbDrill['via']; scheduleId: string | null; startedBy: string },
): Promise<DbDrill> {
  const { rows } = await db.query<DbDrill>(
    `insert into drills (kind, instance_id, client_id, policy_id, rotation_id, target_name, severity, via,
       schedule_id, started_by)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) returning *`,
    [
      t.kind,
      t.instanceId,
      t.clientId,
      t.policyId,
      t.rotationId,
      t.name,
      t.severity,
      d.via,
      d.scheduleId,
      d.startedBy,
    ],
  );
  return rows[0]!;
}

export async function setError(db: Queryable, id: string, error: string): Promise<void> {
  await db.query(`update drills set error = $2 where id = $1`, [id, error.slice(0, 500)]);
}

export async function find(db: Queryable, id: string): Promise<DbDrill | undefined> {
  const { rows } = await db.query<DbDrill>(`select * from drills where id = $1`, [id]);
  return rows[0];
}

/** Newest first, `limit` rows started before `before` (keyset paging on the started_at index). */
export async function list(db: Queryable, f: { before: string | null; since: string | null; limit: number }) {
  const { rows } = await db.query<DbDrill>(
    `select * from drills where ($1::timestamptz is null or started_at < $1)
       and ($2::timestamptz is null or started_at >= $2)
     order by started_at desc, id desc limit $3`,
    [f.before, f.since, f.limit],
  );
  return rows;
}

export async function insertSchedule(
  db: Queryable,
  t: Target,
  s: { name: string; every: DbSchedule['every_unit']; count: number; firstRunAt: string; createdBy: string },
): Promise<DbSchedule | undefined> {
  const { rows } = await db.query<DbSchedule>(
    `insert into drill_schedules (name, kind, instance_id, policy_id, rotation_id, target_name, severity,
       every_unit, every_count, next_run_at, created_by)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) on conflict (name) do nothing returning *`,
    [
      s.name,
      t.kind,
      t.instanceId,
      t.policyId,
      t.rotationId,
      t.name,
      t.severity,
      s.every,
      s.count,
      s.firstRunAt,
      s.createdBy,
    ],
  );
  return rows[0];
}

export async function listSchedules(db: Queryable, limit: number): Promise<DbSchedule[]> {
  const { rows } = await db.query<DbSchedule>(
    `select * from drill_schedules order by next_run_at, id limit $1`,
    [limit],
  );
  return rows;
}

export async function deleteSchedule(db: Queryable, id: string): Promise<DbSchedule | undefined> {
  const { rows } = await db.query<DbSchedule>(`delete from drill_schedules where id = $1 returning *`, [id]);
  return rows[0];
}

/**
 * Takes the schedules due now and moves each to its next run, in one statement: replicas ticking together
 * each take different rows (skip locked), so a schedule runs once. A run missed while nothing ticked is not
 * caught up: the next run is the first one after now.
 */
export async function claimDue(db: Queryable, limit: number): Promise<DbSchedule[]> {
  const { rows } = await db.query<DbSchedule>(
    `with due as (select id, next_run_at, case every_unit when 'day' then make_interval(days => every_count)
         when 'week' then make_interval(weeks => every_count)
         else make_interval(months => every_count) end as step
       from drill_schedules where next_run_at <= now() order by next_run_at limit $1 for update skip locked),
     -- whole steps past now (a month counts 30 days here; the case below adds the one a short month leaves)
     k as (select id, step, floor(extract(epoch from now() - next_run_at) / extract(epoch from step)) + 1 as n,
       next_run_at from due)
     update drill_schedules s set next_run_at = k.next_run_at + (k.n + case
         when k.next_run_at + k.n * k.step <= now() then 1 else 0 end) * k.step
     from k where s.id = k.id
     returning s.*`,
    [limit],
  );
  return rows;
}
