-- Up Migration

-- Tokens provisioned from secret files (PROVISION_TOKENS_DIR) remember the file they came from, so a restart
-- finds "the prober.token token" again: the same secret changes nothing, a new one rotates it. One live token
-- per file; revoked ones keep the name as history.
alter table api_tokens add column provisioned_from text;
create unique index api_tokens_provisioned_from_idx on api_tokens (provisioned_from) where revoked_at is null;

-- Down Migration
drop index api_tokens_provisioned_from_idx;
alter table api_tokens drop column provisioned_from;
