-- Up Migration

-- The escalation steps still to come, one row per (incident, level, repeat), due at due_at. They used to be a
-- graphile-worker job each; graphile_worker.add_job costs about a millisecond of the database's CPU inside
-- the webhook's transaction, an insert here a tenth of that. Every control plane with workers takes due rows
-- (for update skip locked), runs the step and deletes the row in one transaction, so a step still runs once,
-- after a restart too. A failing step stays here, tried again later (attempts, last_error).
create table escalation_steps (
  incident_id uuid not null references incidents (id) on delete cascade,
  level int not null,
  repeat int not null,
  due_at timestamptz not null,
  attempts int not null default 0,
  last_error text,
  primary key (incident_id, level, repeat)
);
create index escalation_steps_due_idx on escalation_steps (due_at);

-- Steps already waiting as graphile-worker jobs move here (graphile_worker's schema exists only once a
-- control plane with workers has run). The jobs were keyed `escalate:<incident>:<level>:<repeat>`; one with
-- another key stays a job (the `escalate` task still runs such jobs), one whose incident is gone just ends.
do $$
begin
  if to_regclass('graphile_worker.jobs') is not null then
    create temporary table escalate_jobs on commit drop as
      select id, run_at, (regexp_match(key, '^escalate:([0-9a-f-]{36}):(\d+):(\d+)$')) as k
      from graphile_worker.jobs
      where task_identifier = 'escalate' and key ~ '^escalate:[0-9a-f-]{36}:\d+:\d+$';
    insert into escalation_steps (incident_id, level, repeat, due_at)
      select k[1]::uuid, k[2]::int, k[3]::int, run_at from escalate_jobs j
      where exists (select 1 from incidents i where i.id = j.k[1]::uuid)
      on conflict do nothing;
    perform graphile_worker.complete_jobs(array(select id from escalate_jobs));
  end if;
end $$;

-- Down Migration
drop table escalation_steps;
