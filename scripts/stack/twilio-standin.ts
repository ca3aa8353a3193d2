import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface TwilioRequest {
  kind: 'message' | 'call';
  accountSid: string;
  auth: string;
  params: Record<string, string>;
  at: number;
}

/**
 * A loopback HTTP server playing Twilio's REST API (2010-04-01 Messages.json and Calls.json) for the real
 * twilio SDK: it records every request, answers like Twilio (201 + resource JSON) and fails on command. The
 * tests use it, and `npm run stack` runs one so that SMS and voice pages are visible without a Twilio account:
 * given `logFile`, it appends one readable line per SMS or call there (`tail -f` it).
 */
export class TwilioStandIn {
  readonly requests: TwilioRequest[] = [];
  constructor(private readonly logFile?: string) {}
  private failures: { status: number; count: number } = { status: 500, count: 0 };
  private server!: http.Server;
  url = '';

  async start(): Promise<this> {
    // A client that dies while it sends (a control plane killed mid-request) aborts the request: not ours to throw.
    this.server = http.createServer((req, res) => void this.handle(req, res).catch(() => res.destroy()));
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', () => r()));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  /** The next `count` API calls answer `status` with Twilio's error body. */
  fail(count: number, status = 500): void {
    this.failures = { status, count };
  }

  messages(to?: string): TwilioRequest[] {
    return this.requests.filter((r) => r.kind === 'message' && (to === undefined || r.params.To === to));
  }
  calls(to?: string): TwilioRequest[] {
    return this.requests.filter((r) => r.kind === 'call' && (to === undefined || r.params.To === to));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse) {
    let raw = '';
    for await (const chunk of req) raw += chunk;
    const m = /^\/2010-04-01\/Accounts\/(AC[0-9a-fA-F]{32})\/(Messages|Calls)\.json$/.exec(req.url ?? '');
    const send = (status: number, body: object) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (!m || req.method !== 'POST') return send(404, { code: 20404, message: 'not found', status: 404 });
    const params = Object.fromEntries(new URLSearchParams(raw));
    const kind = m[2] === 'Messages' ? 'message' : 'call';
    this.requests.push({
      kind,
      accountSid: m[1]!,
      auth: req.headers.authorization ?? '',
      params,
      at: Date.now(),
    });
    if (this.logFile) fs.appendFileSync(this.logFile, logLine(kind, params), { mode: 0o600 });
    if (this.failures.count > 0) {
      this.failures.count--;
      const status = this.failures.status;
      return send(status, {
        code: status >= 500 ? 20500 : 21211,
        message: status >= 500 ? 'Internal Server Error' : "The 'To' number is not a valid phone number.",
        more_info: 'https://www.twilio.com/docs/errors/20500',
        status,
      });
    }
    const now = new Date().toUTCString();
    const sid = (kind === 'message' ? 'SM' : 'CA') + crypto.randomBytes(16).toString('hex');
    const common = {
      sid,
      account_sid: m[1],
      to: params.To,
      from: params.From,
      status: 'queued',
      date_created: now,
      date_updated: now,
      api_version: '2010-04-01',
      uri: `/2010-04-01/Accounts/${m[1]}/${m[2]}/${sid}.json`,
    };
    if (kind === 'message')
      return send(201, {
        ...common,
        body: params.Body,
        num_segments: '1',
        direction: 'outbound-api',
        num_media: '0',
        price: null,
        price_unit: 'USD',
        error_code: null,
        error_message: null,
        messaging_service_sid: null,
        date_sent: null,
        subresource_uris: { media: `${common.uri.replace('.json', '')}/Media.json` },
      });
    return send(201, { ...common, direction: 'outbound-api', answered_by: null, duration: null });
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

/** `<time> SMS to <To> from <From>: <Body>`, or for a call what its TwiML says, for a person to read. */
export function logLine(kind: 'message' | 'call', params: Record<string, string>): string {
  const said = [...(params.Twiml ?? '').matchAll(/<Say>([^<]*)<\/Say>/g)].map((m) => m[1]!);
  // A call's TwiML reads the page twice: once is enough to show.
  const text = kind === 'message' ? (params.Body ?? '') : [...new Set(said)].join(' ');
  const unxml = text
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, '&');
  return `${new Date().toISOString()} ${kind === 'message' ? 'SMS' : 'CALL'} to ${params.To} from ${params.From}: ${unxml.replace(/\s+/g, ' ')}\n`;
}
