-- Up Migration

-- A sign-in through the OpenID Connect provider under way: the browser holds the random state in a cookie, this
-- table its hash with the nonce and the PKCE verifier, so whichever replica receives the provider's redirect can
-- finish it, once (the row is taken by the callback) and within ten minutes.
create table console_oidc_logins (
  state_hash bytea primary key,
  nonce text not null,
  code_verifier text not null,
  next text not null,
  expires_at timestamptz not null
);
create index console_oidc_logins_expires_idx on console_oidc_logins (expires_at);

-- Down Migration
drop table console_oidc_logins;
