-- Up Migration

-- A one-time message for the page a form redirects to (POST-redirect-GET), such as a new API token's secret:
-- sealed with AES-256-GCM under a key that only the browser holds (a short-lived HttpOnly cookie), so this table
-- never holds a readable secret, and taken (deleted) by the first page that shows it. Per session and name; a
-- row lives two minutes at most and goes with its session.
create table console_flashes (
  session_hash bytea not null references console_sessions (id_hash) on delete cascade,
  name text not null check (length(name) <= 32),
  sealed bytea not null check (length(sealed) <= 8192),
  expires_at timestamptz not null,
  primary key (session_hash, name)
);
create index console_flashes_expires_idx on console_flashes (expires_at);

-- Down Migration
drop table console_flashes;
