-- Up Migration

-- The source addresses each token has been used from, one row per (token, address) written once, on its first
-- use from there: a token seen from an address it never used before is flagged (token.new_source in the audit
-- log, concierge_ops_token_new_source_total). Addresses live here, never in metric labels.
create table token_sources (
  token_id uuid not null references api_tokens (id) on delete cascade,
  ip text not null,
  first_seen timestamptz not null default now(),
  primary key (token_id, ip)
);

-- The periodic verification of the audit chain and its checkpoints (the audit-verify job): its newest result is
-- the concierge_ops_audit_verify_ok metric on every replica, and failures of the last day are in the morning mail.
create table audit_verifications (
  id bigint generated always as identity primary key,
  at timestamptz not null default now(),
  ok boolean not null,
  rows bigint not null,
  first_broken jsonb
);
create index audit_verifications_at on audit_verifications (at);

-- Down Migration
drop table audit_verifications;
drop table token_sources;
