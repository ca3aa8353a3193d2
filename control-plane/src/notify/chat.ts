import { createHmac } from 'node:crypto';
import { where } from './page.ts';
import type { DbPage } from './store.ts';

/** A chat or webhook endpoint that has not answered in this long failed this attempt (retried with backoff). */
const TIMEOUT_MS = 10_000;

/** An answer that says retrying will not help (4xx but 429), as Twilio's are read: notify's `isPermanent`. */
class HttpError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

const what = (p: DbPage) =>
  p.test
    ? `[TEST] concierge-ops test page for ${p.responder_name}: no incident, no action needed.`
    : `[${p.severity.toUpperCase()}] ${p.code} ${where(p)}: ${p.summary || p.title}`;

/**
 * The outbound webhook's JSON body: what the page says, as fields. `deliveryId` is the outbox row's id, the same
 * on every retry, so a receiver can drop a repeat.
 */
export function webhookBody(p: DbPage, ackUrl: string | null) {
  return {
    version: '1',
    type: p.test ? 'test' : 'page',
    deliveryId: p.id,
    text: what(p),
    incident: p.test
      ? null
      : {
          id: p.incident_id,
          code: p.code,
          severity: p.severity,
          title: p.title,
          summary: p.summary,
          where: where(p),
        },
    level: p.level,
    repeat: p.repeat,
    responder: p.responder_name,
    ackUrl,
  };
}

/**
 * The signature headers of a webhook body: HMAC-SHA256 with the responder's secret over `<timestamp>.<body>`
 * (the receiver refuses an old timestamp, so a captured request cannot be replayed later).
 */
export function signWebhook(secret: string, body: string, timestamp: number) {
  const mac = createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
  return { 'X-Concierge-Timestamp': String(timestamp), 'X-Concierge-Signature': `v1=${mac}` };
}

/** Slack's incoming webhook message: `text` (the notification's fallback) and Block Kit blocks. */
export function slackBody(p: DbPage, ackUrl: string | null) {
  const blocks: object[] = [{ type: 'section', text: { type: 'mrkdwn', text: slackEscape(what(p)) } }];
  if (ackUrl)
    blocks.push({
      type: 'actions',
      block_id: 'concierge-ops-ack',
      elements: [
        {
          type: 'button',
          action_id: 'acknowledge',
          text: { type: 'plain_text', text: 'Acknowledge' },
          style: 'danger',
          value: p.code,
          url: ackUrl,
        },
      ],
    });
  return { text: what(p), blocks };
}

/** Slack's three control characters in mrkdwn (https://api.slack.com/reference/surfaces/formatting). */
const slackEscape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A Teams incoming webhook message carrying one Adaptive Card. */
export function teamsBody(p: DbPage, ackUrl: string | null) {
  return {
    type: 'message',
    attachments: [
      {
        contentType: 'application/vnd.microsoft.card.adaptive',
        contentUrl: null,
        content: {
          $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
          type: 'AdaptiveCard',
          version: '1.4',
          body: [
            {
              type: 'TextBlock',
              text: p.test ? '[TEST] concierge-ops test page' : `${p.code} (${p.severity}) ${p.title}`,
              weight: 'Bolder',
              size: 'Medium',
              wrap: true,
            },
            { type: 'TextBlock', text: what(p), wrap: true },
          ],
          actions: ackUrl ? [{ type: 'Action.OpenUrl', title: 'Acknowledge', url: ackUrl }] : [],
        },
      },
    ],
  };
}

/** Sends a webhook, Slack or Teams page; returns no provider id (these answer none). */
export async function postChat(p: DbPage, ackUrl: string | null): Promise<string | null> {
  const url =
    p.channel === 'webhook'
      ? p.webhook_url
      : p.channel === 'slack'
        ? p.slack_webhook_url
        : p.teams_webhook_url;
  if (!url) throw new HttpError(`the responder has no ${p.channel} target`, 400);
  const payload =
    p.channel === 'webhook'
      ? webhookBody(p, ackUrl)
      : p.channel === 'slack'
        ? slackBody(p, ackUrl)
        : teamsBody(p, ackUrl);
  const body = JSON.stringify(payload);
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  if (p.channel === 'webhook' && p.webhook_secret)
    Object.assign(headers, signWebhook(p.webhook_secret, body, Math.floor(Date.now() / 1000)), {
      'X-Concierge-Delivery': p.id,
    });
  const res = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(TIMEOUT_MS) });
  // The body is read (and dropped) so the connection is freed; neither Slack nor Teams answers an id.
  await res.arrayBuffer().catch(() => undefined);
  if (!res.ok) throw new HttpError(`${p.channel} answered ${res.status}`, res.status);
  return null;
}
