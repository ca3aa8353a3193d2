-- Up Migration

create extension if not exists btree_gist;

-- Every transition the prober reported, kept once: its id is the prober's idempotency key, so a retried
-- request finds its transitions here and changes nothing.
create table availability_transitions (
  id uuid primary key,
  prober text not null,
  instance_id uuid not null references instances (id),
  service text not null,
  state text not null check (state in ('up', 'down', 'degraded')),
  at timestamptz not null,
  reason text not null default '',
  received_at timestamptz not null default now()
);

-- Down and degraded time per instance and service. Up is the absence of an interval. An open interval (the
-- current state) has an infinite upper bound. No service field references services: those are replaced as a
-- whole on an instance update, and history must outlive them.
create table availability_intervals (
  id bigint generated always as identity primary key,
  instance_id uuid not null references instances (id),
  service text not null,
  state text not null check (state in ('down', 'degraded')),
  during tstzrange not null check (not isempty(during) and lower_inc(during) and not upper_inc(during)),
  source text not null check (source in ('prober', 'operator', 'alert')),
  reason text not null default '',
  -- the transition that opened it (prober intervals only)
  transition_id uuid unique references availability_transitions (id),
  created_at timestamptz not null default now(),
  exclude using gist (instance_id with =, service with =, during with &&)
);
create index availability_intervals_open_idx on availability_intervals (instance_id, service)
  where upper_inf(during);

-- When a prober was alive: each request of a prober extends its current stretch by the grace period. Time
-- covered by no prober's stretch is "unknown" in the SLA.
create table prober_coverage (
  id bigint generated always as identity primary key,
  prober text not null,
  during tstzrange not null check (not isempty(during))
);
create index prober_coverage_during_idx on prober_coverage using gist (during);
create index prober_coverage_prober_idx on prober_coverage (prober, upper(during) desc);

-- A one-off window is [starts_at, ends_at). A recurring one repeats inside [starts_at, ends_at or forever),
-- its occurrences expanded in the client's time zone by the control plane (luxon), never stored.
create table maintenance_windows (
  id uuid primary key default gen_random_uuid(),
  client_id uuid not null references clients (id),
  instance_id uuid references instances (id),
  starts_at timestamptz not null,
  ends_at timestamptz,
  recurrence jsonb,
  reason text not null,
  alertmanager_silence_id text,
  -- end of the occurrence the current silence covers: a new occurrence needs a new silence
  silence_ends_at timestamptz,
  created_by text not null,
  created_at timestamptz not null default now(),
  deleted_at timestamptz,
  check (recurrence is not null or (ends_at is not null and ends_at > starts_at))
);
create index maintenance_windows_client_idx on maintenance_windows (client_id) where deleted_at is null;

alter table clients add column sla_services text[];

-- Length of a multirange in seconds; only ever called on ranges already clipped to a finite period.
create function multirange_seconds(m tstzmultirange) returns double precision language sql immutable as $$
  select coalesce(sum(extract(epoch from upper(r) - lower(r))), 0)::double precision from unnest(m) r
$$;

-- Down Migration
drop function multirange_seconds;
alter table clients drop column sla_services;
drop table maintenance_windows;
drop table prober_coverage;
drop table availability_intervals;
drop table availability_transitions;
