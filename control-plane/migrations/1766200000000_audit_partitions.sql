-- Up Migration

-- The audit log partitioned by month, so a month past its retention is dropped whole (docs/audit.md, "Retention").
-- The key is logged_at, when the record entered the chain, not `at`: a staged record keeps its change's time and
-- may join the chain after records of a later time, so months by `at` would interleave in seq. logged_at never
-- goes backwards along seq, so each month is one unbroken stretch of the chain that can be archived and dropped
-- as a piece. It is not part of the hash: every record keeps the hash it was chained with.
-- Months are UTC months whatever the server's or session's time zone.
set local timezone = 'UTC';
lock table audit_log in access exclusive mode;
alter table audit_log rename to audit_log_unpartitioned;
alter table audit_log_unpartitioned rename constraint audit_log_pkey to audit_log_unpartitioned_pkey;

-- The chain's clock, as the column default: evaluated before the row is routed to its partition (a BEFORE
-- trigger may not move a row to another one), under the chain's lock, so it follows seq's order.
create function audit_log_clock() returns timestamptz language plpgsql volatile as $$
declare
  last timestamptz;
begin
  perform pg_advisory_xact_lock(7216400001);
  select logged_at into last from public.audit_log order by logged_at desc, seq desc limit 1;
  return greatest(clock_timestamp(), last);
end $$;

create table audit_log (
  seq bigint not null,
  at timestamptz not null default now(),
  actor text not null,
  action text not null,
  target_type text not null,
  target_id text,
  before jsonb,
  after jsonb,
  request_id text,
  prev_hash bytea not null,
  hash bytea not null,
  token_id text,
  token_name text,
  role text,
  client_id text,
  ip text,
  user_agent text,
  logged_at timestamptz not null default audit_log_clock(),
  primary key (seq, logged_at)
) partition by range (logged_at);
-- The chain's head is the newest row by logged_at: the newest partition is read first and alone.
create index audit_log_logged_at_seq on audit_log (logged_at, seq);

-- The canonical text took the old table's row type; the same text for the new one, so every hash still holds.
drop function audit_log_canonical(audit_log_unpartitioned);
create function audit_log_canonical(r audit_log) returns bytea language sql immutable as $$
  select convert_to((jsonb_build_object(
    'seq', r.seq,
    'at', to_char(r.at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
    'actor', r.actor, 'action', r.action, 'targetType', r.target_type, 'targetId', r.target_id,
    'before', r.before, 'after', r.after, 'requestId', r.request_id)
    || jsonb_strip_nulls(jsonb_build_object('tokenId', r.token_id, 'tokenName', r.token_name, 'role', r.role,
      'clientId', r.client_id, 'ip', r.ip, 'userAgent', r.user_agent)))::text, 'UTF8')
$$;

-- The month `m` (its first day) of audit_log, created when missing, owner-only: the app role reaches rows
-- through audit_log alone, so a partition needs no grant, and it cannot truncate, alter or drop one. The
-- statement trigger refusing TRUNCATE is not inherited from audit_log, so each partition gets its own.
create function audit_log_add_partition(m date) returns boolean language plpgsql security definer
  set search_path = pg_catalog, public set timezone = 'UTC' as $$
declare
  first date := date_trunc('month', m)::date;
  name text := format('audit_log_y%sm%s', to_char(first, 'YYYY'), to_char(first, 'MM'));
begin
  if to_regclass('public.' || name) is not null then return false; end if;
  -- A past month only for the owner (the migration above): one the app role made would sit before months
  -- already archived, a hole in the archive's chain of months.
  if first < date_trunc('month', now()) and not pg_has_role(session_user,
      (select relowner from pg_class where oid = 'public.audit_log'::regclass), 'usage') then
    raise exception 'audit month % has passed: only the owner adds a past month', to_char(first, 'YYYY-MM')
      using errcode = '42501';
  end if;
  -- Two replicas creating the same month: the second waits here, then finds it.
  perform pg_advisory_xact_lock(7216400003);
  if to_regclass('public.' || name) is not null then return false; end if;
  execute format('create table public.%I partition of public.audit_log for values from (%L) to (%L)', name,
    first::timestamptz, (first + interval '1 month')::timestamptz);
  execute format('create trigger audit_log_no_truncate before truncate on public.%I for each statement '
    'execute function audit_log_refuse()', name);
  return true;
end $$;
revoke all on function audit_log_add_partition(date) from public;

-- The records, unchanged and in seq order; logged_at for the records from before is the newest `at` up to each
-- (so it never goes backwards along seq either).
create temporary table audit_log_moved on commit drop as
  select *, max(at) over (order by seq) as logged_at_new from audit_log_unpartitioned;
select audit_log_add_partition(m::date) from generate_series(
  date_trunc('month', coalesce((select min(logged_at_new) from audit_log_moved), now())),
  date_trunc('month', now()) + interval '2 months', interval '1 month') m;
insert into audit_log (seq, at, actor, action, target_type, target_id, before, after, request_id, prev_hash, hash,
    token_id, token_name, role, client_id, ip, user_agent, logged_at)
  select seq, at, actor, action, target_type, target_id, before, after, request_id, prev_hash, hash,
    token_id, token_name, role, client_id, ip, user_agent, logged_at_new
  from audit_log_moved order by seq;
drop table audit_log_unpartitioned;

-- The chain trigger, now also checking a logged_at given explicitly: never before the head's (a record slipped
-- into a closed, archived month), never ahead of the clock.
create or replace function audit_log_chain() returns trigger language plpgsql as $$
declare
  last record;
