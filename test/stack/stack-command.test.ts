/**
 * `npm run stack -- --ha` as a user runs it: two control-plane replicas on one embedded PostgreSQL, three
 * clustered Alertmanagers, Prometheus, the prober and the backup exporter. An alert posted to one Alertmanager
 * opens exactly one incident and pages once per step (the real twilio SDK against a Twilio stand-in); SIGTERM
 * stops every process the stack started.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { waitFor } from '../helpers/alerts.ts';
import { clientBody } from '../helpers/control-plane.ts';
import { pidsWithEnv, postgresPidsUnder, reachableTempDir } from '../helpers/process.ts';
import { seedRota } from '../helpers/stack.ts';
import { requireTool } from '../helpers/tools.ts';
import { TwilioStandIn } from '../helpers/twilio-standin.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const OLIVIA = '+15551230002';
const DEV = '+15551230003';
// The stack starts the demo fleet when it is there; then Prometheus scrapes its instances too.
const DEMO = existsSync(path.join(ROOT, 'exporters/concierge-demo'));

describe('npm run stack -- --ha', function () {
  this.timeout(240_000);
  let tw: TwilioStandIn;
  let dir: string;
  let child: ChildProcess;
  let out = '';
  let exited: Promise<number | null>;
  let admin: string;
  const urls: Record<string, string> = {};

  const api = async (base: string, method: string, url: string, body?: unknown) => {
    const res = await fetch(base + url, {
      method,
      headers: { authorization: `Bearer ${admin}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: res.status, body: (await res.json().catch(() => undefined)) as any }; // eslint-disable-line @typescript-eslint/no-explicit-any
  };

  before(async () => {
    requireTool('prometheus');
    requireTool('prometheus-alertmanager');
    tw = await new TwilioStandIn().start();
    dir = await reachableTempDir('stack-cmd-');
    child = spawn('npm', ['run', 'stack', '--', '--ha'], {
      cwd: ROOT,
      env: {
        ...process.env,
        DATA_DIR: dir,
        TWILIO_ACCOUNT_SID: 'AC' + 'ef'.repeat(16),
        TWILIO_AUTH_TOKEN: 'twilio-auth-token-for-tests-0123456789',
        TWILIO_FROM_NUMBER: '+15005550006',
        TWILIO_API_URL: tw.url,
        WORKER_POLL_INTERVAL_MS: '100',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (out += d));
    exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`the stack did not print its URLs in time:\n${out}`)),
        180_000,
      );
      child.stdout!.on('data', () => {
        if (/Ctrl-C stops everything/.test(out)) {
          clearTimeout(timer);
          resolve();
        }
      });
      void exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`the stack exited with ${code}:\n${out}`));
      });
    });
    for (const m of out.matchAll(/^ {2}(\S.*?\S) {2,}(https?:\/\/127\.0\.0\.1:\d+)/gm)) urls[m[1]!] = m[2]!;
    admin = (await fs.readFile(path.join(dir, 'secrets/admin.token'), 'utf8')).trim();
  });

  after(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
    await tw.stop();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('prints the URL of both control planes, three Alertmanagers, Prometheus, the exporters and the demo', () => {
    assert.deepEqual(
      Object.keys(urls).sort(),
      [
        'alertmanager 1',
        'alertmanager 2',
        'alertmanager 3',
        'backup exporter',
        'control plane 1',
        'control plane 2',
        'fleet prober',
        'prometheus',
        ...(DEMO ? ['demo fleet'] : []),
      ].sort(),
    );
    assert.match(out, /grafana +skipped: grafana-server is not installed/);
  });

  it('runs the Alertmanagers as one cluster that Prometheus sends to, and scrapes every part', async () => {
    for (const n of [1, 2, 3]) {
      const peers = await waitFor(
        `alertmanager ${n} sees three members`,
        async () => {
          const s = (await (await fetch(`${urls[`alertmanager ${n}`]}/api/v2/status`)).json()) as {
            cluster: { status: string; peers: unknown[] };
          };
          return s.cluster.status === 'ready' && s.cluster.peers.length === 3 ? s.cluster.peers : undefined;
        },
        30_000,
      );
      assert.equal(peers.length, 3);
    }
    const prom = urls.prometheus!;
    const ams = (await (await fetch(`${prom}/api/v1/alertmanagers`)).json()) as {
      data: { activeAlertmanagers: { url: string }[] };
    };
    assert.deepEqual(
      ams.data.activeAlertmanagers.map((a) => new URL(a.url).origin).sort(),
      [1, 2, 3].map((n) => urls[`alertmanager ${n}`]).sort(),
    );
    const health = await waitFor(
      'every target scraped once',
      async () => {
        const t = (await (await fetch(`${prom}/api/v1/targets`)).json()) as {
          data: { activeTargets: { labels: { job: string }; health: string; lastError: string }[] };
        };
        const list = t.data.activeTargets
          .map((x) => `${x.labels.job} ${x.health} ${x.lastError}`.trim())
          .sort();
        const settled = list.every((l) => !l.includes(' unknown'));
        // The demo's instances come through the control plane's service discovery (refreshed every 15 s here).
        const demo = list.filter((l) => l.startsWith('concierge ')).length;
        return settled && (!DEMO || demo > 0) ? list : undefined;
      },
      90_000,
    );
    const concierge = health.filter((l) => l.startsWith('concierge '));
    assert.deepEqual(concierge, DEMO ? concierge.map(() => 'concierge up') : []);
    assert.deepEqual(
      health.filter((l) => !l.startsWith('concierge ')),
      [
        'alertmanager up',
        'alertmanager up',
        'alertmanager up',
        'backup-exporter up',
        'control-plane up',
        'control-plane up',
        'fleet-prober up',
        'prometheus up',
      ],
    );
  });

  it('opens one incident and pages once per step for an alert posted to one Alertmanager', async () => {
    const cp1 = urls['control plane 1']!;
    assert.equal((await api(cp1, 'POST', '/api/v1/clients', clientBody('bright-smiles'))).status, 201);
    // The alert names this instance and service: they must be the client's own to show on the incident. Its
    // probe reaches the control plane's /healthz, so the stack's prober sees it up and raises nothing itself.
    const instance = {
      client: 'bright-smiles',
      slug: 'bright-prod',
      environment: 'prod',
      baseUrl: cp1,
      services: [{ name: 'backend', kind: 'backend', probe: { type: 'http', url: `${cp1}/healthz` } }],
    };
    assert.equal((await api(cp1, 'POST', '/api/v1/instances', instance)).status, 201);
    // No API for responders yet: the rota goes straight into the stack's database, and level 2 of the shipped
    // ladder (0, 5, 10, 15 minutes) comes after a few seconds so the test can watch it.
    const { databaseUrl } = JSON.parse(await fs.readFile(path.join(dir, 'stack.json'), 'utf8')) as {
      databaseUrl: string;
    };
    await seedRota(databaseUrl, [OLIVIA, DEV], 6);

    // Alertmanager 2 delivers to control plane 2: the replica that did not migrate takes the webhook.
    const res = await fetch(`${urls['alertmanager 2']}/api/v2/alerts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([
        {
          labels: {
            alertname: 'InstanceDown',
            severity: 'critical',
            client: 'bright-smiles',
            instance: 'bright-prod',
            service: 'backend',
          },
          annotations: { summary: 'Concierge instance bright-prod is down.' },
          startsAt: new Date().toISOString(),
        },
      ]),
    });
    assert.equal(res.status, 200);
    const sms = await waitFor('the level 1 SMS', () => tw.messages(OLIVIA)[0], 60_000);
    assert.match(
      sms.params.Body!,
      /^\[CRIT\] INC-\d{6} bright-smiles\/bright-prod\/backend: Concierge instance/,
    );
    await waitFor('the level 2 SMS', () => tw.messages(DEV)[0], 60_000);
    // Both replicas poll the same job queue; give a second sender time to show up if there were one.
    await new Promise((r) => setTimeout(r, 5000));
    for (const cp of [cp1, urls['control plane 2']!]) {
      const list = await api(cp, 'GET', '/api/v1/incidents?client=bright-smiles');
      assert.equal(list.status, 200);
      assert.equal(list.body.length, 1, `one incident seen from ${cp}`);
      assert.equal(list.body[0].status, 'open');
    }
    // One SMS and one call per level (critical), each to that level's responder.
    assert.deepEqual(
      [tw.messages(OLIVIA).length, tw.calls(OLIVIA).length, tw.messages(DEV).length, tw.calls(DEV).length],
      [1, 1, 1, 1],
    );
    assert.equal(tw.requests.length, 4);
    // E-mail lands in the stack's SMTP sink: one page per level from the control plane, and Alertmanager's
    // fallback mail for critical alerts that does not depend on the control plane.
    const recipients = await waitFor(
      'the e-mails',
      async () => {
        const to: string[] = [];
        for (const f of await fs.readdir(path.join(dir, 'mail')))
          to.push(/^To: (.*)$/im.exec(await fs.readFile(path.join(dir, 'mail', f), 'utf8'))![1]!.trim());
        // The client's report contact may get its monthly report (a new client, a finished month): not a page.
        const pages = to.filter((t) => !t.endsWith('@bright-smiles.example.test'));
        return pages.length >= 3 ? pages.sort() : undefined;
      },
      30_000,
    );
    assert.deepEqual(recipients, [
      'dev@ops.example.test',
      'olivia@ops.example.test',
      'oncall@concierge-ops.invalid',
    ]);
  });

  it('stops every process it started on SIGTERM, the database last', async () => {
    const before = await pidsWithEnv('STACK_DIR', dir);
    assert.ok(before.length >= 9, `stack children found: ${before.length}`);
    child.kill('SIGTERM');
    assert.equal(await exited, 0, out);
    assert.match(out, /stopping the stack \.\.\.\nstopped/);
    assert.deepEqual(await pidsWithEnv('STACK_DIR', dir), []);
    assert.deepEqual(await postgresPidsUnder(dir), []);
  });
});
