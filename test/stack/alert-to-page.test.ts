/**
 * The whole path with real parts: three clustered Alertmanagers 0.25 (config rendered from
 * alertmanager/alertmanager.yml) -> the control plane's webhook -> incident -> escalation job -> the real
 * twilio SDK -> a Twilio API stand-in. Exactly one incident and one SMS per step.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '@concierge-ops/shared/ports';
import { waitFor } from '../helpers/alerts.ts';
import {
  clientBody,
  instanceBody,
  startControlPlane,
  type TestControlPlane,
} from '../helpers/control-plane.ts';
import { SmtpSink } from '../helpers/smtp-sink.ts';
import { requireTool } from '../helpers/tools.ts';
import { TwilioStandIn } from '../helpers/twilio-standin.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const OLIVIA = '+15551230001';

describe('alert to page through three clustered Alertmanagers', function () {
  this.timeout(120_000);
  let cp: TestControlPlane;
  let tw: TwilioStandIn;
  let smtp: SmtpSink;
  let tmp: string;
  const ams: { child: ChildProcess; url: string; exited: Promise<unknown> }[] = [];

  before(async () => {
    const bin = requireTool('prometheus-alertmanager');
    tw = await new TwilioStandIn().start();
    smtp = await new SmtpSink().start();
    cp = await startControlPlane({
      TWILIO_ACCOUNT_SID: 'AC' + 'cd'.repeat(16),
      TWILIO_AUTH_TOKEN: 'twilio-auth-token-for-tests-0123456789',
      TWILIO_FROM_NUMBER: '+15005550006',
      TWILIO_API_URL: tw.url,
      PUBLIC_URL: 'https://ops.example.test',
      WORKER_POLL_INTERVAL_MS: '100',
    });
    await cp.call('POST', '/api/v1/clients', { body: clientBody('smile-dental') });
    // The instance the alert names: an incident keeps an instance label only when it is its client's own.
    await cp.call('POST', '/api/v1/instances', { body: instanceBody('smile-dental', 'smile-prod') });
    await cp.db.query(
      `insert into responders (name, role, phone, email) values ('Olivia', 'oncall-engineer', $1, null)`,
      [OLIVIA],
    );
    const token = await cp.token('alertmanager');
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'am-page-'));
    await fs.cp(path.join(ROOT, 'alertmanager/templates'), path.join(tmp, 'templates'), { recursive: true });
    await fs.writeFile(path.join(tmp, 'token'), token, { mode: 0o600 });
    const smtpPort = new URL(smtp.url).port;
    const rendered = (await fs.readFile(path.join(ROOT, 'alertmanager/alertmanager.yml'), 'utf8'))
      .replaceAll('http://control-plane:8080', cp.url)
      .replaceAll('/etc/concierge-ops/secrets/alertmanager.token', path.join(tmp, 'token'))
      .replaceAll("smtp_smarthost: 'localhost:25'", `smtp_smarthost: '127.0.0.1:${smtpPort}'`);
    await fs.writeFile(path.join(tmp, 'alertmanager.yml'), rendered);
    const cluster = await Promise.all([0, 1, 2].map(() => freePort()));
    for (let i = 0; i < 3; i++) {
      const port = await freePort();
      const url = `http://127.0.0.1:${port}`;
      const child = spawn(
        bin,
        [
          `--config.file=${path.join(tmp, 'alertmanager.yml')}`,
          `--storage.path=${path.join(tmp, `data${i}`)}`,
          `--web.listen-address=127.0.0.1:${port}`,
          `--web.external-url=${url}`,
          `--cluster.listen-address=127.0.0.1:${cluster[i]}`,
          ...cluster.filter((_, j) => j !== i).map((p) => `--cluster.peer=127.0.0.1:${p}`),
          '--cluster.peer-timeout=3s',
          '--cluster.gossip-interval=100ms',
        ],
        { stdio: 'ignore' },
      );
      ams.push({ child, url, exited: new Promise((r) => child.once('exit', r)) });
    }
    for (const am of ams)
      await waitFor(
        'alertmanager ready',
        async () => ((await fetch(`${am.url}/-/ready`).catch(() => undefined))?.ok ? true : undefined),
        30_000,
      );
  });

  after(async () => {
    for (const am of ams) if (am.child.exitCode === null) am.child.kill('SIGTERM');
    await Promise.all(ams.map((a) => a.exited));
    await cp.close();
    await tw.stop();
    await smtp.stop();
    await fs.rm(tmp, { recursive: true, force: true });
  });

  it('opens one incident and sends one SMS when the same alert is posted to all three', async () => {
    const alert = [
      {
        labels: {
          alertname: 'InstanceDown',
          severity: 'critical',
          client: 'smile-dental',
          instance: 'smile-prod',
          service: 'backend',
        },
        annotations: { summary: 'Concierge instance smile-prod is down.' },
        startsAt: new Date().toISOString(),
      },
    ];
    for (const am of ams) {
      const r = await fetch(`${am.url}/api/v2/alerts`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(alert),
      });
      assert.equal(r.status, 200);
    }
    const sms = await waitFor('the SMS page', () => tw.messages(OLIVIA)[0], 60_000);
    assert.match(
      sms.params.Body!,
      /^\[CRIT\] INC-\d{6} smile-dental\/smile-prod\/backend: Concierge instance/,
    );
    // Give the other two Alertmanagers time to deliver too (peer timeout 3 s each).
    await new Promise((r) => setTimeout(r, 8000));
    assert.equal(await cp.count('incidents'), 1);
    assert.equal(tw.messages(OLIVIA).length, 1);
    // A voice call too (critical), once.
    assert.equal(tw.calls(OLIVIA).length, 1);
  });
});
