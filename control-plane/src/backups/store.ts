import type { Queryable } from '../db/pool.ts';

export interface DbBackupRun {
  id: string;
  instance_id: string;
  run_id: string;
  tool: string;
  kind: string;
  started_at: Date;
  finished_at: Date | null;
  status: 'success' | 'failed' | 'running';
  size_bytes: number | null;
  checksum: string | null;
  location: string | null;
  error: string | null;
  verified: boolean | null;
  verified_at: Date | null;
  wal_start: Date | null;
  wal_end: Date | null;
  report: unknown;
  reported_by: string;
  received_at: Date;
}

export interface DbRestoreTest {
  id: string;
  instance_id: string;
  test_id: string;
  backup_run_id: string | null;
  started_at: Date;
  finished_at: Date;
  success: boolean;
  duration_seconds: number;
  detail: string | null;
  report: unknown;
  reported_by: string;
  received_at: Date;
}

export interface DbPolicy {
  keep_daily: number;
  keep_weekly: number;
  keep_monthly: number;
  max_full_age_hours: number;
  restore_test_max_age_days: number;
}

export type NewRun = Omit<DbBackupRun, 'id' | 'received_at'>;
export type NewRestoreTest = Omit<DbRestoreTest, 'id' | 'received_at'>;

/** Inserts unless (instance, run id) exists; undefined means a run with that id was already there. */
export async function insertRun(db: Queryable, r: NewRun): Promise<DbBackupRun | undefined> {
  // on conflict do nothing: two replicas receiving the same retried report race safely; one row lands.
  const { rows } = await db.query<DbBackupRun>(
    `insert into backup_runs (instance_id, run_id, tool, kind, started_at, finished_at, status, size_bytes,
       checksum, location, error, verified, verified_at, wal_start, wal_end, report, reported_by)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
     on conflict (instance_id, run_id) do nothing returning *`,
    [
      r.instance_id,
      r.run_id,
      r.tool,
      r.kind,
      r.started_at,
      r.finished_at,
      r.status,
      r.size_bytes,
      r.checksum,
      r.location,
      r.error,
      r.verified,
      r.verified_at,
      r.wal_start,
      r.wal_end,
      JSON.stringify(r.report),
      r.reported_by,
    ],
  );
  return rows[0];
}

export async function findRun(db: Queryable, instanceId: string, runId: string) {
  const { rows } = await db.query<DbBackupRun>(
    'select * from backup_runs where instance_id = $1 and run_id = $2',
    [instanceId, runId],
  );
  return rows[0];
}

export async function insertRestoreTest(
  db: Queryable,
  t: NewRestoreTest,
): Promise<DbRestoreTest | undefined> {
  const { rows } = await db.query<DbRestoreTest>(
    `insert into backup_restore_tests (instance_id, test_id, backup_run_id, started_at, finished_at, success,
       duration_seconds, detail, report, reported_by)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
     on conflict (instance_id, test_id) do nothing returning *`,
    [
      t.instance_id,
      t.test_id,
      t.backup_run_id,
      t.started_at,
      t.finished_at,
      t.success,
      t.duration_seconds,
      t.detail,
      JSON.stringify(t.report),
      t.reported_by,
    ],
  );
  return rows[0];
}

export async function findRestoreTest(db: Queryable, instanceId: string, testId: string) {
  const { rows } = await db.query<DbRestoreTest>(
    'select * from backup_restore_tests where instance_id = $1 and test_id = $2',
    [instanceId, testId],
  );
  return rows[0];
}

export async function listRuns(db: Queryable, instanceId: string, limit: number): Promise<DbBackupRun[]> {
  const { rows } = await db.query<DbBackupRun>(
    'select * from backup_runs where instance_id = $1 order by started_at desc, run_id limit $2',
    [instanceId, limit],
  );
  return rows;
}

