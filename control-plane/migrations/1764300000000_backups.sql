-- Up Migration

-- One row per backup run as the agent reports it. The agent's own run id is the idempotency key: agents
-- retry after timeouts, so the same report may arrive twice and must land once.
create table backup_runs (
  id uuid primary key default gen_random_uuid(),
  instance_id uuid not null references instances (id),
  run_id text not null check (length(run_id) between 1 and 200),
  tool text not null check (tool in ('pg_dump', 'pgbackrest', 'restic', 'config')),
  kind text not null check (kind in ('full', 'incremental', 'wal', 'configuration')),
  started_at timestamptz not null,
  finished_at timestamptz,
  status text not null check (status in ('success', 'failed', 'running')),
  size_bytes bigint check (size_bytes >= 0),
  checksum text,
  location text,
  error text,
  -- null: not verified yet; false: the checksum or archive check failed
  verified boolean,
  verified_at timestamptz,
  -- WAL segments reported as a run carry the recoverable range they cover (PITR window)
  wal_start timestamptz,
  wal_end timestamptz,
  -- canonical JSON of the report: a repeat with the same id compares against it (200 vs 409)
  report jsonb not null,
  reported_by text not null,
  received_at timestamptz not null default now(),
  unique (instance_id, run_id),
  check (finished_at is null or finished_at >= started_at),
  check ((status = 'running') = (finished_at is null)),
  check (wal_end is null or wal_start <= wal_end)
);
-- status and compliance read the newest runs of an instance first
create index backup_runs_instance_time_idx on backup_runs (instance_id, started_at desc);

create table backup_restore_tests (
  id uuid primary key default gen_random_uuid(),
  instance_id uuid not null references instances (id),
  test_id text not null check (length(test_id) between 1 and 200),
  -- the run whose archive was restored, when the agent knows it
  backup_run_id text,
  started_at timestamptz not null,
  finished_at timestamptz not null,
  success boolean not null,
  duration_seconds double precision not null check (duration_seconds >= 0),
  detail text,
  report jsonb not null,
  reported_by text not null,
  received_at timestamptz not null default now(),
  unique (instance_id, test_id),
  check (finished_at >= started_at)
);
create index backup_restore_tests_instance_time_idx on backup_restore_tests (instance_id, started_at desc);

-- Per-client retention policy; a client without a row gets the defaults below (the provider's promise).
create table backup_policies (
  client_id uuid primary key references clients (id),
  keep_daily int not null default 7 check (keep_daily between 0 and 366),
  keep_weekly int not null default 4 check (keep_weekly between 0 and 260),
  keep_monthly int not null default 12 check (keep_monthly between 0 and 120),
  max_full_age_hours int not null default 26 check (max_full_age_hours between 1 and 8760),
  restore_test_max_age_days int not null default 7 check (restore_test_max_age_days between 1 and 366),
  updated_at timestamptz not null default now()
);

-- Down Migration
drop table backup_policies;
drop table backup_restore_tests;
drop table backup_runs;
