-- Up Migration

-- Codes are what people read aloud and type into an SMS reply: short, sequential, never reused.
create sequence incident_code_seq;

create table escalation_policies (
  id uuid primary key default gen_random_uuid(),
  name text not null unique,
  is_default boolean not null default false,
  -- optional selectors: a policy applies to a client and/or severities; the default catches the rest
  client_id uuid references clients (id),
  severities text[],
  -- how often the whole ladder runs again after the last level (0 = once)
  repeat_count int not null default 0 check (repeat_count between 0 and 100),
  repeat_interval_seconds int not null default 300 check (repeat_interval_seconds > 0),
  auto_resolve boolean not null default true,
  created_at timestamptz not null default now()
);
create unique index escalation_policies_one_default on escalation_policies (is_default) where is_default;

create table escalation_levels (
  policy_id uuid not null references escalation_policies (id) on delete cascade,
  level int not null check (level >= 1),
  delay_seconds int not null check (delay_seconds >= 0),
  -- targets: responder roles (so a rota change needs no policy edit) and/or named responders
  target_roles text[] not null default '{}',
  target_responders uuid[] not null default '{}',
  channels jsonb not null default
    '{"critical": ["sms", "voice", "email"], "warning": ["sms", "email"], "info": ["email"]}',
  primary key (policy_id, level)
);

create table responders (
  id uuid primary key default gen_random_uuid(),
  name text not null,
  role text not null,
  -- contact details: used only to send; never in metrics, logs or audit payloads
  phone text,
  email text,
  active boolean not null default true,
  created_at timestamptz not null default now()
);
create index responders_role_idx on responders (role) where active;
create unique index responders_phone_idx on responders (phone) where phone is not null and active;

create table incidents (
  id uuid primary key default gen_random_uuid(),
  code text not null unique default 'INC-' || lpad(nextval('incident_code_seq')::text, 6, '0'),
  client_id uuid references clients (id),
  -- the alert named a client we do not know: kept and paged, never dropped
  unassigned boolean not null default false,
  instance text,
  service text,
  severity text not null check (severity in ('critical', 'warning', 'info')),
  status text not null default 'open' check (status in ('open', 'acknowledged', 'resolved')),
  group_key text,
  source text not null check (source in ('alertmanager', 'manual', 'deadman')),
  title text not null,
  summary text not null default '',
  public_summary text,
  policy_id uuid references escalation_policies (id),
  auto_resolve boolean not null default true,
  opened_at timestamptz not null default now(),
  acknowledged_at timestamptz,
  acknowledged_by text,
  resolved_at timestamptz,
  resolved_by text,
  updated_at timestamptz not null default now()
);
-- One open (not yet resolved) incident per Alertmanager group: concurrent webhooks from HA Alertmanagers
-- meet here and PostgreSQL decides which one opens it.
create unique index incidents_open_group_key on incidents (group_key)
  where status <> 'resolved' and group_key is not null;
create index incidents_client_opened_idx on incidents (client_id, opened_at desc);
create index incidents_opened_idx on incidents (opened_at desc);

create table incident_alerts (
  incident_id uuid not null references incidents (id) on delete cascade,
  fingerprint text not null,
  status text not null check (status in ('firing', 'resolved')),
  alertname text,
  labels jsonb not null,
  annotations jsonb not null,
  starts_at timestamptz not null,
  ends_at timestamptz,
  updated_at timestamptz not null default now(),
  primary key (incident_id, fingerprint)
);
create index incident_alerts_fingerprint_idx on incident_alerts (fingerprint, starts_at);

create table incident_events (
  id bigserial primary key,
  incident_id uuid not null references incidents (id) on delete cascade,
  at timestamptz not null default now(),
  kind text not null,
  actor text not null,
  detail jsonb not null default '{}',
  -- internal events (pages, staff notes) are hidden from client tokens
  internal boolean not null default true
);
create index incident_events_incident_idx on incident_events (incident_id, id);

-- The outbox: one row per page to send. The idempotency key makes a second escalation run a no-op.
create table notifications (
  id uuid primary key default gen_random_uuid(),
  incident_id uuid not null references incidents (id) on delete cascade,
  level int not null,
  repeat int not null default 0,
  responder_id uuid not null references responders (id),
  channel text not null check (channel in ('sms', 'voice', 'email')),
  idempotency_key text not null unique,
  fallback_of uuid references notifications (id),
  status text not null default 'queued'
    check (status in ('queued', 'sending', 'sent', 'delivered', 'failed', 'fallback', 'cancelled')),
  provider_id text,
  attempts int not null default 0,
  last_error text,
  ack_link_used_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index notifications_incident_idx on notifications (incident_id);
create index notifications_provider_idx on notifications (provider_id) where provider_id is not null;

create table notification_attempts (
  id bigserial primary key,
  notification_id uuid not null references notifications (id) on delete cascade,
  attempt int not null,
  at timestamptz not null default now(),
  outcome text not null check (outcome in ('sent', 'failed', 'callback')),
  provider_status text,
  error text,
  duration_ms int
);
create index notification_attempts_notification_idx on notification_attempts (notification_id);

-- Last arrival of each heartbeat (Alertmanager's Watchdog) for the dead man's switch.
create table heartbeats (
  name text primary key,
  last_at timestamptz not null
);

-- The provider's path: on-call engineer now, DevOps lead after 5 minutes, security lead after 10, CTO after 15.
insert into escalation_policies (name, is_default) values ('default', true);
insert into escalation_levels (policy_id, level, delay_seconds, target_roles)
select p.id, l.level, l.delay, array[l.role]
from escalation_policies p,
  (values (1, 0, 'oncall-engineer'), (2, 300, 'devops-lead'), (3, 600, 'security-lead'), (4, 900, 'cto'))
    as l(level, delay, role)
where p.is_default;

-- Down Migration
drop table heartbeats;
drop table notification_attempts;
drop table notifications;
drop table incident_events;
drop table incident_alerts;
drop table incidents;
drop table responders;
drop table escalation_levels;
drop table escalation_policies;
drop sequence incident_code_seq;
