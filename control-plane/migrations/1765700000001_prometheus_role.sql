-- Up Migration

-- The prometheus role: a token that reads /metrics (every client's SLA, incidents and backups) and the scrape
-- targets, and nothing else, so Prometheus need not hold an admin token.
alter table api_tokens drop constraint api_tokens_role_check;
alter table api_tokens add constraint api_tokens_role_check
  check (role in ('admin', 'operator', 'client', 'alertmanager', 'prober', 'backup-agent', 'prometheus'));

-- Down Migration
update api_tokens set revoked_at = coalesce(revoked_at, now()), role = 'prober' where role = 'prometheus';
alter table api_tokens drop constraint api_tokens_role_check;
alter table api_tokens add constraint api_tokens_role_check
  check (role in ('admin', 'operator', 'client', 'alertmanager', 'prober', 'backup-agent'));
