/**
 * Alertmanager configuration, checked with the real amtool (config and route tree) and a real Alertmanager
 * that delivers to a loopback HTTP server standing in for the control plane and a loopback SMTP server
 * standing in for the on-call mailbox.
 */
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import http from 'node:http';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { freePort } from '@concierge-ops/shared/ports';
import { requireTool } from '../helpers/tools.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const AM_DIR = path.join(ROOT, 'alertmanager');
const CONFIG = path.join(AM_DIR, 'alertmanager.yml');
/** Placeholders in alertmanager.yml that a deploy (and this test) replaces by plain text substitution. */
const CONTROL_PLANE_URL = 'http://control-plane:8080';
const TOKEN_FILE = '/etc/concierge-ops/secrets/alertmanager.token';
const SMARTHOST = "smtp_smarthost: 'localhost:25'";

const run = promisify(execFile);

async function tool(bin: string, args: string[]): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await run(bin, args, { cwd: ROOT });
    return { code: 0, out: stdout + stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

function alertmanagerBinary(): string {
  // Debian names it prometheus-alertmanager; upstream tarballs and images call it alertmanager.
  try {
    return requireTool('prometheus-alertmanager');
  } catch (err) {
    try {
      return requireTool('alertmanager');
    } catch {
      throw err;
    }
  }
}

async function waitFor<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, ms: number) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms}ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('alertmanager configuration (amtool)', function () {
  this.timeout(60_000);
  let amtool: string;

  before(() => {
    amtool = requireTool('amtool');
  });

  it('passes amtool check-config with its templates', async () => {
    const res = await tool(amtool, ['check-config', CONFIG]);
    assert.equal(res.code, 0, res.out);
    assert.match(res.out, /SUCCESS/);
    assert.match(res.out, /1 templates/);
    assert.match(res.out, /3 inhibit rules/);
  });

  // Expected receivers in routing order (critical goes to the e-mail fallback first, then continues).
  const cases: Array<{ name: string; labels: string[]; receivers: string }> = [
    {
      name: "sends Watchdog only to the dead man's switch",
      labels: ['alertname=Watchdog', 'severity=none'],
      receivers: 'deadmans-switch',
    },
    {
      name: 'sends a critical page to the e-mail fallback and to the control plane',
      labels: ['alertname=InstanceDown', 'severity=critical', 'client=acme', 'instance=acme-prod'],
      receivers: 'ops-email,control-plane',
    },
    {
      name: 'sends ControlPlaneDown through the e-mail fallback too',
      labels: ['alertname=ControlPlaneDown', 'severity=critical', 'job=control-plane'],
      receivers: 'ops-email,control-plane',
    },
    {
      name: 'sends a warning to the control plane only',
      labels: [
        'alertname=BackupFailed',
        'severity=warning',
        'client=acme',
        'instance=acme-prod',
        'kind=files',
      ],
      receivers: 'control-plane',
    },
    {
      name: 'sends info to the control plane only (recorded, never paged)',
      labels: ['alertname=SomethingToNote', 'severity=info', 'client=acme', 'instance=acme-prod'],
      receivers: 'control-plane',
    },
    {
      name: 'sends suspicious access to the security mailbox only, never to the pager',
      labels: ['alertname=AdminTokenCreated', 'severity=warning', 'category=security', 'job=control-plane'],
      receivers: 'security-email',
    },
    {
      name: 'sends an audit export (info) to the security mailbox only',
      labels: ['alertname=AuditExported', 'severity=info', 'category=security', 'action=audit.export'],
      receivers: 'security-email',
    },
    {
      name: 'sends a critical failure drill to the control plane only, never to the unmarked e-mail fallback',
      labels: [
        'alertname=ConciergeDrill',
        'severity=critical',
        'client=acme',
        'instance=acme-prod',
        'drill=3f2a1c4e-0000-4000-8000-000000000001',
      ],
      receivers: 'control-plane',
    },
    {
      name: 'sends an alert without severity to the default route (the control plane)',
      labels: ['alertname=Unlabelled'],
      receivers: 'control-plane',
    },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const res = await tool(amtool, [
        'config',
        'routes',
        'test',
        `--config.file=${CONFIG}`,
        `--verify.receivers=${c.receivers}`,
        ...c.labels,
      ]);
      assert.equal(res.code, 0, res.out);
      assert.equal(res.out.split('\n')[0]!.trim(), c.receivers);
    });
  }

  it('does not page a warning (amtool fails when the expected receivers do not match)', async () => {
    const res = await tool(amtool, [
      'config',
      'routes',
      'test',
      `--config.file=${CONFIG}`,
      '--verify.receivers=ops-email,control-plane',
      'alertname=BackupFailed',
      'severity=warning',
    ]);
    assert.equal(res.code, 1, res.out);
  });
});

