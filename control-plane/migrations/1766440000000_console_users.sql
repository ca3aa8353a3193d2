-- Up Migration

-- People who sign in to the console (and, next, the clients' portal), beside API tokens. A client user is
-- bound to one client, as a client token is; staff have none.
create table console_users (
  id uuid primary key default gen_random_uuid(),
  email text not null check (email = lower(email) and length(email) between 3 and 254),
  name text not null check (length(name) between 1 and 200),
  role text not null check (role in ('admin', 'operator', 'client')),
  client_id uuid references clients (id),
  -- scrypt: 'scrypt$N$r$p$salt$hash' (base64url); null until the invite is accepted.
  password_hash text,
  -- The TOTP secret (base32) once confirmed; required for admin and operator before a session is full.
  totp_secret text,
  -- sha256 of each unused recovery code (hex); a used one is removed.
  recovery_codes text[] not null default '{}',
  failed_signins integer not null default 0,
  locked_until timestamptz,
  created_at timestamptz not null default now(),
  disabled_at timestamptz,
  check ((role = 'client') = (client_id is not null))
);
create unique index console_users_email_idx on console_users (email);

-- One-time links mailed to a user: an invite (sets the first password) or a password reset. Only a hash is
-- kept; a link works once and until it expires.
create table console_user_links (
  token_hash bytea primary key,
  user_id uuid not null references console_users (id) on delete cascade,
  purpose text not null check (purpose in ('invite', 'reset')),
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  used_at timestamptz
);
create index console_user_links_user_idx on console_user_links (user_id);

-- Server-side sessions: the cookie holds a random id, the table its hash. `stage` is 'password' between the
-- password and the second factor, 'full' after. Idle and absolute expiry are checked against now() on every
-- request, so the database clock owns time and every replica agrees.
create table console_sessions (
  id_hash bytea primary key,
  user_id uuid not null references console_users (id) on delete cascade,
  stage text not null check (stage in ('password', 'totp-setup', 'full')),
  csrf text not null,
  -- A TOTP secret offered during first set-up, confirmed by its first code.
  pending_totp text,
  created_at timestamptz not null default now(),
  last_seen_at timestamptz not null default now(),
  expires_at timestamptz not null
);
create index console_sessions_user_idx on console_sessions (user_id);

-- Down Migration
drop table console_sessions;
drop table console_user_links;
drop table console_users;
