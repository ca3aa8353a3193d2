/* eslint-disable @typescript-eslint/no-explicit-any -- the stand-ins read Slack and Teams bodies as untyped JSON */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { alertPayload, waitFor } from '../helpers/alerts.ts';
import { clientBody, startControlPlane, type TestControlPlane } from '../helpers/control-plane.ts';

interface Received {
  path: string;
  headers: http.IncomingHttpHeaders;
  raw: string;
  body: Record<string, unknown>;
}

/**
 * Loopback stand-ins for a webhook receiver, Slack's and Teams' incoming webhooks: each checks what its docs
 * require of a request (JSON; Slack: `text` or Block Kit blocks of known types; Teams: a message carrying an
 * Adaptive Card) and answers as the real one does (Slack "ok", Teams "1"); `failNext` answers 503 first.
 */
class ChatStandIn {
  readonly received: Received[] = [];
  readonly refused: string[] = [];
  failNext = 0;
  private server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString()));
    req.on('end', () => {
      const refuse = (why: string) => {
        this.refused.push(why);
        res.writeHead(400, { 'Content-Type': 'text/plain' }).end(why);
      };
      if (!/^application\/json/.test(req.headers['content-type'] ?? '')) return refuse('invalid_payload');
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(raw) as Record<string, unknown>;
      } catch {
        return refuse('invalid_payload');
      }
      if (this.failNext > 0) {
        this.failNext--;
        return res.writeHead(503).end();
      }
      const why = req.url!.startsWith('/slack/')
        ? checkSlack(body)
        : req.url!.startsWith('/teams/')
          ? checkTeams(body)
          : undefined;
      if (why) return refuse(why);
      this.received.push({ path: req.url!, headers: req.headers, raw, body });
      res.writeHead(200, { 'Content-Type': 'text/plain' }).end(req.url!.startsWith('/teams/') ? '1' : 'ok');
    });
  });
  url = '';
  async start() {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', () => r()));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }
  async stop() {
    await new Promise<void>((r) => this.server.close(() => r()));
  }
  at(path: string) {
    return this.received.filter((r) => r.path === path);
  }
}

/** Slack: `text` is required unless blocks are given; blocks of known types; a button's text is plain_text. */
function checkSlack(b: Record<string, unknown>): string | undefined {
  if (typeof b.text !== 'string' && !Array.isArray(b.blocks)) return 'no_text';
  for (const block of (b.blocks ?? []) as Record<string, any>[]) {
    if (!['section', 'actions', 'context', 'header', 'divider'].includes(block.type)) return 'invalid_blocks';
    if (block.type === 'section' && (block.text?.type !== 'mrkdwn' || block.text.text.length > 3000))
      return 'invalid_blocks';
    if (block.type === 'actions')
      for (const e of block.elements as Record<string, any>[])
        if (e.type !== 'button' || e.text?.type !== 'plain_text' || e.text.text.length > 75 || !e.action_id)
          return 'invalid_blocks';
  }
  return undefined;
}

/** Teams: a `message` whose attachment is an Adaptive Card (contentType, type, version, body). */
function checkTeams(b: Record<string, any>): string | undefined {
  const a = b.attachments?.[0];
  if (b.type !== 'message' || a?.contentType !== 'application/vnd.microsoft.card.adaptive')
    return 'bad message';
  if (
    a.content?.type !== 'AdaptiveCard' ||
    typeof a.content.version !== 'string' ||
    !Array.isArray(a.content.body)
  )
    return 'bad card';
  return undefined;
}

