import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import twilio from 'twilio';
import { TwilioHttpClient } from '../../control-plane/src/notify/providers.ts';

const SID = 'AC' + '0123456789abcdef'.repeat(2);
const TOKEN = 'twilio-auth-token-for-tests-0123456789';

interface Seen {
  method: string;
  path: string;
  authorization: string | undefined;
  contentType: string | undefined;
  body: string;
}

/** A loopback server that records raw requests and answers as told (or not at all). */
async function server(answer: (seen: Seen, res: http.ServerResponse) => void) {
  const seen: Seen[] = [];
  const srv = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      const s = {
        method: req.method!,
        path: req.url!,
        authorization: req.headers.authorization,
        contentType: req.headers['content-type'],
        body,
      };
      seen.push(s);
      answer(s, res);
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}`,
    seen,
    close: () => {
      srv.closeAllConnections();
      return new Promise<void>((r) => srv.close(() => r()));
    },
  };
}

const json = (res: http.ServerResponse, status: number, body: object) =>
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));

describe('the twilio SDK over the lean HTTP client', () => {
  it('sends what the SDK sends: Basic auth, a form body with repeated keys for lists, to TWILIO_API_URL', async () => {
    const s = await server((_seen, res) =>
      json(res, 201, { sid: 'CA' + '0'.repeat(32), status: 'queued', account_sid: SID }),
    );
    try {
      const client = twilio(SID, TOKEN, { httpClient: new TwilioHttpClient(s.url) as never });
      const call = await client.calls.create({
        to: '+15551230001',
        from: '+15005550006',
        twiml: '<Response><Say>Incident 12.</Say></Response>',
        statusCallback: 'https://ops.example.test/api/v1/twilio/status',
        statusCallbackEvent: ['initiated', 'completed'],
      });
      assert.equal(call.sid, 'CA' + '0'.repeat(32));
      const [r] = s.seen;
      assert.equal(r!.method, 'POST');
      assert.equal(r!.path, `/2010-04-01/Accounts/${SID}/Calls.json`);
      assert.equal(r!.authorization, `Basic ${Buffer.from(`${SID}:${TOKEN}`).toString('base64')}`);
      assert.equal(r!.contentType, 'application/x-www-form-urlencoded');
      const form = new URLSearchParams(r!.body);
      assert.equal(form.get('To'), '+15551230001');
      assert.equal(form.get('Twiml'), '<Response><Say>Incident 12.</Say></Response>');
      assert.deepEqual(form.getAll('StatusCallbackEvent'), ['initiated', 'completed']);
    } finally {
      await s.close();
    }
  });

  it("raises the SDK's RestException with Twilio's status and code for an error answer", async () => {
    const s = await server((_seen, res) =>
      json(res, 400, { code: 21211, message: "The 'To' number is not a valid phone number.", status: 400 }),
    );
    try {
      const client = twilio(SID, TOKEN, { httpClient: new TwilioHttpClient(s.url) as never });
      await assert.rejects(
        client.messages.create({ to: '+1', from: '+15005550006', body: 'x' }),
        (e: { status?: number; code?: number }) => e.status === 400 && e.code === 21211,
      );
    } finally {
      await s.close();
    }
  });

  it('opens a new connection rather than reuse one left idle longer than the timeout (a NAT may have dropped it)', async () => {
    // A NAT or firewall that forgot an idle connection drops what is sent on it without a word: here, the
    // server answers the first request of each connection and silently ignores any later one on it.
    const answered = new WeakSet<object>();
    const srv = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        if (answered.has(req.socket)) return;
        answered.add(req.socket);
        json(res, 201, { sid: 'SM' + '1'.repeat(32), status: 'queued', account_sid: SID });
      });
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    const url = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
    try {
      const client = twilio(SID, TOKEN, { httpClient: new TwilioHttpClient(url, 400) as never });
      const send = () => client.messages.create({ to: '+15551230001', from: '+15005550006', body: 'x' });
      assert.equal((await send()).status, 'queued');
      await new Promise((r) => setTimeout(r, 700)); // idle longer than the timeout
      assert.equal((await send()).status, 'queued');
    } finally {
      srv.closeAllConnections();
      await new Promise<void>((r) => srv.close(() => r()));
    }
  });

  it('gives up on a Twilio that does not answer within the timeout', async () => {
    const s = await server(() => {}); // never answers
    try {
      const client = twilio(SID, TOKEN, { httpClient: new TwilioHttpClient(s.url, 300) as never });
      const started = Date.now();
      await assert.rejects(
        client.messages.create({ to: '+15551230001', from: '+15005550006', body: 'x' }),
        /timeout of 300ms exceeded/,
      );
      assert.ok(Date.now() - started < 5000);
    } finally {
      await s.close();
    }
  });
});
