-- Up Migration

-- What kind of failure an incident is (the seeds' crisis, security, compliance, performance, plus availability),
-- from the alert's `class` label or set by hand; null when nothing said. Policies may select on it.
alter table incidents add column class text
  check (class in ('crisis', 'security', 'compliance', 'performance', 'availability'));
-- `urgency="emergency"` (the rules set it on the crisis-latency page): every level is paged at once, by voice too.
alter table incidents add column urgency text check (urgency in ('emergency'));
-- A policy with classes applies only to incidents of those classes (and is chosen before one without).
alter table escalation_policies add column classes text[];

-- Down Migration
alter table escalation_policies drop column classes;
alter table incidents drop column urgency;
alter table incidents drop column class;
