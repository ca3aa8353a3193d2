-- Up Migration

-- Moving staged records into the chain runs as the schema's owner (security definer), so the role the control
-- plane runs as needs only INSERT on audit_pending: it can neither delete a staged record before it is chained
-- nor lock it (SELECT ... FOR UPDATE needs UPDATE rights). Same statement as AuditService.chainPending had:
-- oldest first, rows another process is moving skipped; the chain trigger sets seq and the hashes.
create function audit_chain_pending(max_rows int) returns int language sql security definer
  set search_path = pg_catalog, public as $$
  with m as (
    delete from public.audit_pending where id in (
      select id from public.audit_pending order by id limit max_rows for update skip locked)
    returning *),
  chained as (
    insert into public.audit_log (seq, at, actor, action, target_type, target_id, before, after, request_id,
      token_id, token_name, role, client_id, ip, user_agent, prev_hash, hash)
    select 0, at, actor, action, target_type, target_id, before, after, request_id,
      token_id, token_name, role, client_id, ip, user_agent, '', ''
    from m order by id
    returning 1)
  select count(*)::int from chained
$$;
-- Only roles granted it (the app role, at each start) may call it.
revoke all on function audit_chain_pending(int) from public;

-- Down Migration
drop function audit_chain_pending(int);
