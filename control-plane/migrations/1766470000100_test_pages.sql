-- Up Migration

-- A test page (POST /api/v1/responders/{id}/test-page) goes through the outbox like any page, so it proves the
-- provider, the number and the retries, but belongs to no incident.
alter table notifications alter column incident_id drop not null;
alter table notifications add column test boolean not null default false;
alter table notifications add constraint notifications_test_or_incident check (test or incident_id is not null);

-- Down Migration
delete from notifications where test;
alter table notifications drop constraint notifications_test_or_incident;
alter table notifications drop column test;
alter table notifications alter column incident_id set not null;
