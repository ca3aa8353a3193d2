-- Up Migration

-- Monthly audit reports, per provider (client_id null) and per client. Every generation is a new version;
-- a stored version never changes (trigger below), so what an auditor received stays provable by its SHA-256.
create table audit_reports (
  id uuid primary key default gen_random_uuid(),
  -- 'provider' or the client's id: one key for the unique constraint (a null client_id would never conflict)
  scope text not null,
  client_id uuid references clients (id),
  month text not null check (month ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),
  version int not null check (version >= 1),
  -- the exact bytes served: JSON as text (jsonb would reorder it) and the PDF attachment
  json text not null,
  pdf bytea not null,
  -- hex SHA-256 of the JSON text and of the PDF
  sha256 text not null check (sha256 ~ '^[0-9a-f]{64}$'),
  pdf_sha256 text not null check (pdf_sha256 ~ '^[0-9a-f]{64}$'),
  created_by text not null,
  created_at timestamptz not null default now(),
  unique (scope, month, version),
  check ((scope = 'provider') = (client_id is null)),
  check (client_id is null or scope = client_id::text)
);
create index audit_reports_scope_month_idx on audit_reports (scope, month desc, version desc);

create function audit_reports_immutable() returns trigger language plpgsql as $$
begin
  raise exception 'audit report % version % is immutable: generate a new version', old.month, old.version
    using errcode = '42501';
end $$;
create trigger audit_reports_immutable before update or delete on audit_reports
  for each row execute function audit_reports_immutable();

-- One row per (report, compliance contact): the send job mails it once; a retry after a send does not repeat it.
create table audit_report_deliveries (
  report_id uuid not null references audit_reports (id),
  contact text not null,
  status text not null default 'queued' check (status in ('queued', 'sent', 'failed')),
  attempts int not null default 0,
  message_id text,
  last_error text,
  updated_at timestamptz not null default now(),
  primary key (report_id, contact)
);

-- Down Migration
drop table audit_report_deliveries;
drop trigger audit_reports_immutable on audit_reports;
drop function audit_reports_immutable;
drop table audit_reports;
