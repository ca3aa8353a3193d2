-- Up Migration

-- Alertmanager's changes are audited through audit_pending: the record is written in the change's own
-- transaction (it commits, or not, with the change) and joins the hash chain shortly after, in batches, by
-- whichever control plane chains next (AuditService.chainPending; readers of the log chain first). Before,
-- a deferred trigger chained each record inside COMMIT, holding the chain's global lock through the WAL
-- flush, so every webhook's commit waited for the one before it. `at` keeps the change's time.
drop trigger audit_log_at_commit_move on audit_log_at_commit;
drop function audit_log_at_commit_move();
alter table audit_log_at_commit rename to audit_pending;
alter sequence audit_log_at_commit_id_seq rename to audit_pending_id_seq;
alter table audit_pending rename constraint audit_log_at_commit_pkey to audit_pending_pkey;
alter table audit_pending add column at timestamptz not null default now();

-- Down Migration
alter table audit_pending drop column at;
alter table audit_pending rename constraint audit_pending_pkey to audit_log_at_commit_pkey;
alter sequence audit_pending_id_seq rename to audit_log_at_commit_id_seq;
alter table audit_pending rename to audit_log_at_commit;
create function audit_log_at_commit_move() returns trigger language plpgsql as $$
begin
  insert into audit_log (seq, actor, action, target_type, target_id, before, after, request_id, prev_hash, hash)
  values (0, new.actor, new.action, new.target_type, new.target_id, new.before, new.after, new.request_id,
    '', '');
  delete from audit_log_at_commit where id = new.id;
  return null;
end $$;
create constraint trigger audit_log_at_commit_move after insert on audit_log_at_commit
  deferrable initially deferred for each row execute function audit_log_at_commit_move();
