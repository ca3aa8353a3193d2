-- Up Migration

create extension if not exists pgcrypto;

create table clients (
  id uuid primary key default gen_random_uuid(),
  slug text not null unique check (slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
  name text not null check (length(name) between 1 and 200),
  time_zone text not null,
  sla_target numeric(7, 6) not null default 0.999 check (sla_target > 0 and sla_target <= 1),
  report_contacts text[] not null default '{}',
  status text not null default 'active' check (status in ('active', 'decommissioned')),
  decommissioned_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create table instances (
  id uuid primary key default gen_random_uuid(),
  client_id uuid not null references clients (id),
  slug text not null unique check (slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
  environment text not null check (environment ~ '^[a-z0-9][a-z0-9-]{0,31}$'),
  base_url text not null,
  -- the concierge runtime's Prometheus pull endpoint (OpenTelemetry exporter), when it has one
  metrics_url text,
  labels jsonb not null default '{}',
  status text not null default 'active' check (status in ('active', 'decommissioned')),
  decommissioned_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index instances_client_idx on instances (client_id);

create table services (
  id uuid primary key default gen_random_uuid(),
  instance_id uuid not null references instances (id) on delete cascade,
  name text not null check (name ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
  kind text not null check (kind in ('backend', 'database', 'frontend', 'proxy', 'dependency')),
  probe jsonb not null,
  position int not null,
  unique (instance_id, name)
);

create table api_tokens (
  id uuid primary key default gen_random_uuid(),
  name text not null,
  role text not null check (role in ('admin', 'operator', 'client', 'alertmanager', 'prober', 'backup-agent')),
  client_id uuid references clients (id),
  -- sha256 of the token: tokens are 256 random bits, so a fast hash is enough and lookups stay indexed.
  token_hash bytea not null unique,
  prefix text not null,
  created_at timestamptz not null default now(),
  last_used_at timestamptz,
  revoked_at timestamptz,
  check ((role = 'client') = (client_id is not null) or role = 'backup-agent')
);

-- The audit log: append-only, hash-chained. The trigger assigns seq and the hash under one advisory lock,
-- so the chain order is the commit order even with several replicas writing at once.
create table audit_log (
  seq bigint primary key,
  at timestamptz not null default now(),
  actor text not null,
  action text not null,
  target_type text not null,
  target_id text,
  before jsonb,
  after jsonb,
  request_id text,
  prev_hash bytea not null,
  hash bytea not null
);
create sequence audit_log_seq;

create function audit_log_canonical(r audit_log) returns bytea language sql immutable as $$
  select convert_to(jsonb_build_object(
    'seq', r.seq,
    'at', to_char(r.at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
    'actor', r.actor, 'action', r.action, 'targetType', r.target_type, 'targetId', r.target_id,
    'before', r.before, 'after', r.after, 'requestId', r.request_id)::text, 'UTF8')
$$;

create function audit_log_chain() returns trigger language plpgsql as $$
declare
  last_hash bytea;
begin
  perform pg_advisory_xact_lock(7216400001);
  select hash into last_hash from audit_log order by seq desc limit 1;
  new.seq := nextval('audit_log_seq');
  new.prev_hash := coalesce(last_hash, '\x'::bytea);
  new.hash := sha256(new.prev_hash || audit_log_canonical(new));
  return new;
end $$;

create trigger audit_log_chain before insert on audit_log for each row execute function audit_log_chain();

create function audit_log_refuse() returns trigger language plpgsql as $$
begin
  raise exception 'audit_log is append-only: % refused', tg_op using errcode = '42501';
end $$;

create trigger audit_log_no_update before update or delete on audit_log
  for each row execute function audit_log_refuse();
create trigger audit_log_no_truncate before truncate on audit_log
  for each statement execute function audit_log_refuse();

-- Down Migration
drop table audit_log;
drop sequence audit_log_seq;
drop function audit_log_refuse;
drop function audit_log_chain;
drop function audit_log_canonical;
drop table api_tokens;
drop table services;
drop table instances;
drop table clients;
