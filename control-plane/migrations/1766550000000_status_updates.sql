-- Up Migration

-- A client's status contacts: the clinic's people told by e-mail (and SMS, when they gave a number) of incidents
-- affecting it and of maintenance ahead. `position` orders the client's list; a contact taken off the list after
-- it unsubscribed keeps its row with a null position, so that putting the address back does not subscribe it
-- again behind its back. The unsubscribe token is the link's unguessable secret (32 random bytes).
create table client_status_contacts (
  id uuid primary key default gen_random_uuid(),
  client_id uuid not null references clients (id) on delete cascade,
  position int,
  email text not null,
  name text,
  sms text,
  unsubscribe_token text not null unique,
  unsubscribed_at timestamptz,
  created_at timestamptz not null default now()
);
create unique index client_status_contacts_email_idx on client_status_contacts (client_id, lower(email));

-- The clinics' outbox: one row per (update, contact, channel), keyed for idempotency, so that a replayed
-- webhook, a second replica or a second reminder tick adds nothing; `content` is what the clinic is told,
-- fixed when the update was made (public text only). A `status-update` job sends each row and retries it.
create table status_updates (
  id uuid primary key default gen_random_uuid(),
  client_id uuid not null references clients (id) on delete cascade,
  contact_id uuid references client_status_contacts (id) on delete set null,
  recipient text not null,
  channel text not null check (channel in ('email', 'sms')),
  kind text not null check (kind in ('opened', 'updated', 'resolved', 'maintenance')),
  incident_id uuid references incidents (id) on delete cascade,
  maintenance_window_id uuid references maintenance_windows (id) on delete cascade,
  content jsonb not null,
  idempotency_key text not null unique,
  status text not null default 'queued'
    check (status in ('queued', 'sending', 'sent', 'failed', 'unknown', 'cancelled')),
  attempts int not null default 0,
  provider_id text,
  last_error text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index status_updates_incident_idx on status_updates (incident_id) where incident_id is not null;
create index status_updates_sending_idx on status_updates (updated_at) where status = 'sending';

-- Down Migration
drop table status_updates;
drop table client_status_contacts;
