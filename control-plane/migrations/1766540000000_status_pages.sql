-- Up Migration

-- A client's optional public status page (off by default): an unguessable URL whose token only staff make or
-- replace. Only the token's SHA-256 is kept, as for calendar links, so the URL is shown once, when it is made;
-- a new token revokes the old URL at once.
create table status_pages (
  client_id uuid primary key references clients (id),
  token_sha256 text not null unique,
  enabled boolean not null default false,
  show_name boolean not null default false,
  updated_at timestamptz not null default now()
);

-- Down Migration
drop table status_pages;
