import nodemailer from 'nodemailer';
import twilio from 'twilio';
import type { PagingConfig } from '../config.ts';

/** The SDK has no base-URL option: a custom httpClient rewrites api.twilio.com to TWILIO_API_URL. */
class RewritingRequestClient extends twilio.RequestClient {
  constructor(private readonly base: string) {
    super({ timeout: 10_000 });
  }
  override request<T>(opts: Parameters<twilio.RequestClient['request']>[0] & { data?: T }) {
    return super.request<T>({ ...opts, uri: opts.uri.replace(/^https:\/\/api\.twilio\.com/, this.base) });
  }
}

export interface SmsSender {
  sms(to: string, body: string, statusCallback: string): Promise<string>;
  call(to: string, twiml: string, statusCallback: string): Promise<string>;
}
export interface MailSender {
  send(m: {
    to: string;
    subject: string;
    text: string;
    html: string;
    attachments?: { filename: string; content: Buffer; contentType: string }[];
  }): Promise<string>;
}

export function createTwilio(c: PagingConfig): SmsSender | undefined {
  if (!c.twilio) return undefined;
  const { accountSid, authToken, fromNumber } = c.twilio;
  const client = twilio(accountSid, authToken, {
    ...(c.twilioApiUrl ? { httpClient: new RewritingRequestClient(c.twilioApiUrl) } : {}),
  });
  return {
    async sms(to, body, statusCallback) {
      return (await client.messages.create({ to, from: fromNumber, body, statusCallback })).sid;
    },
    async call(to, twiml, statusCallback) {
      return (await client.calls.create({ to, from: fromNumber, twiml, statusCallback })).sid;
    },
  };
}

export function createMailer(c: PagingConfig): MailSender | undefined {
  if (!c.smtpUrl) return undefined;
  const u = new URL(c.smtpUrl);
  const transport = nodemailer.createTransport({
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
  });
  return {
    async send(m) {
      const info = await transport.sendMail({ from: c.mailFrom, ...m });
      return info.messageId;
    },
  };
}
