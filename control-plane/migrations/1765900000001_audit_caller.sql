-- Up Migration

-- Who called, on every audit record: the token's id and name, its role and client scope, the source address
-- (X-Forwarded-For only from a configured trusted proxy) and the user agent. Nullable: records written by the
-- system itself (jobs, the dead man's switch) and every record before this migration have none.
alter table audit_log add column token_id text, add column token_name text, add column role text,
  add column client_id text, add column ip text, add column user_agent text;
alter table audit_pending add column token_id text, add column token_name text, add column role text,
  add column client_id text, add column ip text, add column user_agent text;

-- The hash covers the caller too. The new keys are added only when set, so every record written before this
-- migration keeps the canonical text, and so the hash, it was chained with.
create or replace function audit_log_canonical(r audit_log) returns bytea language sql immutable as $$
  select convert_to((jsonb_build_object(
    'seq', r.seq,
    'at', to_char(r.at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
    'actor', r.actor, 'action', r.action, 'targetType', r.target_type, 'targetId', r.target_id,
    'before', r.before, 'after', r.after, 'requestId', r.request_id)
    || jsonb_strip_nulls(jsonb_build_object('tokenId', r.token_id, 'tokenName', r.token_name, 'role', r.role,
      'clientId', r.client_id, 'ip', r.ip, 'userAgent', r.user_agent)))::text, 'UTF8')
$$;

-- Down Migration
create or replace function audit_log_canonical(r audit_log) returns bytea language sql immutable as $$
  select convert_to(jsonb_build_object(
    'seq', r.seq,
    'at', to_char(r.at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
    'actor', r.actor, 'action', r.action, 'targetType', r.target_type, 'targetId', r.target_id,
    'before', r.before, 'after', r.after, 'requestId', r.request_id)::text, 'UTF8')
$$;
alter table audit_pending drop column token_id, drop column token_name, drop column role, drop column client_id,
  drop column ip, drop column user_agent;
alter table audit_log drop column token_id, drop column token_name, drop column role, drop column client_id,
  drop column ip, drop column user_agent;
