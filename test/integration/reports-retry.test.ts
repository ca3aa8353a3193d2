import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import {
  clientBody,
  instanceBody,
  startControlPlane,
  type TestControlPlane,
} from '../helpers/control-plane.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('report delivery: a refused send is recorded and retried until it goes through', () => {
  let cp: TestControlPlane;
  let server: SMTPServer;
  const mails: ParsedMail[] = [];
  let refusals = 0;

  before(async () => {
    // An SMTP server that answers the first RCPT TO with a temporary failure (451), then accepts.
    server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onRcptTo: (_addr, _session, cb) => {
        if (refusals++ === 0) {
          const err = new Error('mailbox busy, try later') as Error & { responseCode: number };
          err.responseCode = 451;
          return cb(err);
        }
        cb();
      },
      onData: (stream, _s, done) => {
        simpleParser(stream).then((m) => {
          mails.push(m);
          done();
        }, done);
      },
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.server.address() as AddressInfo).port;
    cp = await startControlPlane({
      SMTP_URL: `smtp://127.0.0.1:${port}?tls=none`,
      REPORT_SCHEDULER: 'off',
      WORKER_POLL_INTERVAL_MS: '100',
    });
    await cp.call('POST', '/api/v1/clients', {
      body: clientBody('retry', { timeZone: 'UTC', reportContacts: ['it@retry.example.test'] }),
    });
    await cp.call('POST', '/api/v1/instances', { body: instanceBody('retry', 'retry-prod') });
  });
  after(async () => {
    await cp.close();
    await new Promise<void>((r) => server.close(() => r()));
  });

  it('keeps the first error, then sends once on a later attempt', async function () {
    this.timeout(60_000);
    assert.deepEqual(await cp.ctx.reports.runMonthly(new Date('2026-11-01T08:00:00Z')), { generated: 1 });
    const row = async () =>
      (
        await cp.db.query<{ status: string; attempts: number; last_error: string | null }>(
          'select status, attempts, last_error from report_deliveries',
        )
      ).rows[0];
    const until = Date.now() + 45_000;
    let seenError: string | null = null;
    while (Date.now() < until) {
      const r = await row();
      if (r?.last_error) seenError = r.last_error;
      if (r?.status === 'sent') break;
      await sleep(100);
    }
    const r = await row();
    assert.equal(r?.status, 'sent');
    assert.equal(r?.attempts, 2);
    assert.equal(r?.last_error, null);
    assert.match(seenError ?? '', /451|mailbox busy/);
    await sleep(500);
    assert.equal(mails.length, 1);
    assert.equal(mails[0]!.attachments[0]!.filename, 'retry-2026-10.pdf');
  });
});