interface Delivery {
  path: string;
  authorization: string | undefined;
  userAgent: string | undefined;
  body: {
    version: string;
    status: string;
    receiver: string;
    groupKey: string;
    groupLabels: Record<string, string>;
    alerts: Array<{
      status: string;
      labels: Record<string, string>;
      annotations: Record<string, string>;
      endsAt: string;
      fingerprint: string;
    }>;
  };
}

describe('alertmanager delivering to the control plane and the e-mail fallback', function () {
  this.timeout(120_000);

  const token = crypto.randomBytes(16).toString('hex');
  const deliveries: Delivery[] = [];
  const mails: ParsedMail[] = [];
  let tmp: string;
  let webhook: http.Server;
  let smtp: SMTPServer;
  let am: ChildProcess | undefined;
  let amExited: Promise<unknown> = Promise.resolve();
  let amLog = '';
  let amUrl: string;

  before(async () => {
    const bin = alertmanagerBinary();
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'am-test-'));

    webhook = http.createServer((req, res) => {
      let raw = '';
      req.on('data', (d: Buffer) => (raw += d.toString('utf8')));
      req.on('end', () => {
        deliveries.push({
          path: req.url ?? '',
          authorization: req.headers.authorization,
          userAgent: req.headers['user-agent'],
          body: JSON.parse(raw) as Delivery['body'],
        });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => webhook.listen(0, '127.0.0.1', resolve));
    const webhookPort = (webhook.address() as net.AddressInfo).port;

    smtp = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onData(stream, _session, callback) {
        simpleParser(stream)
          .then((mail) => {
            mails.push(mail);
            callback();
          })
          .catch((err: Error) => callback(err));
      },
    });
    await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
    const smtpPort = (smtp.server.address() as net.AddressInfo).port;

    // Render the config as a deploy would: same folder layout (templates resolve relative to the config),
    // placeholders replaced by text substitution.
    const original = await fs.readFile(CONFIG, 'utf8');
    for (const p of [CONTROL_PLANE_URL, TOKEN_FILE, SMARTHOST]) {
      assert.ok(original.includes(p), `alertmanager.yml no longer contains the placeholder ${p}`);
    }
    await fs.cp(path.join(AM_DIR, 'templates'), path.join(tmp, 'templates'), { recursive: true });
    await fs.writeFile(path.join(tmp, 'token'), `${token}\n`, { mode: 0o600 });
    const rendered = original
      .replaceAll(CONTROL_PLANE_URL, `http://127.0.0.1:${webhookPort}`)
      .replaceAll(TOKEN_FILE, path.join(tmp, 'token'))
      .replaceAll(SMARTHOST, `smtp_smarthost: '127.0.0.1:${smtpPort}'`);
    await fs.writeFile(path.join(tmp, 'alertmanager.yml'), rendered);

    const port = await freePort();
    amUrl = `http://127.0.0.1:${port}`;
    const child = spawn(
      bin,
      [
        `--config.file=${path.join(tmp, 'alertmanager.yml')}`,
        `--storage.path=${path.join(tmp, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        `--web.external-url=${amUrl}`,
        // An empty address turns gossip off: no cluster port, no peers.
        '--cluster.listen-address=',
        '--log.level=debug',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    am = child;
    child.stdout!.on('data', (d: Buffer) => (amLog += d.toString('utf8')));
    child.stderr!.on('data', (d: Buffer) => (amLog += d.toString('utf8')));
    amExited = new Promise((resolve) => child.once('exit', resolve));
    await waitFor(
      'alertmanager to become ready',
      async () => {
        if (child.exitCode !== null) throw new Error(`alertmanager exited with ${child.exitCode}:\n${amLog}`);
        const res = await fetch(`${amUrl}/-/ready`).catch(() => undefined);
        return res?.ok ? true : undefined;
      },
      30_000,
    );
  });

  after(async () => {
    if (am && am.exitCode === null) {
      am.kill('SIGTERM');
      const killer = setTimeout(() => am?.kill('SIGKILL'), 5_000);
      await amExited;
      clearTimeout(killer);
    }
    await new Promise<void>((resolve) => (webhook ? webhook.close(() => resolve()) : resolve()));
    await new Promise<void>((resolve) => (smtp ? smtp.close(() => resolve()) : resolve()));
    if (tmp) await fs.rm(tmp, { recursive: true, force: true });
  });

  async function postAlert(labels: Record<string, string>, annotations: Record<string, string>) {
    const res = await fetch(`${amUrl}/api/v2/alerts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([
        {
          labels,
          annotations,
          startsAt: new Date().toISOString(),
          generatorURL: 'http://prometheus:9090/graph',
        },
      ]),
    });
    assert.equal(res.status, 200, await res.text());
  }

  it('delivers a critical page to the control plane as a version 4 webhook with the bearer token', async () => {
    const labels = { alertname: 'InstanceDown', severity: 'critical', client: 'acme', instance: 'acme-prod' };
    const annotations = {
      summary: 'Concierge instance is down.',
      description: 'Every probed service of acme/acme-prod has failed for more than 2 minutes.',
      runbook_url: 'https://github.com/concierge-ops/concierge-ops/blob/main/docs/runbooks/InstanceDown.md',
    };
    await postAlert(labels, annotations);

    const d = await waitFor(
      `the control-plane webhook (alertmanager log:\n${amLog})`,
      () => deliveries.find((x) => x.path === '/api/v1/alertmanager/webhook'),
      60_000,
    );
    assert.equal(d.authorization, `Bearer ${token}`);
    assert.match(d.userAgent ?? '', /^Alertmanager\//);
    assert.equal(d.body.version, '4');
    assert.equal(d.body.status, 'firing');
    assert.equal(d.body.receiver, 'control-plane');
    // The fleet route groups by instance, not alert name (one outage, one incident: see the last test).
    assert.deepEqual(d.body.groupLabels, { client: 'acme', instance: 'acme-prod' });
    assert.equal(d.body.alerts.length, 1);
    const [alert] = d.body.alerts;
    assert.deepEqual(alert!.labels, labels);
    assert.deepEqual(alert!.annotations, annotations);
    assert.equal(alert!.status, 'firing');
    assert.equal(alert!.endsAt, '0001-01-01T00:00:00Z');
    assert.match(alert!.fingerprint, /^[0-9a-f]{16}$/);
  });

  it('copies the same page to the on-call mailbox without going through the control plane', async () => {
    const mail = await waitFor(`the fallback e-mail (alertmanager log:\n${amLog})`, () => mails[0], 60_000);
    assert.equal(mail.subject, '[FIRING:1] InstanceDown acme/acme-prod (critical)');
    const to = Array.isArray(mail.to) ? mail.to[0] : mail.to;
    assert.equal(to?.value[0]?.address, 'oncall@concierge-ops.invalid');
    assert.match(mail.text ?? '', /does not depend on the control plane/);
    assert.match(mail.text ?? '', /Every probed service of acme\/acme-prod has failed/);
    assert.match(mail.text ?? '', /Runbook: https:\/\/github\.com\/.*\/docs\/runbooks\/InstanceDown\.md/);
    assert.match(String(mail.html), /<a href="https:\/\/github\.com\/[^"]*InstanceDown\.md">Runbook<\/a>/);
  });

  it("forwards Watchdog to the dead man's switch endpoint at once, and nowhere else", async () => {
    const before = deliveries.length;
    const mailsBefore = mails.length;
    await postAlert({ alertname: 'Watchdog', severity: 'none' }, { summary: 'Always firing.' });
    const d = await waitFor(
      `the watchdog webhook (alertmanager log:\n${amLog})`,
      () => deliveries.find((x) => x.path === '/api/v1/alertmanager/watchdog'),
      20_000,
    );
    assert.equal(d.authorization, `Bearer ${token}`);
    assert.equal(d.body.receiver, 'deadmans-switch');
    assert.deepEqual(d.body.alerts[0]!.labels, { alertname: 'Watchdog', severity: 'none' });
    // Nothing else was sent for it: no page to the control plane's incident webhook, no mail.
    const others = deliveries.slice(before).filter((x) => x.path !== '/api/v1/alertmanager/watchdog');
    assert.deepEqual(others, []);
    assert.equal(mails.length, mailsBefore);
  });

  it('inhibits symptoms under InstanceDown and tickets under the page for the same thing, and nothing else', async () => {
    const beta = { client: 'beta', instance: 'beta-prod' };
    const posted: Array<[string, Record<string, string>]> = [
      // InstanceDown of acme-prod is firing from the first test.
      [
        'acme api down',
        {
          alertname: 'ServiceDown',
          severity: 'critical',
          client: 'acme',
          instance: 'acme-prod',
          service: 'api',
        },
      ],
      ['beta api down', { alertname: 'ServiceDown', severity: 'critical', ...beta, service: 'api' }],
      ['beta twilio', { alertname: 'DependencyDown', severity: 'critical', ...beta, dependency: 'twilio' }],
      ['beta openemr', { alertname: 'DependencyDown', severity: 'warning', ...beta, dependency: 'openemr' }],
      ['beta cert 7d', { alertname: 'CertificateExpiring', severity: 'critical', ...beta, service: 'edge' }],
      ['beta cert 21d', { alertname: 'CertificateExpiring', severity: 'warning', ...beta, service: 'edge' }],
      ['beta latency', { alertname: 'ConciergeHighLatency', severity: 'critical', ...beta }],
      [
        'beta emergency',
        { alertname: 'ConciergeHighLatency', severity: 'critical', urgency: 'emergency', ...beta },
      ],
    ];
    for (const [, labels] of posted) await postAlert(labels, { summary: 'test' });

    const res = await fetch(`${amUrl}/api/v2/alerts`);
    const alerts = (await res.json()) as Array<{
      labels: Record<string, string>;
      status: { state: string; inhibitedBy: string[] };
    }>;
    const state = (labels: Record<string, string>) => {
      const key = JSON.stringify(Object.entries(labels).sort());
      const a = alerts.find((x) => JSON.stringify(Object.entries(x.labels).sort()) === key);
      assert.ok(a, `alert not found: ${key}`);
      return a.status.inhibitedBy.length > 0 ? 'inhibited' : a.status.state;
    };
    assert.deepEqual(Object.fromEntries(posted.map(([name, labels]) => [name, state(labels)])), {
      'acme api down': 'inhibited',
      'beta api down': 'active',
      'beta twilio': 'active',
      // Another dependency's ticket is not hidden by Twilio's page.
      'beta openemr': 'active',
      'beta cert 7d': 'active',
      'beta cert 21d': 'inhibited',
      'beta latency': 'inhibited',
      'beta emergency': 'active',
    });
  });

  // Several Prometheus clusters sharing this Alertmanager (their external label cluster) may reuse client and
  // instance names: those are different instances, whose alerts must neither share a group nor inhibit each other.
  it("notifies two clusters' alerts of the same client and instance as separate groups", async () => {
    const labels = {
      alertname: 'DependencyDown',
      severity: 'critical',
      client: 'gamma',
      instance: 'gamma-prod',
    };
    await postAlert({ ...labels, cluster: 'a', dependency: 'twilio' }, { summary: 'test' });
    await postAlert({ ...labels, cluster: 'b', dependency: 'twilio' }, { summary: 'test' });
    const gamma = () =>
      deliveries.filter(
        (x) => x.path === '/api/v1/alertmanager/webhook' && x.body.groupLabels.client === 'gamma',
      );
    await waitFor(
      `both clusters' deliveries (alertmanager log:\n${amLog})`,
      () =>
        new Set(gamma().flatMap((d) => d.body.alerts.map((a) => a.labels.cluster))).size === 2
          ? true
          : undefined,
      60_000,
    );
    const groups = gamma()
      .map((d) => ({ groupLabels: d.body.groupLabels, clusters: d.body.alerts.map((a) => a.labels.cluster) }))
      .sort((x, y) => String(x.groupLabels.cluster).localeCompare(String(y.groupLabels.cluster)));
    assert.deepEqual(groups, [
      {
        groupLabels: { alertname: 'DependencyDown', cluster: 'a', client: 'gamma', instance: 'gamma-prod' },
        clusters: ['a'],
      },
      {
        groupLabels: { alertname: 'DependencyDown', cluster: 'b', client: 'gamma', instance: 'gamma-prod' },
        clusters: ['b'],
      },
    ]);
    assert.notEqual(gamma()[0]!.body.groupKey, gamma()[1]!.body.groupKey);
  });

  it("does not let one cluster's InstanceDown inhibit another cluster's alerts of the same instance", async () => {
    const delta = { client: 'delta', instance: 'delta-prod' };
    await postAlert(
      { alertname: 'InstanceDown', severity: 'critical', cluster: 'a', ...delta },
      { summary: 'test' },
    );
    const posted: Array<[string, Record<string, string>]> = [
      [
        'a api down',
        { alertname: 'ServiceDown', severity: 'critical', cluster: 'a', ...delta, service: 'api' },
      ],
      [
        'b api down',
        { alertname: 'ServiceDown', severity: 'critical', cluster: 'b', ...delta, service: 'api' },
      ],
      ['b latency', { alertname: 'ConciergeHighLatency', severity: 'critical', cluster: 'b', ...delta }],
    ];
    for (const [, labels] of posted) await postAlert(labels, { summary: 'test' });
    const alerts = (await (await fetch(`${amUrl}/api/v2/alerts`)).json()) as Array<{
      labels: Record<string, string>;
      status: { state: string; inhibitedBy: string[] };
    }>;
    const state = (labels: Record<string, string>) => {
      const key = JSON.stringify(Object.entries(labels).sort());
      const a = alerts.find((x) => JSON.stringify(Object.entries(x.labels).sort()) === key);
      assert.ok(a, `alert not found: ${key}`);
      return a.status.inhibitedBy.length > 0 ? 'inhibited' : a.status.state;
    };
    assert.deepEqual(Object.fromEntries(posted.map(([name, labels]) => [name, state(labels)])), {
      'a api down': 'inhibited',
      'b api down': 'active',
      'b latency': 'active',
    });
  });

  it("groups an instance's ServiceDown and InstanceDown into one control-plane group (one outage, one incident)", async () => {
    const omega = { severity: 'critical', client: 'omega', instance: 'omega-prod' };
    // A service fails first; the rest of the instance follows.
    await postAlert({ alertname: 'ServiceDown', ...omega, service: 'api' }, { summary: 'test' });
    await postAlert({ alertname: 'InstanceDown', ...omega }, { summary: 'test' });
    const res = await fetch(`${amUrl}/api/v2/alerts/groups?receiver=control-plane`);
    const groups = (await res.json()) as Array<{
      labels: Record<string, string>;
      alerts: Array<{ labels: Record<string, string> }>;
    }>;
    const ours = groups.filter((g) => g.alerts.some((a) => a.labels.client === 'omega'));
    assert.deepEqual(
      ours.map((g) => ({ labels: g.labels, alerts: g.alerts.map((a) => a.labels.alertname).sort() })),
      [{ labels: { client: 'omega', instance: 'omega-prod' }, alerts: ['InstanceDown', 'ServiceDown'] }],
    );
  });
});
