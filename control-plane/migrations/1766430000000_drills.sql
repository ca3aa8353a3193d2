-- Up Migration

-- Failure drills: a synthetic failure that travels the real paging path (an instance's alert, or an escalation
-- policy or rotation paged at once). What happened to it is read from its incident and that incident's pages,
-- so a drill keeps no copy of their state here.
create table drill_schedules (
  id uuid primary key default gen_random_uuid(),
  name text not null unique,
  kind text not null check (kind in ('instance', 'policy', 'rotation')),
  instance_id uuid references instances (id) on delete cascade,
  policy_id uuid references escalation_policies (id) on delete cascade,
  rotation_id uuid references rotations (id) on delete cascade,
  -- the target's slug or name when the schedule was made: drills never read another domain's tables
  target_name text not null,
  severity text not null check (severity in ('critical', 'warning', 'info')),
  every_unit text not null check (every_unit in ('day', 'week', 'month')),
  every_count int not null check (every_count between 1 and 366),
  next_run_at timestamptz not null,
  created_by text not null,
  created_at timestamptz not null default now(),
  check ((kind = 'instance') = (instance_id is not null) and (kind = 'policy') = (policy_id is not null)
    and (kind = 'rotation') = (rotation_id is not null))
);
-- The scheduler's tick claims due rows (for update skip locked), so this index is all it reads.
create index drill_schedules_due_idx on drill_schedules (next_run_at);

create table drills (
  id uuid primary key default gen_random_uuid(),
  kind text not null check (kind in ('instance', 'policy', 'rotation')),
  instance_id uuid references instances (id) on delete set null,
  client_id uuid references clients (id),
  policy_id uuid references escalation_policies (id) on delete set null,
  rotation_id uuid references rotations (id) on delete set null,
  -- the target's slug or name when the drill started (it stays readable after a rename or deletion)
  target_name text not null,
  severity text not null check (severity in ('critical', 'warning', 'info')),
  -- how the synthetic alert travelled: through Alertmanager, or straight into the webhook's handling
  via text not null check (via in ('alertmanager', 'direct', 'escalation')),
  schedule_id uuid references drill_schedules (id) on delete set null,
  started_by text not null,
  started_at timestamptz not null default now(),
  -- why the drill could not be started (Alertmanager refused the alert): the drill stays listed with it
  error text
);
create index drills_started_idx on drills (started_at desc, id desc);

-- A drill's incident: never a client's (reports, SLA, client tokens leave it out), one per drill.
alter table incidents add column drill_id uuid references drills (id);
create unique index incidents_drill_idx on incidents (drill_id) where drill_id is not null;
alter table incidents drop constraint incidents_source_check;
alter table incidents add constraint incidents_source_check
  check (source in ('alertmanager', 'manual', 'deadman', 'drill'));

-- Down Migration
alter table incidents drop constraint incidents_source_check;
delete from incidents where source = 'drill';
alter table incidents add constraint incidents_source_check
  check (source in ('alertmanager', 'manual', 'deadman'));
drop index incidents_drill_idx;
alter table incidents drop column drill_id;
drop table drills;
drop table drill_schedules;
