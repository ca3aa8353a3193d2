import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import pg from 'pg';
import { freePort } from '@concierge-ops/shared/ports';
import { alertPayload, waitFor } from '../helpers/alerts.ts';
import { createTestDatabase, dropTestDatabase } from '../helpers/db.ts';
import { SmtpSink } from '../helpers/smtp-sink.ts';
import { TwilioStandIn } from '../helpers/twilio-standin.ts';

const ADMIN = 'crash-test-admin-token-0123456789abcdef';
const OLIVIA = '+15551230001';
const DEV = '+15551230002';
const LEVEL2_DELAY_S = 6;

interface Proc {
  child: ChildProcess;
  url: string;
  exited: Promise<unknown>;
}

/** The real process entry (node + tsx, no npm in between) so SIGKILL hits the control plane itself. */
async function startProcess(env: Record<string, string>): Promise<Proc> {
  const port = String(await freePort());
  const child = spawn(process.execPath, ['--import', 'tsx', 'control-plane/src/main.ts'], {
    cwd: path.resolve(import.meta.dirname, '../..'),
    env: { ...process.env, LOG_LEVEL: 'warn', ...env, PORT: port, HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise((r) => child.on('exit', r));
  await waitFor(
    `control plane to listen:\n${out}`,
    () => (/listening on http/.test(out) ? true : undefined),
    60000,
  );
  return { child, url: `http://127.0.0.1:${port}`, exited };
}

describe('paging across crashes and replicas', () => {
  let tw: TwilioStandIn;
  let smtp: SmtpSink;
  let dbUrl: string;
  let db: pg.Pool;
  let env: Record<string, string>;
  const procs: Proc[] = [];

  before(async () => {
    tw = await new TwilioStandIn().start();
    smtp = await new SmtpSink().start();
    dbUrl = await createTestDatabase();
    db = new pg.Pool({ connectionString: dbUrl, max: 2 });
    await db.query(
      `insert into responders (name, role, phone, email) values
         ('Olivia', 'oncall-engineer', $1, 'olivia@ops.example.test'), ('Dev', 'devops-lead', $2, null)`,
      [OLIVIA, DEV],
    );
    await db.query(`update escalation_levels set delay_seconds = $1 where level = 2`, [LEVEL2_DELAY_S]);
    env = {
      DATABASE_URL: dbUrl,
      BOOTSTRAP_ADMIN_TOKEN: ADMIN,
      PUBLIC_URL: 'https://ops.example.test',
      TWILIO_ACCOUNT_SID: 'AC' + 'ab'.repeat(16),
      TWILIO_AUTH_TOKEN: 'twilio-auth-token-for-tests-0123456789',
      TWILIO_FROM_NUMBER: '+15005550006',
      TWILIO_API_URL: tw.url,
      SMTP_URL: smtp.url,
      ACK_LINK_SECRET: 'ack-link-secret-for-tests-0123456789abcdef',
      WORKER_POLL_INTERVAL_MS: '100',
    };
  });
  after(async () => {
    for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    await Promise.all(procs.map((p) => p.exited));
    await db.end();
    await dropTestDatabase(dbUrl);
    await tw.stop();
    await smtp.stop();
  });

  const hook = (url: string, body: unknown) =>
    fetch(`${url}/api/v1/alertmanager/webhook`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    }).then(async (r) => ({ status: r.status, body: (await r.json()) as { incident: string } }));
  const sms = (code: string, to: string) => tw.messages(to).filter((m) => m.params.Body?.includes(code));

  it('pages level 2 on time, once, after the control plane is killed with SIGKILL between level 1 and 2', async () => {
    const a = await startProcess(env);
    procs.push(a);
    const r = await hook(a.url, alertPayload({ groupKey: 'g-crash', severity: 'warning' }));
    assert.equal(r.status, 200);
    const code = r.body.incident;
    await waitFor('level 1 SMS', () => (sms(code, OLIVIA).length ? true : undefined));
    a.child.kill('SIGKILL');
    await a.exited;
    const { rows } = await db.query<{ opened: Date }>(
      `select opened_at as opened from incidents where code = $1`,
      [code],
    );
    const b = await startProcess(env);
    procs.push(b);
    await waitFor('level 2 SMS after the restart', () => (sms(code, DEV).length ? true : undefined), 30000);
    const late = sms(code, DEV)[0]!.at - rows[0]!.opened.getTime();
    assert.ok(late >= LEVEL2_DELAY_S * 1000, `level 2 paged ${late} ms after opening, before its delay`);
    await new Promise((res) => setTimeout(res, 1000));
    assert.equal(sms(code, OLIVIA).length, 1);
    assert.equal(sms(code, DEV).length, 1);
  });

  it('pages every step once with two control-plane processes on one database and duplicate webhooks to both', async () => {
    const running = procs.filter((p) => p.child.exitCode === null && p.child.signalCode === null);
    const second = await startProcess(env);
    procs.push(second);
    const [x, y] = [running[0]!, second];
    const body = alertPayload({ groupKey: 'g-replicas', severity: 'warning' });
    const answers = await Promise.all([
      hook(x.url, body),
      hook(y.url, body),
      hook(x.url, body),
      hook(y.url, body),
    ]);
    assert.ok(answers.every((a) => a.status === 200));
    const code = answers[0]!.body.incident;
    assert.ok(answers.every((a) => a.body.incident === code));
    await waitFor('level 2 SMS', () => (sms(code, DEV).length ? true : undefined), 30000);
    await new Promise((res) => setTimeout(res, 1500));
    assert.equal(sms(code, OLIVIA).length, 1);
    assert.equal(sms(code, DEV).length, 1);
    assert.equal(smtp.to('olivia@ops.example.test').filter((m) => m.subject?.includes(code)).length, 1);
  });

  it("counts each incident's failure to page and to ack once over two replicas, whichever recorded it", async () => {
    const live = procs.filter((p) => p.child.exitCode === null && p.child.signalCode === null);
    assert.equal(live.length, 2);
    /** A histogram's count summed over the replicas, as Prometheus' sum() reads it. */
    const total = async (name: string) => {
      let n = 0;
      for (const p of live) {
        const text = await (
          await fetch(`${p.url}/metrics`, { headers: { authorization: `Bearer ${ADMIN}` } })
        ).text();
        n += Number(new RegExp(`^${name}_count\\{severity="warning"\\} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
      }
      return n;
    };
    const [page0, ack0] = [
      await total('concierge_ops_failure_to_page_seconds'),
      await total('concierge_ops_failure_to_ack_seconds'),
    ];
    // Each group's webhook delivered twice to each replica: one incident, paged by SMS and e-mail.
    const codes: string[] = [];
    for (let g = 0; g < 4; g++) {
      const body = alertPayload({
        groupKey: `g-timing-${g}`,
        severity: 'warning',
        fingerprints: [`ff0${g}`],
      });
      const answers = await Promise.all(live.flatMap((p) => [hook(p.url, body), hook(p.url, body)]));
      codes.push(answers[0]!.body.incident);
    }
    await waitFor('every incident paged', async () => {
      const { rows } = await db.query(
        `select count(*)::int as n from incidents where code = any($1) and first_page_at is not null`,
        [codes],
      );
      return rows[0].n === codes.length ? true : undefined;
    });
    await new Promise((res) => setTimeout(res, 1000));
    assert.equal((await total('concierge_ops_failure_to_page_seconds')) - page0, codes.length);
    // Acknowledged twice each, once through each replica: the second changes nothing.
    for (const code of codes)
      for (const p of live)
        await fetch(`${p.url}/api/v1/incidents/${code}/ack`, {
          method: 'POST',
          headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
          body: '{}',
        });
    assert.equal((await total('concierge_ops_failure_to_ack_seconds')) - ack0, codes.length);
  });
});
