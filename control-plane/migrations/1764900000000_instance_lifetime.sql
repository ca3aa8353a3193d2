-- Up Migration

-- When monitoring of an instance began: its SLA period starts there (and ends at decommissioned_at), so the
-- time before an instance was registered is neither measured nor unknown for it. Registration time unless an
-- operator says otherwise (an instance whose earlier history was brought along).
alter table instances add column monitored_since timestamptz;
update instances set monitored_since = created_at;
alter table instances alter column monitored_since set not null, alter column monitored_since set default now();

-- Down Migration
alter table instances drop column monitored_since;
