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
-- control plane with workers has run).
do $$
begin
  if to_regclass('graphile_worker.jobs') is not null then
    insert into escalation_steps (incident_id, level, repeat, due_at)
      select (payload ->> 'incidentId')::uuid, (payload ->> 'level')::int, (payload ->> 'repeat')::int, run_at
      from graphile_worker.jobs j
      where task_identifier = 'escalate'
        and exists (select 1 from incidents i where i.id = (j.payload ->> 'incidentId')::uuid)
      on conflict do nothing;
    perform graphile_worker.complete_jobs(array(select id from graphile_worker.jobs where task_identifier = 'escalate'));
  end if;
end $$;

-- Down Migration
drop table escalation_steps;
