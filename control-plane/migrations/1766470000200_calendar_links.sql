-- Up Migration

-- Secret links to on-call calendars (iCalendar), as Grafana OnCall and PagerDuty give: a calendar app fetches
-- the link with no other credential. Only the token's SHA-256 is kept; making a new link revokes the old one.
alter table rotations add column calendar_token_sha256 text;
alter table responders add column calendar_token_sha256 text;

-- Down Migration
alter table responders drop column calendar_token_sha256;
alter table rotations drop column calendar_token_sha256;
