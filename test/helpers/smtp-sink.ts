import type { AddressInfo } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';

/** An in-process SMTP server that keeps every message nodemailer delivers, parsed with mailparser. */
export class SmtpSink {
  readonly mails: ParsedMail[] = [];
  /** Connections that broke mid-message (a sender killed while it sent), kept as a real server would log them. */
  readonly brokenConnections: Error[] = [];
  private server!: SMTPServer;
  url = '';

  async start(): Promise<this> {
    this.server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onData: (stream, _session, done) => {
        simpleParser(stream)
          .then((mail) => {
            this.mails.push(mail);
            done();
          })
          .catch(done);
      },
    });
    // smtp-server passes on a reset inside a mail transaction as an 'error' event; unheard, it would be thrown.
    this.server.on('error', (err) => this.brokenConnections.push(err));
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', () => r()));
    const port = (this.server.server.address() as AddressInfo).port;
    this.url = `smtp://127.0.0.1:${port}?tls=none`;
    return this;
  }

  to(address: string): ParsedMail[] {
    return this.mails.filter((m) => JSON.stringify(m.to ?? '').includes(address));
  }

  async stop(): Promise<void> {
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}
