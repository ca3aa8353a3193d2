-- Up Migration

-- How each client's monthly report goes out; a client without a row: 08:00 local on the 1st, no review.
create table report_settings (
  client_id uuid primary key references clients (id),
  send_at time not null default '08:00',
  review_before_send boolean not null default false,
  updated_at timestamptz not null default now()
);

-- Every stored report version. Version 1 is the monthly one; a correction is a new version with a reason.
-- Once sent a row never changes (trigger below): what the client received stays provable by its SHA-256.
create table reports (
  id uuid primary key default gen_random_uuid(),
  client_id uuid not null references clients (id),
  month text not null check (month ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),
  version int not null check (version >= 1),
  status text not null check (status in ('pending_review', 'sent')),
  reason text,
  -- the exact bytes served: JSON as text (jsonb would reorder it), the HTML body, the PDF attachment
  json text not null,
  html text not null,
  pdf bytea not null,
  -- hex SHA-256 of the PDF as attached to the mail
  sha256 text not null check (sha256 ~ '^[0-9a-f]{64}$'),
  created_by text not null,
  created_at timestamptz not null default now(),
  approved_by text,
  sent_at timestamptz,
  unique (client_id, month, version),
  check ((version = 1) = (reason is null)),
  check ((status = 'sent') = (sent_at is not null))
);
create index reports_client_month_idx on reports (client_id, month desc, version desc);

create function reports_immutable() returns trigger language plpgsql as $$
begin
  if old.status = 'sent' then
    raise exception 'report % version % was sent and is immutable: issue a correction', old.month, old.version
      using errcode = '42501';
  end if;
  return case when tg_op = 'DELETE' then old else new end;
end $$;
create trigger reports_immutable before update or delete on reports
  for each row execute function reports_immutable();

-- One row per (report, contact): a send job delivers it once; attempts and the SMTP message id are kept.
create table report_deliveries (
  report_id uuid not null references reports (id),
  contact text not null,
  status text not null default 'queued' check (status in ('queued', 'sent', 'failed')),
  attempts int not null default 0,
  message_id text,
  last_error text,
  sends int not null default 1,
  updated_at timestamptz not null default now(),
  primary key (report_id, contact)
);

-- Down Migration
drop table report_deliveries;
drop trigger reports_immutable on reports;
drop function reports_immutable;
drop table reports;
drop table report_settings;