begin
  perform pg_advisory_xact_lock(7216400001);
  select hash, logged_at into last from audit_log order by logged_at desc, seq desc limit 1;
  if new.logged_at < last.logged_at or new.logged_at > greatest(clock_timestamp(), last.logged_at) then
    raise exception 'audit_log: logged_at % is not the chain''s clock', new.logged_at using errcode = '42501';
  end if;
  new.seq := nextval('audit_log_seq');
  new.prev_hash := coalesce(last.hash, '\x'::bytea);
  new.hash := sha256(new.prev_hash || audit_log_canonical(new));
  return new;
end $$;
create trigger audit_log_chain before insert on audit_log for each row execute function audit_log_chain();
create trigger audit_log_no_update before update or delete on audit_log
  for each row execute function audit_log_refuse();
create trigger audit_log_no_truncate before truncate on audit_log
  for each statement execute function audit_log_refuse();

-- Recreated over the new table (a migration touching audit_log's columns recreates it, see audit_chain_definer).
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
revoke all on function audit_chain_pending(int) from public;

-- Closed months written to signed files (audit/archive.ts): one row per month, written once.
create table audit_archives (
  month date primary key check (month = date_trunc('month', month)),
  rows bigint not null,
  first_seq bigint,
  last_seq bigint,
  last_hash text,
  jsonl_sha256 text not null check (jsonl_sha256 ~ '^[0-9a-f]{64}$'),
  manifest_sha256 text not null check (manifest_sha256 ~ '^[0-9a-f]{64}$'),
  archived_at timestamptz not null default now()
);

-- The retention the deletion function applies, written by the owner role at each start from
-- AUDIT_RETENTION_YEARS; the app role reads it and cannot change it.
create table audit_retention (
  one boolean primary key default true check (one),
  years int not null check (years >= 1),
  override text,
  updated_at timestamptz not null default now()
);

-- Drops the month `m` of audit_log, as the owner, only when it is archived (the archive row matches the
-- partition: row count, last seq and hash) and its end lies further back than the retention; records the
-- deletion in the chain first, in the same transaction. The app role may call it, and can drop nothing else.
create function audit_log_drop_month(m date) returns bigint language plpgsql security definer
  set search_path = pg_catalog, public set timezone = 'UTC' as $$
declare
  name text := format('audit_log_y%sm%s', to_char(m, 'YYYY'), to_char(m, 'MM'));
  a public.audit_archives;
  keep int := coalesce((select years from public.audit_retention), 6);
  n bigint;
  last_row record;
  prev jsonb;
  dropped bigint;
begin
  if m <> date_trunc('month', m) then raise exception 'audit_log_drop_month: % is not a month''s first day', m; end if;
  if to_regclass('public.' || name) is null then return null; end if;
  if m + interval '1 month' > now() - make_interval(years => keep) then
    raise exception 'audit month % is within the retention of % years', to_char(m, 'YYYY-MM'), keep
      using errcode = '42501';
  end if;
  select * into a from public.audit_archives where month = m;
  if not found then
    raise exception 'audit month % is not archived', to_char(m, 'YYYY-MM') using errcode = '42501';
  end if;
  -- Before the record below takes the chain's lock: writers wait here rather than deadlock with the DROP.
  lock table public.audit_log in access exclusive mode;
  execute format('select count(*) from public.%I', name) into n;
  execute format('select seq, encode(hash, ''hex'') as hash from public.%I order by seq desc limit 1', name)
    into last_row;
  if n <> a.rows or last_row.seq is distinct from a.last_seq or last_row.hash is distinct from a.last_hash then
    raise exception 'audit month % differs from its archive (% rows here, % archived)', to_char(m, 'YYYY-MM'),
      n, a.rows using errcode = '42501';
  end if;
  -- The deletion before this one: what the records kept now link to, when this month held none.
  select after into prev from public.audit_log where action = 'audit.month_deleted' and actor = 'system:retention'
    order by seq desc limit 1;
  dropped := coalesce((prev->>'rowsDeletedInAll')::bigint, 0) + n;
  insert into public.audit_log (seq, actor, action, target_type, target_id, after, prev_hash, hash)
  values (0, 'system:retention', 'audit.month_deleted', 'audit_month', to_char(m, 'YYYY-MM'),
    jsonb_build_object('month', to_char(m, 'YYYY-MM'), 'rows', n, 'firstSeq', a.first_seq,
      'lastSeq', coalesce(a.last_seq, (prev->>'lastSeq')::bigint),
      'lastHash', coalesce(a.last_hash, prev->>'lastHash'), 'manifestSha256', a.manifest_sha256, 'retentionYears', keep,
      'rowsDeletedInAll', dropped), '', '');
  execute format('drop table public.%I', name);
  return n;
end $$;
revoke all on function audit_log_drop_month(date) from public;

-- Down Migration
drop function audit_log_drop_month(date);
drop table audit_retention;
drop table audit_archives;
alter table audit_log rename to audit_log_partitioned;
-- Its key's name free for the table below, so that the Up Migration can run again.
alter table audit_log_partitioned rename constraint audit_log_pkey to audit_log_partitioned_pkey;
create table audit_log (like audit_log_partitioned including defaults);
alter table audit_log drop column logged_at;
alter table audit_log add primary key (seq);
drop function audit_log_canonical(audit_log_partitioned);
create function audit_log_canonical(r audit_log) returns bytea language sql immutable as $$
  select convert_to((jsonb_build_object(
    'seq', r.seq,
    'at', to_char(r.at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
    'actor', r.actor, 'action', r.action, 'targetType', r.target_type, 'targetId', r.target_id,
    'before', r.before, 'after', r.after, 'requestId', r.request_id)
    || jsonb_strip_nulls(jsonb_build_object('tokenId', r.token_id, 'tokenName', r.token_name, 'role', r.role,
      'clientId', r.client_id, 'ip', r.ip, 'userAgent', r.user_agent)))::text, 'UTF8')
$$;
insert into audit_log select seq, at, actor, action, target_type, target_id, before, after, request_id, prev_hash,
  hash, token_id, token_name, role, client_id, ip, user_agent from audit_log_partitioned order by seq;
drop table audit_log_partitioned;
drop function audit_log_add_partition(date);
drop function audit_log_clock();
create or replace function audit_log_chain() returns trigger language plpgsql as $$
declare
  last_hash bytea;
begin
  perform pg_advisory_xact_lock(7216400001);
  select hash into last_hash from audit_log order by seq desc limit 1;
  new.seq := nextval('audit_log_seq');
  new.prev_hash := coalesce(last_hash, '\x'::bytea);
  new.hash := sha256(new.prev_hash || audit_log_canonical(new));
  return new;
end $$;
create trigger audit_log_chain before insert on audit_log for each row execute function audit_log_chain();
create trigger audit_log_no_update before update or delete on audit_log
  for each row execute function audit_log_refuse();
create trigger audit_log_no_truncate before truncate on audit_log
  for each statement execute function audit_log_refuse();
