/**
 * `npm run stack -- --ha` as a user runs it: two control-plane replicas on one embedded PostgreSQL, three
 * clustered Alertmanagers, Prometheus, the prober and the backup exporter. With no Twilio account and no
 * responders of our own, an alert posted to one Alertmanager opens exactly one incident and pages the demo
 * responders the stack seeded once per step (the real twilio SDK against the stack's own Twilio stand-in, whose
 * log the banner names); SIGTERM stops every process the stack started.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { waitFor } from '../helpers/alerts.ts';
import { clientBody } from '../helpers/control-plane.ts';
import { pidsWithEnv, postgresPidsUnder, reachableTempDir } from '../helpers/process.ts';
import { setLevelDelay } from '../helpers/stack.ts';
import { requireTool } from '../helpers/tools.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
// The stack starts the demo fleet when it is there; then Prometheus scrapes its instances too.
const DEMO = existsSync(path.join(ROOT, 'exporters/concierge-demo'));

describe('npm run stack -- --ha', function () {
  this.timeout(240_000);
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
    dir = await reachableTempDir('stack-cmd-');
    const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dir, WORKER_POLL_INTERVAL_MS: '100' };
    // As a newcomer runs it: no Twilio account, so the stack's own stand-in takes the SMS and calls.
    for (const k of [
      'TWILIO_ACCOUNT_SID',
      'TWILIO_AUTH_TOKEN',
      'TWILIO_FROM_NUMBER',
      'TWILIO_API_URL',
      'SMTP_URL',
    ])
      delete env[k];
    child = spawn('npm', ['run', 'stack', '--', '--ha'], {
      cwd: ROOT,
      env,
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
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('prints the URL of both control planes, three Alertmanagers, Prometheus, the exporters and the demo', () => {
    assert.deepEqual(
      Object.keys(urls).sort(),
      [
        'Twilio stand-in',
        'alertmanager 1',
        'alertmanager 2',
        'alertmanager 3',
        'backup exporter',
        'control plane 1',
        'control plane 2',
        'fleet prober 1',
        'fleet prober 2',
        'fleet prober 3',
        'prometheus',
        // The stack's own host and database, registered on the first demo instance.
        ...(DEMO ? ['demo fleet', 'node exporter', 'postgres exporter'] : []),
      ].sort(),
    );
    assert.match(out, /grafana +skipped: grafana-server is not installed/);
  });

  it('runs three probers, one per location, each answering its own view to its peers', async () => {
    const locations = [];
    for (const n of [1, 2, 3]) {
      const res = await fetch(`${urls[`fleet prober ${n}`]}/-/down`);
      assert.equal(res.status, 200);
      locations.push(((await res.json()) as { location: string }).location);
    }
    assert.deepEqual(locations, ['loc-1', 'loc-2', 'loc-3']);
    assert.match(
      out,
      /fleet prober 1 .*location loc-1, quorum 2 of 3; confirmed downs straight to Alertmanager/,
    );
  });

  it("prints Prometheus's alerts and targets pages as links that answer 200", async () => {
    const line = /^ {2}prometheus .*$/m.exec(out)![0];
    const links = [...line.matchAll(/(alerts|targets) (http:\/\/\S+?)[,)]/g)].map((m) => [m[1], m[2]!]);
    assert.deepEqual(
      links.map(([page]) => page),
      ['alerts', 'targets'],
      line,
    );
    for (const [page, link] of links) {
      const res = await fetch(link!);
      await res.body?.cancel();
      assert.equal(res.status, 200, `${page}: ${link}`);
    }
  });

  it('names who gets paged: a demo responder for each level of the default policy', async () => {
    const list = await api(urls['control plane 1']!, 'GET', '/api/v1/responders');
    assert.deepEqual(
      (list.body as { name: string; role: string; active: boolean }[])
        .map((r) => `${r.name} ${r.role} ${r.active}`)
        .sort(),
      ['cto', 'devops-lead', 'oncall-engineer', 'security-lead'].map((r) => `Demo ${r} ${r} true`),
    );
    assert.match(
      out,
      /^ {2}level 1 {2}Demo oncall-engineer \(oncall-engineer\) {2}\+12025550101, oncall-engineer@/m,
    );
    assert.match(out, /^ {2}level 4 {2}Demo cto \(cto\)/m);
    assert.ok(
      out.includes(
        `Their pages: SMS and calls in ${path.join(dir, 'twilio/messages.log')}; e-mail in ${path.join(dir, 'mail')}.`,
      ),
      out,
    );
  });

  it("lets `npm run demo -- status` beside the stack find the stack's demo without DEMO_STATE_DIR", async function () {
    if (!DEMO) this.skip();
    // The banner's hint, as printed for a stack with its own DATA_DIR.
    assert.match(
      out,
      new RegExp(
        `break one: DATA_DIR=${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} npm run demo -- break \\S+ backend`,
      ),
    );
    const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dir };
    delete env.DEMO_STATE_DIR;
    const status = await new Promise<{ code: number | null; text: string }>((resolve) => {
      const p = spawn('npm', ['run', '--silent', 'demo', '--', 'status'], { cwd: ROOT, env });
      let text = '';
      p.stdout.on('data', (d) => (text += d));
      p.stderr.on('data', (d) => (text += d));
      p.on('exit', (code) => resolve({ code, text }));
    });
    assert.equal(status.code, 0, status.text);
    assert.match(status.text, /riverside-prod/);
  });

  it("proves the dead man's switch on the control plane's /metrics: armed 1 and ok 1", async () => {
    // ok is 1 before any Watchdog arrived (armed 0): only both together show the Watchdog made the trip.
    const metrics = await waitFor(
      'the Watchdog to arrive through Prometheus and Alertmanager',
      async () => {
        const res = await fetch(`${urls['control plane 1']}/metrics`, {
          headers: { authorization: `Bearer ${admin}` },
        });
        const text = await res.text();
        return /^concierge_ops_deadmans_switch_armed 1$/m.test(text) ? text : undefined;
      },
      120_000,
    );
    assert.match(metrics, /^concierge_ops_deadmans_switch_ok 1$/m);
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
        const exporters = list.filter((l) => /^(node|postgres) /.test(l)).length;
        return settled && (!DEMO || (demo > 0 && exporters === 2)) ? list : undefined;
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
        'fleet-prober up',
        'fleet-prober up',
        ...(DEMO ? ['node up', 'postgres up'] : []),
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
    // Level 2 of the shipped ladder (0, 5, 10, 15 minutes) after a few seconds, so the test can watch it page.
    const { databaseUrl } = JSON.parse(await fs.readFile(path.join(dir, 'stack.json'), 'utf8')) as {
      databaseUrl: string;
    };
    await setLevelDelay(databaseUrl, 2, 6);
    const L1 = '+12025550101';
    const L2 = '+12025550102';

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
    // What a person reads in the file the banner names: one line per SMS or call.
    const log = path.join(dir, 'twilio/messages.log');
    const lines = async () =>
      (await fs.readFile(log, 'utf8').catch(() => '')).split('\n').filter((l) => l.length > 0);
    const sms = await waitFor(
      'the level 1 SMS',
      async () => (await lines()).find((l) => l.includes(`SMS to ${L1}`)),
      60_000,
    );
    assert.match(
      sms,
      /SMS to \+12025550101 from \+12025550100: \[CRIT\] INC-\d{6} bright-smiles\/bright-prod\/backend: Concierge instance/,
    );
    await waitFor(
      'the level 2 SMS',
      async () => (await lines()).find((l) => l.includes(`SMS to ${L2}`)),
      60_000,
    );
    // Both replicas poll the same job queue; give a second sender time to show up if there were one.
    await new Promise((r) => setTimeout(r, 5000));
    let id = '';
    for (const cp of [cp1, urls['control plane 2']!]) {
      const list = await api(cp, 'GET', '/api/v1/incidents?client=bright-smiles');
      assert.equal(list.status, 200);
      assert.equal(list.body.length, 1, `one incident seen from ${cp}`);
      assert.equal(list.body[0].status, 'open');
      id = list.body[0].id;
    }
    // The timeline says who was paged at each level, never that there was no one.
    const timeline = await api(cp1, 'GET', `/api/v1/incidents/${id}/timeline`);
    const steps = (timeline.body as { kind: string; detail: { level?: number; responders?: string[] } }[])
      .filter((e) => e.kind.startsWith('escalat'))
      .map((e) => `${e.kind} ${e.detail.level} ${(e.detail.responders ?? []).join(',')}`);
    assert.deepEqual(steps.sort(), ['escalated 1 Demo oncall-engineer', 'escalated 2 Demo devops-lead']);
    // One SMS and one call per level (critical), each to that level's responder, and nothing else.
    const sent = (await lines()).map((l) => l.replace(/^\S+ (SMS|CALL) to (\S+) .*$/, '$1 $2')).sort();
    assert.deepEqual(sent, [`CALL ${L1}`, `CALL ${L2}`, `SMS ${L1}`, `SMS ${L2}`]);
    assert.match(
      (await lines()).find((l) => l.includes(`CALL to ${L1}`))!,
      /Press 1 to acknowledge\./,
    );
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
      'devops-lead@demo.concierge-ops.invalid',
      'oncall-engineer@demo.concierge-ops.invalid',
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
