import assert from 'node:assert/strict';
import { runMigrations } from 'graphile-worker';
import { runner } from 'node-pg-migrate';
import pg from 'pg';
import { MIGRATIONS_DIR, migrate } from '../../control-plane/src/db/migrate.ts';
import { createTestDatabase, dropTestDatabase } from '../helpers/db.ts';

/** The migrations before escalation steps left graphile-worker's jobs (1764700000000_escalation_steps). */
const BEFORE_STEPS = 7;

describe('upgrading to escalation_steps', () => {
  let url: string;
  let pool: pg.Pool;
  before(async () => {
    url = await createTestDatabase(null);
    pool = new pg.Pool({ connectionString: url, max: 2 });
  });
  after(async () => {
    await pool?.end();
    if (url) await dropTestDatabase(url);
  });

  it('moves steps waiting as graphile-worker jobs into escalation_steps, due when they were', async () => {
    const applied = await runner({
      databaseUrl: url,
      dir: MIGRATIONS_DIR,
      direction: 'up',
      migrationsTable: 'pgmigrations',
      count: BEFORE_STEPS,
      checkOrder: true,
      log: () => {},
    });
    assert.equal(applied.at(-1)!.name, '1764600000000_paging_perf');
    await runMigrations({ pgPool: pool, logger: undefined });
    const { rows } = await pool.query<{ id: string }>(
      `insert into incidents (severity, source, title, group_key)
       values ('critical', 'alertmanager', 'BackendDown', 'g-upgrade') returning id`,
    );
    const id = rows[0]!.id;
    // As the earlier version scheduled level 2: a job keyed by the step, due in five minutes.
    await pool.query(
      `select graphile_worker.add_job('escalate', json_build_object('incidentId', $1::text, 'level', 2, 'repeat', 0),
         run_at := '2026-11-25T12:05:00Z', job_key := 'escalate:' || $1 || ':2:0', job_key_mode := 'preserve_run_at')`,
      [id],
    );
    // A step of an incident that no longer exists ends; a job keyed otherwise stays a job (the escalate
    // task still runs those); other tasks' jobs are not touched.
    await pool.query(
      `select graphile_worker.add_job('escalate', '{}'::json, job_key := 'escalate:' || gen_random_uuid() || ':3:0')`,
    );
    await pool.query(
      `select graphile_worker.add_job('escalate', json_build_object('incidentId', $1::text, 'level', 4, 'repeat', 0),
         job_key := 'hand-made')`,
      [id],
    );
    await pool.query(`select graphile_worker.add_job('send', json_build_object('notificationId', 'n1'))`);

    assert.deepEqual(await migrate(url), [
      '1764700000000_escalation_steps',
      '1764800000000_audit_pending',
      '1764900000000_instance_lifetime',
      '1765000000000_incidents_group_key_index',
      '1765100000000_paging_config_version',
      '1765200000000_notification_unknown',
      '1765300000000_oncall_rotations',
      '1765800000010_alert_resolutions',
    ]);
    const steps = await pool.query(
      `select incident_id, level, repeat, due_at, attempts from escalation_steps order by level`,
    );
    assert.deepEqual(steps.rows, [
      { incident_id: id, level: 2, repeat: 0, due_at: new Date('2026-11-25T12:05:00Z'), attempts: 0 },
    ]);
    const jobs = await pool.query(`select task_identifier, key from graphile_worker.jobs order by 1`);
    assert.deepEqual(
      jobs.rows.map((r: { task_identifier: string; key: string | null }) => [r.task_identifier, r.key]),
      [
        ['escalate', 'hand-made'],
        ['send', null],
      ],
    );
  });
});
