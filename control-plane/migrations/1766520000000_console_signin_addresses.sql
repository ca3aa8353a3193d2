-- Up Migration

-- Failed console sign-ins per client address (an IPv6 address counts by its /64, which one subscriber gets), in
-- a fixed window: many tries from one address against many accounts are refused before any password is hashed.
-- In PostgreSQL rather than in memory, so that every replica behind a load balancer sees the same count. Rows
-- whose window has ended are deleted as new failures arrive, so the table holds at most the addresses that
-- failed within one window.
create table console_signin_addresses (
  address text primary key check (length(address) <= 64),
  window_start timestamptz not null default now(),
  failures integer not null default 1,
  -- Set when the address first goes over the limit in this window, so the audit log records one trip, not each try.
  tripped_at timestamptz
);
create index console_signin_addresses_window_idx on console_signin_addresses (window_start);

-- Down Migration
drop table console_signin_addresses;
