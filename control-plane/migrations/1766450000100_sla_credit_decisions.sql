-- Up Migration

-- An operator's decision on the credit of a client's month that had too little measured time for one to follow
-- automatically (SLA_MIN_MEASURED_SHARE). One per client and month; a new decision replaces it, and the audit
-- log keeps each one with its reason.
create table sla_credit_decisions (
  client_id uuid not null references clients (id),
  month text not null check (month ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),
  credit_percent numeric(5, 2) not null check (credit_percent between 0 and 100),
  reason text not null,
  decided_by text not null,
  decided_at timestamptz not null default now(),
  primary key (client_id, month)
);

-- Down Migration
drop table sla_credit_decisions;
