-- Up Migration

-- History brought along from an earlier monitoring system: its down and degraded intervals are kept with the
-- others (source 'history'), so that the SLA, the reports and operator corrections treat them alike.
alter table availability_intervals drop constraint availability_intervals_source_check;
alter table availability_intervals add constraint availability_intervals_source_check
  check (source in ('prober', 'operator', 'alert', 'history'));

-- The periods an earlier system watched one instance: measured time in the SLA, like prober coverage but per
-- instance. Stretches never overlap, so importing the same history twice adds nothing.
create table availability_history_coverage (
  id bigint generated always as identity primary key,
  instance_id uuid not null references instances (id),
  source text not null,
  during tstzrange not null
    check (not isempty(during) and lower_inc(during) and not upper_inc(during) and not upper_inf(during)),
  imported_at timestamptz not null default now(),
  exclude using gist (instance_id with =, during with &&)
);

-- Down Migration
drop table availability_history_coverage;
delete from availability_intervals where source = 'history';
alter table availability_intervals drop constraint availability_intervals_source_check;
alter table availability_intervals add constraint availability_intervals_source_check
  check (source in ('prober', 'operator', 'alert'));
