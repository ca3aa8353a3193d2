-- Up Migration

-- Pages by outbound webhook (JSON, HMAC-SHA256 signed), Slack and Microsoft Teams incoming webhooks, beside SMS,
-- voice and e-mail. Each responder's targets live on the responder; the API never returns a secret or a chat
-- webhook URL (which is itself a credential) in full.
alter table responders add column webhook_url text, add column webhook_secret text,
  add column slack_webhook_url text, add column teams_webhook_url text;
alter table notifications drop constraint notifications_channel_check;
alter table notifications add constraint notifications_channel_check
  check (channel in ('sms', 'voice', 'email', 'webhook', 'slack', 'teams'));

-- Down Migration
delete from notifications where channel in ('webhook', 'slack', 'teams');
alter table notifications drop constraint notifications_channel_check;
alter table notifications add constraint notifications_channel_check check (channel in ('sms', 'voice', 'email'));
alter table responders drop column webhook_url, drop column webhook_secret, drop column slack_webhook_url,
  drop column teams_webhook_url;
