-- Up Migration

-- Faro app keys: the credential a client instance's web pages put in their collect URL
-- (POST /api/v1/faro/collect/{appKey}). Random opaque keys, stored as a SHA-256 hash like API tokens: the key
-- is public once a page ships it, but the table is then no list of every instance's write key.
create table faro_app_keys (
  id uuid primary key default gen_random_uuid(),
  instance_id uuid not null references instances (id),
  key_hash bytea not null unique,
  prefix text not null,
  -- browser origins allowed to send (CORS): scheme://host[:port], compared exactly
  allowed_origins text[] not null check (cardinality(allowed_origins) between 1 and 20),
  -- route templates that become the `page` label ("/appointments/:id"); any other path is "other"
  page_routes text[] not null default '{/}' check (cardinality(page_routes) between 1 and 50),
  created_by text not null,
  created_at timestamptz not null default now(),
  -- null: the instance's current key. A rotated key keeps working until then (pages cached in browsers
  -- still carry it); a revoked one stops at once.
  expires_at timestamptz
);
-- One current key per instance: rotation swaps it in one transaction.
create unique index faro_app_keys_current_idx on faro_app_keys (instance_id) where expires_at is null;

-- Down Migration
drop table faro_app_keys;
