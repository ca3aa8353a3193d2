-- Up Migration

-- Audit records that join the hash chain when their transaction commits. The chain (audit_log_chain) takes a
-- global lock until commit; a row written here moves into audit_log from a deferred trigger, that is inside
-- COMMIT itself, so the lock is held only for the commit and never across a round trip to the client. The
-- record is the same one, in the same transaction: it commits (or not) with the change it describes.
create table audit_log_at_commit (
  id bigserial primary key,
  actor text not null,
  action text not null,
  target_type text not null,
  target_id text,
  before jsonb,
  after jsonb,
  request_id text
);

create function audit_log_at_commit_move() returns trigger language plpgsql as $$
begin
  -- seq, prev_hash and hash are set by the audit_log_chain trigger.
  insert into audit_log (seq, actor, action, target_type, target_id, before, after, request_id, prev_hash, hash)
  values (0, new.actor, new.action, new.target_type, new.target_id, new.before, new.after, new.request_id,
    '', '');
  delete from audit_log_at_commit where id = new.id;
  return null;
end $$;

create constraint trigger audit_log_at_commit_move after insert on audit_log_at_commit
  deferrable initially deferred for each row execute function audit_log_at_commit_move();

-- Pages the committing process sends itself straight after commit have no job each; the outbox-sweep job
-- looks for the ones still untried after a grace period (the process died before sending) with this index.
create index notifications_untried_idx on notifications (created_at) where status = 'queued' and attempts = 0;

-- Down Migration
drop index notifications_untried_idx;
drop table audit_log_at_commit;
drop function audit_log_at_commit_move;