export async function listRestoreTests(db: Queryable, instanceId: string, limit: number) {
  const { rows } = await db.query<DbRestoreTest>(
    'select * from backup_restore_tests where instance_id = $1 order by started_at desc limit $2',
    [instanceId, limit],
  );
  return rows;
}

/** Every run of these instances started since `since`, oldest first: the input of status and retention. */
export async function runsSince(db: Queryable, instanceIds: string[], since: Date): Promise<DbBackupRun[]> {
  const { rows } = await db.query<DbBackupRun>(
    `select * from backup_runs where instance_id = any($1::uuid[]) and started_at >= $2
     order by started_at, run_id`,
    [instanceIds, since],
  );
  return rows;
}

/** The newest successful run of each instance, however old (the window of runsSince may not hold it). */
export async function newestSuccess(db: Queryable, instanceIds: string[]): Promise<DbBackupRun[]> {
  const { rows } = await db.query<DbBackupRun>(
    `select distinct on (instance_id) * from backup_runs
     where instance_id = any($1::uuid[]) and status = 'success' and kind <> 'wal'
     order by instance_id, finished_at desc`,
    [instanceIds],
  );
  return rows;
}

export async function latestRestoreTests(db: Queryable, instanceIds: string[]): Promise<DbRestoreTest[]> {
  const { rows } = await db.query<DbRestoreTest>(
    `select distinct on (instance_id) * from backup_restore_tests
     where instance_id = any($1::uuid[]) order by instance_id, started_at desc`,
    [instanceIds],
  );
  return rows;
}

export async function findPolicy(db: Queryable, clientId: string): Promise<DbPolicy | undefined> {
  const { rows } = await db.query<DbPolicy>('select * from backup_policies where client_id = $1', [clientId]);
  return rows[0];
}

export async function upsertPolicy(db: Queryable, clientId: string, p: DbPolicy): Promise<DbPolicy> {
  const { rows } = await db.query<DbPolicy>(
    `insert into backup_policies (client_id, keep_daily, keep_weekly, keep_monthly, max_full_age_hours,
       restore_test_max_age_days)
     values ($1, $2, $3, $4, $5, $6)
     on conflict (client_id) do update set keep_daily = excluded.keep_daily, keep_weekly = excluded.keep_weekly,
       keep_monthly = excluded.keep_monthly, max_full_age_hours = excluded.max_full_age_hours,
       restore_test_max_age_days = excluded.restore_test_max_age_days, updated_at = now()
     returning *`,
    [
      clientId,
      p.keep_daily,
      p.keep_weekly,
      p.keep_monthly,
      p.max_full_age_hours,
      p.restore_test_max_age_days,
    ],
  );
  return rows[0]!;
}

/** Runs of the instances that started in [from, to), oldest first (a report's month of evidence). */
export async function runsBetween(db: Queryable, instanceIds: string[], from: Date, to: Date) {
  const { rows } = await db.query<DbBackupRun>(
    `select * from backup_runs where instance_id = any($1::uuid[]) and started_at >= $2 and started_at < $3
     order by started_at, run_id`,
    [instanceIds, from, to],
  );
  return rows;
}

/** Each instance's newest restore test that finished before `to`. */
export async function latestRestoreTestsBefore(db: Queryable, instanceIds: string[], to: Date) {
  const { rows } = await db.query<DbRestoreTest>(
    `select distinct on (instance_id) * from backup_restore_tests
     where instance_id = any($1::uuid[]) and finished_at < $2 order by instance_id, started_at desc`,
    [instanceIds, to],
  );
  return rows;
}

/** Each instance's first run ever: backups imported from before registration still count. */
export async function firstRuns(db: Queryable, instanceIds: string[]) {
  const { rows } = await db.query<{ instance_id: string; first: Date }>(
    `select instance_id, min(started_at) as first from backup_runs where instance_id = any($1::uuid[])
     group by 1`,
    [instanceIds],
  );
  return rows;
}
