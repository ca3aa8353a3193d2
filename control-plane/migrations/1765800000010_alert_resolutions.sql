-- Up Migration

-- Resolutions Alertmanager delivered for a group with no incident, by alert fingerprint and the occurrence's
-- start. HA Alertmanagers deliver out of order: a "firing" of an occurrence that arrives after its "resolved"
-- must not open an incident that nothing would ever resolve (and page for it). Kept a week, pruned as new
-- ones are recorded: far longer than an Alertmanager goes on sending an alert that has resolved.
create table alert_resolutions (
  fingerprint text not null,
  starts_at timestamptz not null,
  recorded_at timestamptz not null default now(),
  primary key (fingerprint, starts_at)
);
create index alert_resolutions_recorded_idx on alert_resolutions (recorded_at);

-- Down Migration
drop table alert_resolutions;
