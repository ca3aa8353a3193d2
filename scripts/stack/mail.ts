/**
 * The stack's SMTP sink (docker-compose runs Mailpit): accepts every message on loopback and keeps it as an
 * .eml file, so e-mail pages and Alertmanager's fallback mail can be read and nothing leaves the machine.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface MailSink {
  port: number;
  stop(): Promise<void>;
}

export async function startMailSink(dir: string): Promise<MailSink> {
  fs.mkdirSync(dir, { recursive: true });
  let n = 0;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, _session, done) {
      const name = `${new Date().toISOString().replace(/[:.]/g, '-')}-${++n}.eml`;
      const out = fs.createWriteStream(path.join(dir, name), { mode: 0o600 });
      stream.pipe(out);
      stream.on('end', () => done());
      stream.on('error', done);
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.server.address() as AddressInfo).port;
  return { port, stop: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}
