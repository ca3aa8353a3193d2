-- Up Migration

-- audit_chain_pending in PL/pgSQL: a SQL-language function plans its statement again at every call, and a
-- chaining pass of a few records spent as much time planning as moving them (bench:alert-ingest, docs/
-- benchmarks.md). PL/pgSQL keeps the plan for the session. Same statement, owner, rights and result.
create or replace function audit_chain_pending(max_rows int) returns int language plpgsql security definer
  set search_path = pg_catalog, public as $$
declare
  n int;
begin
  with m as (
    delete from public.audit_pending where id in (
      select id from public.audit_pending order by id limit max_rows for update skip locked)
    returning *)
  insert into public.audit_log (seq, at, actor, action, target_type, target_id, before, after, request_id,
    token_id, token_name, role, client_id, ip, user_agent, prev_hash, hash)
  select 0, at, actor, action, target_type, target_id, before, after, request_id,
    token_id, token_name, role, client_id, ip, user_agent, '', ''
  from m order by id;
  get diagnostics n = row_count;
  return n;
end $$;

-- Down Migration
create or replace function audit_chain_pending(max_rows int) returns int language sql security definer
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
