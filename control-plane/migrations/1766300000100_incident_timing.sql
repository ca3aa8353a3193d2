-- Up Migration

-- When each incident's failure began (its alerts' earliest startsAt; for a hand-made one, the time given or its
-- creation) and when the provider first accepted one of its pages (Twilio's API took the SMS or call, the SMTP
-- server the mail). With opened_at (confirmed) and acknowledged_at they measure failure to page and to ack.
alter table incidents add column failure_began_at timestamptz;
alter table incidents add column first_page_at timestamptz;

-- Existing incidents from what they kept: the earliest alert start (never after the opening, never before the
-- group's previous incident resolved, as new openings do), else the opening; the first page's accepted attempt.
update incidents i set failure_began_at = least(i.opened_at, greatest(
    (select min(a.starts_at) from incident_alerts a where a.incident_id = i.id),
    (select max(r.resolved_at) from incidents r
      where r.group_key = i.group_key and r.resolved_at <= i.opened_at and r.id <> i.id)))
  where exists (select 1 from incident_alerts a where a.incident_id = i.id);
update incidents set failure_began_at = opened_at where failure_began_at is null;
update incidents i set first_page_at = f.at
  from (select n.incident_id, min(t.at) as at from notification_attempts t
        join notifications n on n.id = t.notification_id where t.outcome = 'sent' group by 1) f
  where f.incident_id = i.id;

-- Every way an incident is written (an alert, an operator, the dead man's switch, a restore or a fixture that
-- gives its own opened_at) gets the same rule: no time given means the opening, and a failure never begins
-- after its confirmation (an alert sender's clock ahead of ours).
create function incidents_failure_began() returns trigger language plpgsql as $$
begin
  new.failure_began_at := least(coalesce(new.failure_began_at, new.opened_at), new.opened_at);
  return new;
end $$;
create trigger incidents_failure_began before insert on incidents
  for each row execute function incidents_failure_began();
alter table incidents alter column failure_began_at set not null;

-- Down Migration
drop trigger incidents_failure_began on incidents;
drop function incidents_failure_began();
alter table incidents drop column first_page_at;
alter table incidents drop column failure_began_at;
