-- Up Migration

-- On-call rotations: ordered members take shifts of a day or a week, handed over at a local time in the
-- rotation's time zone (DST-correct: shifts start at that wall-clock time, so one a year is an hour shorter and
-- one an hour longer). Members are responder ids in order; the schedule is computed, not stored.
create table rotations (
  id uuid primary key default gen_random_uuid(),
  name text not null unique,
  time_zone text not null,
  handoff text not null check (handoff in ('daily', 'weekly')),
  handoff_time text not null check (handoff_time ~ '^([01][0-9]|2[0-3]):[0-5][0-9]$'),
  -- the local date of the first shift (weekly: its weekday is the hand-off day)
  start_date date not null,
  members uuid[] not null check (cardinality(members) between 1 and 100),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

-- Overrides: someone else is on call for a period; the most recently created one wins where they overlap.
create table rotation_overrides (
  id uuid primary key default gen_random_uuid(),
  rotation_id uuid not null references rotations (id) on delete cascade,
  responder_id uuid not null references responders (id),
  starts_at timestamptz not null,
  ends_at timestamptz not null,
  reason text,
  created_by text not null,
  created_at timestamptz not null default now(),
  check (ends_at > starts_at)
);
create index rotation_overrides_rotation_idx on rotation_overrides (rotation_id, ends_at);

-- Escalation levels may target rotations (whoever is on call when the step runs) and apply only in given
-- hours: `hours` is {timeZone, days: ["MO".."SU"], start: "HH:MM", end: "HH:MM"}; outside them the level pages
-- by `off_hours_channels` (by severity), or is skipped when that is null. A policy with `hours` is chosen
-- only inside them.
alter table escalation_levels
  add column target_rotations uuid[] not null default '{}',
  add column hours jsonb,
  add column off_hours_channels jsonb;
alter table escalation_policies add column hours jsonb;
-- Repeats of the whole ladder after its last level: null repeats until someone acknowledges or resolves.
alter table escalation_policies alter column repeat_count drop not null;

-- Incident codes past INC-999999: lpad() cut them to six digits (INC-1000000 became INC-100000, a duplicate,
-- and every new incident after it failed). Six digits at least, more when the number needs them.
create function incident_code() returns text language sql as $$
  select 'INC-' || case when n < 1000000 then lpad(n::text, 6, '0') else n::text end
  from nextval('incident_code_seq') as n
$$;
alter table incidents alter column code set default incident_code();

create trigger rotations_version after insert or update or delete or truncate on rotations
  for each statement execute function paging_config_changed();
create trigger rotation_overrides_version after insert or update or delete or truncate on rotation_overrides
  for each statement execute function paging_config_changed();

-- Down Migration
alter table incidents alter column code set default 'INC-' || lpad(nextval('incident_code_seq')::text, 6, '0');
drop function incident_code();
drop trigger rotation_overrides_version on rotation_overrides;
drop trigger rotations_version on rotations;
update escalation_policies set repeat_count = 100 where repeat_count is null;
alter table escalation_policies alter column repeat_count set not null;
alter table escalation_policies drop column hours;
alter table escalation_levels drop column off_hours_channels, drop column hours, drop column target_rotations;
drop table rotation_overrides;
drop table rotations;
