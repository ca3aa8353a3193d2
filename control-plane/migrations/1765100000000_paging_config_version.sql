-- Up Migration

-- A number that changes with every change to escalation policies, their levels or responders, in the same
-- transaction. A webhook reads it in the statement it already makes (incidents.lockOpenOrResolved), and the
-- control plane reuses the policy with responders it read before while the number is the same: the
-- policy query (about 0.3 ms of database time) is then not run for every incident an alert opens. Any
-- replica's or any psql session's change moves it, so no process pages from a stale policy.
create table paging_config_version (
  only_row boolean primary key default true check (only_row),
  v bigint not null
);
insert into paging_config_version (v) values (1);

create function paging_config_changed() returns trigger language plpgsql as $$
begin
  update paging_config_version set v = v + 1;
  return null;
end $$;

create trigger escalation_policies_version after insert or update or delete or truncate on escalation_policies
  for each statement execute function paging_config_changed();
create trigger escalation_levels_version after insert or update or delete or truncate on escalation_levels
  for each statement execute function paging_config_changed();
create trigger responders_version after insert or update or delete or truncate on responders
  for each statement execute function paging_config_changed();

-- Down Migration
drop trigger responders_version on responders;
drop trigger escalation_levels_version on escalation_levels;
drop trigger escalation_policies_version on escalation_policies;
drop function paging_config_changed();
drop table paging_config_version;
