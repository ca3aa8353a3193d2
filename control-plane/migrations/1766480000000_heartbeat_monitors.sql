-- Up Migration

-- Heartbeat (push) monitors: a job that should report in (a nightly export, the backup agent) calls its push
-- URL at least every interval_seconds; grace_seconds more and it is missing. Only the token's hash is kept.
-- Nothing here counts toward any SLA: a missing heartbeat is an alert, never downtime.
create table heartbeat_monitors (
  id uuid primary key default gen_random_uuid(),
  instance_id uuid not null references instances (id),
  name text not null check (name ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
  interval_seconds integer not null check (interval_seconds between 60 and 604800),
  grace_seconds integer not null check (grace_seconds between 0 and 86400),
  severity text not null check (severity in ('critical', 'warning')),
  token_hash bytea not null unique,
  token_prefix text not null,
  last_push_at timestamptz,
  last_status text check (last_status in ('up', 'down')),
  created_by text not null,
  created_at timestamptz not null default now(),
  unique (instance_id, name)
);

-- Down Migration
drop table heartbeat_monitors;
