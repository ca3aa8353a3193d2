import type { Queryable } from '../db/pool.ts';

export interface AddJob {
  task: string;
  payload: object;
  /** A job with the same key is not added twice while it waits (graphile-worker's job_key). */
  jobKey: string;
  runAt?: Date;
  /** 'preserve_run_at' keeps the first schedule when the same step is added again (a replayed webhook). */
  mode?: 'replace' | 'preserve_run_at';
  maxAttempts?: number;
}

/** Adds a graphile-worker job inside the caller's transaction: it exists exactly when the change commits. */
export async function addJob(db: Queryable, j: AddJob): Promise<void> {
  await db.query(
    `select graphile_worker.add_job($1, $2::json, run_at := coalesce($3::timestamptz, now()), job_key := $4,
       job_key_mode := $5, max_attempts := $6)`,
    [j.task, JSON.stringify(j.payload), j.runAt ?? null, j.jobKey, j.mode ?? 'replace', j.maxAttempts ?? 25],
  );
}

/** Unlocks the jobs of workers that are gone (their process lives on, so graphile's own reset would wait 4 h). */
export async function forceUnlockWorkers(db: Queryable, workerIds: string[]): Promise<void> {
  if (workerIds.length > 0)
    await db.query('select graphile_worker.force_unlock_workers($1::text[])', [workerIds]);
}

/** Seconds the oldest runnable job or escalation step has waited past its due time: the queue's lag. */
export async function queueLagSeconds(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ lag: number }>(
    `select greatest(0, extract(epoch from now() - least(
       (select min(run_at) from graphile_worker.jobs
        where locked_at is null and run_at <= now() and attempts < max_attempts),
       (select min(due_at) from escalation_steps where due_at <= now()))))::float8 as lag`,
  );
  return rows[0]?.lag ?? 0;
}
