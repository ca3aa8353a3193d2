import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { Transporter } from 'nodemailer';
import type twilio from 'twilio';
import type { PagingConfig } from '../config.ts';
import { loadNodemailer, loadTwilio } from '../lazy.ts';

type TwilioRequest = Parameters<twilio.RequestClient['request']>[0];

/** The SDK has no base-URL option: `uri` with TWILIO_API_URL in place of https://api.twilio.com, when set. */
const rebase = (uri: string, base: string | undefined) =>
  base ? uri.replace(/^https:\/\/api\.twilio\.com/, base) : uri;

/**
 * The twilio SDK's HTTP client, lean: node's own http/https with keep-alive connections instead of axios
 * (about a millisecond of CPU less per page; bench:page-latency), and TWILIO_API_URL honoured (`rebase`).
 * Same contract as the SDK's RequestClient:
 * Basic auth, form bodies with repeated keys for lists, query parameters, a per-request timeout, and any
 * status handed back to the SDK, which raises RestException for non-2xx. Behind HTTP_PROXY the SDK's own
 * client is used instead (it knows the proxy); TWILIO_CA_BUNDLE is honoured like the SDK does.
 */
export class TwilioHttpClient {
  private readonly agents: { http: http.Agent; https: https.Agent };
  constructor(
    private readonly base: string | undefined,
    private readonly timeoutMs = 10_000,
  ) {
    const ca = process.env.TWILIO_CA_BUNDLE ? fs.readFileSync(process.env.TWILIO_CA_BUNDLE) : undefined;
    // An idle connection is closed after `timeoutMs`, as the SDK's own client does (its agent's `timeout`):
    // pages are minutes apart, and a connection a NAT or Twilio's edge dropped meanwhile would swallow the
    // next page until the timeout.
    const keep = { keepAlive: true, maxSockets: 64, timeout: timeoutMs };
    this.agents = { http: new http.Agent(keep), https: new https.Agent({ ...keep, ...(ca ? { ca } : {}) }) };
  }

  request(
    opts: TwilioRequest,
  ): Promise<{ statusCode: number; body: string; headers: http.IncomingHttpHeaders }> {
    const url = new URL(rebase(opts.uri, this.base));
    if (opts.params)
      for (const [k, v] of formPairs(opts.params as Record<string, unknown>)) url.searchParams.append(k, v);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(opts.headers ?? {})) if (v !== undefined) headers[k] = String(v);
    if (opts.username && opts.password)
      headers.Authorization = `Basic ${Buffer.from(`${opts.username}:${opts.password}`).toString('base64')}`;
    let body: string | undefined;
    if (opts.data !== undefined && opts.data !== null) {
      const json = /application\/json/i.test(headers['Content-Type'] ?? '');
      body = json
        ? JSON.stringify(opts.data)
        : new URLSearchParams(formPairs(opts.data as Record<string, unknown>)).toString();
      if (!json) headers['Content-Type'] = 'application/x-www-form-urlencoded';
      headers['Content-Length'] = String(Buffer.byteLength(body));
    }
    const secure = url.protocol === 'https:';
    const timeout = opts.timeout ?? this.timeoutMs;
    return new Promise((resolve, reject) => {
      const req = (secure ? https : http).request(
        url,
        { method: opts.method.toUpperCase(), headers, agent: secure ? this.agents.https : this.agents.http },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            clearTimeout(timer);
            resolve({
              statusCode: res.statusCode ?? 0,
              body: Buffer.concat(chunks).toString('utf8'),
              headers: res.headers,
            });
          });
          res.on('error', reject);
        },
      );
      // The whole request, answer included, within `timeout` (as the SDK's client does).
      const timer = setTimeout(() => req.destroy(new Error(`timeout of ${timeout}ms exceeded`)), timeout);
      req.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      req.end(body);
    });
  }
}

/** Form pairs as the SDK encodes them: a list repeats its key, undefined is left out. */
function formPairs(data: Record<string, unknown>): [string, string][] {
  const out: [string, string][] = [];
  for (const [k, v] of Object.entries(data)) {
    if (v === undefined) continue;
    for (const item of Array.isArray(v) ? v : [v])
      out.push([k, item instanceof Date ? item.toISOString() : String(item)]);
  }
  return out;
}

/** Behind HTTP_PROXY: the SDK's own client, with TWILIO_API_URL in place of api.twilio.com when set. */
function rewritingRequestClient(sdk: typeof twilio, base: string | undefined): twilio.RequestClient {
  class RewritingRequestClient extends sdk.RequestClient {
    constructor() {
      super({ timeout: 10_000 });
    }
    override request<T>(opts: TwilioRequest & { data?: T }) {
      return super.request<T>({ ...opts, uri: rebase(opts.uri, base) });
    }
  }
  return new RewritingRequestClient();
}

export interface SmsSender {
  /** Without `statusCallback` Twilio reports no status (a clinic's update has no page row to record it on). */
  sms(to: string, body: string, statusCallback?: string): Promise<string>;
  call(to: string, twiml: string, statusCallback: string): Promise<string>;
}
export interface MailSender {
  send(m: {
    to: string;
    subject: string;
    text: string;
    html: string;
    /** Extra header fields (List-Unsubscribe on a clinic's status update). */
    headers?: Record<string, string>;
    attachments?: { filename: string; content: Buffer; contentType: string }[];
  }): Promise<string>;
}

export function createTwilio(c: PagingConfig): SmsSender | undefined {
  if (!c.twilio) return undefined;
  const { accountSid, authToken, fromNumber } = c.twilio;
  // The SDK is loaded and its client made at the first page (lazy.ts says why), then kept.
  let made: ReturnType<typeof twilio> | undefined;
  const client = () => {
    if (made) return made;
    const sdk = loadTwilio();
    const httpClient = process.env.HTTP_PROXY
      ? rewritingRequestClient(sdk, c.twilioApiUrl)
      : (new TwilioHttpClient(c.twilioApiUrl) as unknown as twilio.RequestClient);
    return (made = sdk(accountSid, authToken, { httpClient }));
  };
  return {
    async sms(to, body, statusCallback) {
      return (await client().messages.create({ to, from: fromNumber, body, statusCallback })).sid;
    },
    async call(to, twiml, statusCallback) {
      return (await client().calls.create({ to, from: fromNumber, twiml, statusCallback })).sid;
    },
  };
}

export function createMailer(c: PagingConfig): MailSender | undefined {
  if (!c.smtpUrl) return undefined;
  const u = new URL(c.smtpUrl);
  // nodemailer is loaded at the first mail (lazy.ts says why); the transport, and its pool, made once.
  const options = {
    host: u.hostname,
    port: Number(u.port || (u.protocol === 'smtps:' ? 465 : 587)),
    secure: u.protocol === 'smtps:',
    // ?tls=none: a plain loopback relay (tests, a local MTA) that offers no STARTTLS.
    ignoreTLS: u.searchParams.get('tls') === 'none',
    ...(u.username
      ? { auth: { user: decodeURIComponent(u.username), pass: decodeURIComponent(u.password) } }
      : {}),
    connectionTimeout: 10_000,
    socketTimeout: 20_000,
  };
  let transport: Transporter | undefined;
  return {
    async send(m) {
      transport ??= loadNodemailer().createTransport(options);
      const info = await transport.sendMail({ from: c.mailFrom, ...m });
      return info.messageId;
    },
  };
}