describe('webhook, Slack and Teams channels', () => {
  let cp: TestControlPlane;
  let chat: ChatStandIn;
  let am: string;
  let dee: string;
  const secret = 'webhook-secret-0123456789abcdef';
  const slackSecret = 'slack-signing-secret-8f7e6d5c4b3a';
  let paged = '';

  before(async () => {
    chat = await new ChatStandIn().start();
    cp = await startControlPlane({
      WORKER_POLL_INTERVAL_MS: '100',
      SEND_RETRY_BASE_MS: '20',
      SLACK_SIGNING_SECRET: slackSecret,
    });
    await cp.call('POST', '/api/v1/clients', { body: clientBody('chat-dental') });
    am = await cp.token('alertmanager');
    const r = await cp.call('POST', '/api/v1/responders', {
      body: {
        name: 'Dee',
        role: 'chat-engineer',
        webhookUrl: `${chat.url}/hook/T0SECRETPATH`,
        webhookSecret: secret,
        slackWebhookUrl: `${chat.url}/slack/services/T000/B000/XXXXSECRET`,
        teamsWebhookUrl: `${chat.url}/teams/webhookb2/SECRETTEAMS`,
      },
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    dee = r.body.id;
  });
  after(async () => {
    await cp.close();
    await chat.stop();
  });

  it('answers chat targets masked and never the webhook secret', async () => {
    const list = await cp.call('GET', '/api/v1/responders');
    const me = list.body.find((x: { id: string }) => x.id === dee);
    assert.equal(me.slackWebhookUrl, `${chat.url}/…CRET`);
    assert.equal(me.hasWebhookSecret, true);
    assert.ok(!JSON.stringify(list.body).includes('SECRET'), 'a webhook URL was answered whole');
    assert.ok(!JSON.stringify(list.body).includes(secret), 'the webhook secret was answered');
    const bad = await cp.call('PATCH', `/api/v1/responders/${dee}`, { body: { slackWebhookUrl: 'ftp://x' } });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.errors[0].field, '/slackWebhookUrl');
  });

  it('pages a level by signed webhook, Slack and Teams, retrying a failed send through the outbox', async () => {
    const pol = await cp.call('POST', '/api/v1/escalation-policies', {
      body: {
        name: 'chat warnings',
        client: 'chat-dental',
        levels: [
          {
            delaySeconds: 0,
            targets: { responders: [dee] },
            channels: { warning: ['webhook', 'slack', 'teams'], critical: ['webhook'] },
          },
        ],
      },
    });
    assert.equal(pol.status, 201, JSON.stringify(pol.body));
    chat.failNext = 1;
    const hook = await cp.call('POST', '/api/v1/alertmanager/webhook', {
      token: am,
      body: alertPayload({ groupKey: 'chat-1', client: 'chat-dental', severity: 'warning' }),
    });
    const code = hook.body.incident as string;
    paged = code;
    await waitFor('all three', () =>
      chat.at('/hook/T0SECRETPATH').length &&
      chat.at('/slack/services/T000/B000/XXXXSECRET').length &&
      chat.at('/teams/webhookb2/SECRETTEAMS').length
        ? true
        : undefined,
    );
    // The webhook: JSON naming the incident, signed over "<timestamp>.<body>" with the responder's secret.
    const w = chat.at('/hook/T0SECRETPATH')[0]!;
    const ts = w.headers['x-concierge-timestamp'] as string;
    assert.ok(Math.abs(Date.now() / 1000 - Number(ts)) < 300);
    const mac = createHmac('sha256', secret).update(`${ts}.${w.raw}`).digest('hex');
    assert.equal(w.headers['x-concierge-signature'], `v1=${mac}`);
    assert.equal((w.body.incident as { code: string }).code, code);
    assert.equal(w.body.type, 'page');
    assert.match(w.body.ackUrl as string, /\/api\/v1\/incidents\/ack-link\?t=/);
    // Slack: the text and an Acknowledge button; Teams: an Adaptive Card with an Acknowledge action.
    const s = chat.at('/slack/services/T000/B000/XXXXSECRET')[0]!.body as any;
    assert.ok(s.text.includes(code));
    assert.equal(s.blocks[1].elements[0].text.text, 'Acknowledge');
    assert.equal(s.blocks[1].elements[0].value, code);
    const t = chat.at('/teams/webhookb2/SECRETTEAMS')[0]!.body as any;
    assert.ok(t.attachments[0].content.body[0].text.startsWith(code));
    assert.equal(t.attachments[0].content.actions[0].title, 'Acknowledge');
    assert.deepEqual(chat.refused, []);
    // One send answered 503 and was retried: its row has two attempts and is sent, and nobody got two pages.
    await waitFor('all sent', async () => {
      const { rows } = await cp.db.query(
        `select n.channel, n.status, n.attempts from notifications n join incidents i on i.id = n.incident_id
         where i.code = $1 order by channel`,
        [code],
      );
      return rows.length === 3 && rows.every((x) => x.status === 'sent') ? rows : undefined;
    });
    const { rows } = await cp.db.query(
      `select sum(n.attempts)::int as n from notifications n join incidents i on i.id = n.incident_id where i.code = $1`,
      [code],
    );
    assert.equal(rows[0].n, 4);
    assert.equal(chat.received.length, 3);
  });

  it('sends a test page to Slack marked TEST, without an Acknowledge button', async () => {
    const before = chat.at('/slack/services/T000/B000/XXXXSECRET').length;
    const r = await cp.call('POST', `/api/v1/responders/${dee}/test-page`, { body: { channel: 'slack' } });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    const got = await waitFor(
      'the Slack test page',
      () => chat.at('/slack/services/T000/B000/XXXXSECRET')[before],
    );
    assert.match((got.body as { text: string }).text, /^\[TEST\] concierge-ops test page for Dee/);
    assert.equal((got.body as { blocks: unknown[] }).blocks.length, 1);
    const none = await cp.call('POST', '/api/v1/responders', { body: { name: 'Eli', role: 'x' } });
    const no = await cp.call('POST', `/api/v1/responders/${none.body.id}/test-page`, {
      body: { channel: 'teams' },
    });
    assert.equal(no.status, 400);
    assert.match(no.body.errors[0].message, /no teams target/);
  });

  /** Slack's interactive request as Slack sends it: form-encoded `payload`, signed v0 over the raw body. */
  const slackPress = (code: string, opts: { secret?: string; ageSeconds?: number } = {}) => {
    const payload = JSON.stringify({
      type: 'block_actions',
      user: { id: 'U0123', username: 'dee.slack', name: 'dee.slack' },
      actions: [{ type: 'button', action_id: 'acknowledge', block_id: 'concierge-ops-ack', value: code }],
    });
    const raw = new URLSearchParams({ payload }).toString();
    const ts = String(Math.floor(Date.now() / 1000) - (opts.ageSeconds ?? 0));
    const mac = createHmac('sha256', opts.secret ?? slackSecret)
      .update(`v0:${ts}:${raw}`)
      .digest('hex');
    return fetch(`${cp.url}/api/v1/slack/actions`, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/x-www-form-urlencoded',
        'X-Slack-Request-Timestamp': ts,
        'X-Slack-Signature': `v0=${mac}`,
      },
      body: raw,
    });
  };

  it("acknowledges from Slack's Acknowledge button only when Slack signed the request, within 5 minutes", async () => {
    assert.ok(paged);
    const forged = await slackPress(paged, { secret: 'not-the-signing-secret-000' });
    assert.equal(forged.status, 403);
    const replayed = await slackPress(paged, { ageSeconds: 301 });
    assert.equal(replayed.status, 403);
    assert.equal((await cp.call('GET', `/api/v1/incidents/${paged}`)).body.status, 'open');
    const ok = await slackPress(paged);
    assert.equal(ok.status, 200);
    assert.equal(((await ok.json()) as { text: string }).text, `${paged} acknowledged by dee.slack.`);
    const inc = await cp.call('GET', `/api/v1/incidents/${paged}`);
    assert.equal(inc.body.status, 'acknowledged');
    assert.equal(inc.body.acknowledgedBy, 'dee.slack (slack)');
  });
});
