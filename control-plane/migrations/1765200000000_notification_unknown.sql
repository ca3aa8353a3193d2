-- Up Migration

-- A page is claimed ('sending', durably) before it is handed to Twilio or SMTP, and its outcome recorded after.
-- A process that stops in between leaves it 'sending', and nobody sends it again: the provider may have taken
-- it, and a page must not go out twice. The outbox sweep now marks such a page 'unknown' once it has been
-- 'sending' far longer than any send can take, notes it on the incident's timeline and counts it, so that an
-- operator sees that this page may not have reached its responder (escalation goes on regardless).
alter table notifications drop constraint notifications_status_check;
alter table notifications add constraint notifications_status_check
  check (status in ('queued', 'sending', 'sent', 'delivered', 'failed', 'fallback', 'cancelled', 'unknown'));
-- The sweep looks for these every few seconds: only the few rows in flight are indexed.
create index notifications_sending_idx on notifications (updated_at) where status = 'sending';

-- Down Migration

drop index notifications_sending_idx;
update notifications set status = 'sending' where status = 'unknown';
alter table notifications drop constraint notifications_status_check;
alter table notifications add constraint notifications_status_check
  check (status in ('queued', 'sending', 'sent', 'delivered', 'failed', 'fallback', 'cancelled'));
