import type { Request, Response } from 'express';
import type { Api } from '../http/api.ts';
import { sendProblem } from '../http/errors.ts';
import { STAFF } from '../http/auth.ts';
import type { Channel, NotifyService } from './service.ts';

const twiml = (res: Response, inner: string) =>
  res.type('text/xml').send(`<?xml version="1.0" encoding="UTF-8"?><Response>${inner}</Response>`);
const xml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Twilio's form-encoded webhook parameters (every value a string; anything else is not Twilio). */
function params(req: Request): Record<string, string> | undefined {
  const body = req.body as unknown;
  if (!body || typeof body !== 'object' || Array.isArray(body)) return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(body)) {
    if (typeof v !== 'string') return undefined;
    out[k] = v;
  }
  return out;
}

// The parameters of the URLs this control plane hands out (service.ts): the voice page's notification id `n`
// and the e-mail link's signed token `t`. Declared so that any other query parameter is a 400 (http/api.ts).
const voiceQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { n: { type: 'string', maxLength: 64 } },
} as const;
const ackLinkQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { t: { type: 'string', maxLength: 2000 } },
} as const;

/** A forged or unsigned request is refused before anything is read or changed. */
function signed(notify: NotifyService, req: Request, res: Response): Record<string, string> | undefined {
  const p = params(req);
  if (p && notify.validSignature(req.header('x-twilio-signature'), req.originalUrl, p)) return p;
  sendProblem(res, 403, 'X-Twilio-Signature does not match this request');
  return undefined;
}

const testPage = {
  type: 'object',
  additionalProperties: false,
  required: ['channel'],
  properties: { channel: { enum: ['sms', 'voice', 'email', 'webhook', 'slack', 'teams'] } },
} as const;
const testPageResponse = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'responder', 'channel', 'status'],
  properties: {
    id: { type: 'string', format: 'uuid', description: 'the outbox row of the test page' },
    responder: {
      type: 'object',
      additionalProperties: false,
      required: ['id', 'name'],
      properties: { id: { type: 'string', format: 'uuid' }, name: { type: 'string' } },
    },
    channel: { type: 'string' },
    status: { const: 'queued' },
  },
} as const;

export function notifyRoutes(api: Api, notify: NotifyService): void {
  api.route<{ channel: Channel }>({
    method: 'post',
    path: '/api/v1/responders/:id/test-page',
    operationId: 'sendTestPage',
    summary: 'Sends a page marked TEST to the responder on one channel, through the outbox; audited',
    tag: 'oncall',
    roles: STAFF,
    body: testPage,
    status: 202,
    responseSchema: testPageResponse,
    handler: ({ auth, req, params, body }) => notify.testPage(auth, req.id, params.id!, body.channel),
  });
  api.route({
    method: 'post',
    path: '/api/v1/slack/actions',
    operationId: 'receiveSlackAction',
    problems: [403],
    summary: "Slack's interactive request (signed with the app's signing secret): Acknowledge on a page",
    tag: 'paging',
    roles: 'custom',
    handler: async ({ req, res }) => {
      const raw = (req as { rawBody?: Buffer }).rawBody;
      const payload = (req.body as { payload?: unknown } | undefined)?.payload;
      if (
        typeof payload !== 'string' ||
        !notify.slackSigned(req.header('x-slack-request-timestamp'), req.header('x-slack-signature'), raw)
      ) {
        sendProblem(res, 403, 'X-Slack-Signature does not match this request, or it is too old');
        return;
      }
      // Answered in the channel, to the one who pressed it only (Slack's default response_type).
      return { text: await notify.slackAction(payload), replace_original: false };
    },
  });
  api.route({
    method: 'post',
    path: '/api/v1/twilio/status',
    operationId: 'receiveTwilioStatus',
    status: 204,
    problems: [403],
    summary: "Twilio's message and call status callback (signed)",
    tag: 'paging',
    roles: 'custom',
    handler: async ({ req, res }) => {
      const p = signed(notify, req, res);
      if (!p) return;
      await notify.providerStatus(p);
      res.status(204).end();
    },
  });
  api.route({
    method: 'post',
    path: '/api/v1/twilio/inbound',
    operationId: 'receiveTwilioSms',
    produces: ['text/xml'],
    problems: [403],
    summary: 'Incoming SMS (signed): "ACK INC-000123" acknowledges',
    tag: 'paging',
    roles: 'custom',
    handler: async ({ req, res }) => {
      const p = signed(notify, req, res);
      if (!p) return;
      const reply = await notify.inboundSms(p.From ?? '', p.Body ?? '');
      twiml(res, `<Message>${xml(reply)}</Message>`);
    },
  });
  api.route({
    method: 'post',
    path: '/api/v1/twilio/voice',
    operationId: 'receiveTwilioVoiceDigits',
    produces: ['text/xml'],
    problems: [403],
    summary: 'Digits pressed during a voice page (signed): 1 acknowledges',
    tag: 'paging',
    roles: 'custom',
    query: voiceQuery,
    handler: async ({ req, res }) => {
      const p = signed(notify, req, res);
      if (!p) return;
      const n = typeof req.query.n === 'string' ? req.query.n : '';
      const ok = /^[0-9a-f-]{36}$/.test(n) && (await notify.voiceDigits(n, p.Digits ?? ''));
      twiml(res, `<Say>${ok ? 'Acknowledged. Thank you.' : 'Not acknowledged.'}</Say>`);
    },
  });
  api.route({
    method: 'get',
    path: '/api/v1/incidents/ack-link',
    operationId: 'showAcknowledgeLinkPage',
    produces: ['text/html'],
    summary: 'The e-mail acknowledge link: a confirmation page (mail scanners that follow links ack nothing)',
    tag: 'paging',
    roles: 'public',
    query: ackLinkQuery,
    handler: ({ req, res }) => {
      const t = typeof req.query.t === 'string' ? req.query.t.slice(0, 200) : '';
      res
        .type('html')
        .send(
          `<!doctype html><title>Acknowledge</title><form method="post" action="?t=${encodeURIComponent(t)}">` +
            `<button type="submit">Acknowledge the incident</button></form>`,
        );
    },
  });
  api.route({
    method: 'post',
    path: '/api/v1/incidents/ack-link',
    operationId: 'acknowledgeByLink',
    problems: [403],
    summary: 'Acknowledges through a signed, single-use, expiring e-mail link',
    tag: 'paging',
    roles: 'public',
    query: ackLinkQuery,
    handler: async ({ req, res }) => {
      const t = typeof req.query.t === 'string' ? req.query.t : '';
      const r = await notify.ackByLink(t);
      if (!r.ok) return sendProblem(res, 403, 'this link is invalid, expired or already used');
      return { status: 'acknowledged', incident: r.code };
    },
  });
}
