/**
 * docker-compose.yml as Debian's docker-compose (1.29) reads it: valid in both profiles, health checks and named
 * volumes everywhere, no secret in the file, the ha profile's cluster wiring, and the configs that the
 * Prometheus and Alertmanager containers render at start accepted by promtool and amtool.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { requireTool } from '../helpers/tools.ts';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '../..');

// Sentinels, not secrets: the test proves every credential comes from the environment by finding them.
const ENV = {
  POSTGRES_PASSWORD: 'sentinel-postgres-password',
  BOOTSTRAP_ADMIN_TOKEN: 'sentinel-bootstrap-admin-token',
  PROBER_TOKEN: 'sentinel-prober-token',
  BACKUP_AGENT_TOKEN: 'sentinel-backup-agent-token',
  DEMO_TOKEN: 'sentinel-demo-token',
  GRAFANA_ADMIN_PASSWORD: 'sentinel-grafana-password',
};

interface Service {
  image?: string;
  profiles?: string[];
  command?: string[];
  environment?: Record<string, string>;
  healthcheck?: { test: string[] };
  /** Short syntax (`source:target[:mode]`), as docker-compose 1.29 prints it. */
  volumes?: string[];
  ports?: string[];
  depends_on?: Record<string, { condition: string }>;
  secrets?: { source: string; target: string }[];
}
interface Compose {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
  secrets: Record<string, { file: string }>;
}

async function config(args: string[] = [], env: Record<string, string> = ENV): Promise<Compose> {
  const { stdout } = await run(requireTool('docker-compose'), [...args, 'config'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH!, ...env },
  });
  return parse(stdout) as Compose;
}

/** A service's mounts; a source without a slash is a named volume. */
const mounts = (s: Service) =>
  (s.volumes ?? []).map((v) => {
    const [source, target] = v.split(':') as [string, string];
    return { type: source.includes('/') ? 'bind' : 'volume', source, target };
  });

/** The services `up` starts with these profiles (config lists every service, each with its profiles). */
const active = (c: Compose, profiles: string[] = []) =>
  Object.keys(c.services)
    .filter((n) => (c.services[n]!.profiles ?? []).every((p) => profiles.includes(p)))
    .sort();

/** Runs the part of a container's `sh -c` command before its `exec`, with container paths moved under `tmp`. */
async function renderStep(command: string, paths: Record<string, string>, env: Record<string, string>) {
  let script = command.split(' && exec ')[0]!.replaceAll('$$', '$');
  for (const [from, to] of Object.entries(paths)) script = script.replaceAll(from, to);
  await run('sh', ['-c', script], { env: { PATH: process.env.PATH!, ...env } });
}

describe('docker-compose.yml', function () {
  this.timeout(60_000);
  let base: Compose;
  let ha: Compose;

  before(async () => {
    base = await config();
    ha = await config(['--profile', 'ha']);
  });

  it('is valid and starts the whole stack by default, plus the ha replicas with --profile ha', () => {
    const byDefault = [
      'alertmanager',
      'backup-exporter',
      'control-plane',
      'demo',
      'fleet-prober',
      'grafana',
      'mailpit',
      'postgres',
      'prometheus',
    ];
    assert.deepEqual(active(base), byDefault);
    assert.deepEqual(
      active(ha, ['ha']),
      [...byDefault, 'alertmanager-2', 'alertmanager-3', 'control-plane-2'].sort(),
    );
  });

  it('gives every service a health check and keeps state in named volumes', () => {
    for (const [name, s] of Object.entries(ha.services)) {
      assert.ok(s.healthcheck && s.healthcheck.test.length > 1, `${name} has a health check`);
      for (const v of mounts(s))
        if (v.type === 'volume') assert.ok(v.source in ha.volumes, `${name}: volume ${v.source} is declared`);
    }
    const stateful: Record<string, string> = {
      postgres: '/var/lib/postgresql/data',
      prometheus: '/prometheus',
      alertmanager: '/alertmanager',
      'alertmanager-2': '/alertmanager',
      'alertmanager-3': '/alertmanager',
      grafana: '/var/lib/grafana',
      mailpit: '/data',
      'control-plane': '/data',
      'control-plane-2': '/data',
    };
    const sources = new Set<string>();
    for (const [name, target] of Object.entries(stateful)) {
      const v = mounts(ha.services[name]!).find((x) => x.target === target);
      assert.equal(v?.type, 'volume', `${name} keeps ${target} in a named volume`);
      assert.ok(!sources.has(v!.source), `${name} does not share ${v!.source}`);
      sources.add(v!.source);
    }
    // Services wait for what they need to be healthy, not merely started.
    assert.equal(ha.services['control-plane']!.depends_on!.postgres!.condition, 'service_healthy');
    assert.equal(ha.services['control-plane-2']!.depends_on!['control-plane']!.condition, 'service_healthy');
  });

  it('holds no secret: every credential comes from the environment, and a missing one stops compose', async () => {
    const raw = await fs.readFile(path.join(ROOT, 'docker-compose.yml'), 'utf8');
    for (const line of raw.split('\n')) {
      const m = /^\s*([A-Z_]*(?:PASSWORD|TOKEN|SECRET)[A-Z_]*):\s*(.+)$/.exec(line);
      if (m) assert.match(m[2]!, /^\$\{[A-Z_]+:\?[^}]+\}$/, `${m[1]} is a required variable, not a value`);
    }
    for (const m of raw.matchAll(/:\/\/[^:/\s]+:([^@\s]+)@/g))
      assert.match(m[1]!, /^\$\{[A-Z_]+:\?[^}]+\}$/, `the password in ${m[0]} is a required variable`);
    const rendered = JSON.stringify(ha);
    for (const sentinel of Object.values(ENV)) assert.ok(rendered.includes(sentinel), sentinel);
    const without: Record<string, string> = { ...ENV };
    delete without.POSTGRES_PASSWORD;
    await assert.rejects(config([], without), (err: { stderr: string }) =>
      /set POSTGRES_PASSWORD/.test(err.stderr),
    );
    // Ports are published on loopback only, and no two services take the same one.
    const ports = Object.values(ha.services).flatMap((s) => s.ports ?? []);
    for (const p of ports) assert.match(String(p), /^127\.0\.0\.1:/);
    assert.equal(new Set(ports.map((p) => String(p).split(':')[1])).size, ports.length);
  });

  it('ha profile: three Alertmanagers gossip with each other, two control planes share one database', () => {
    const peers = (name: string) =>
      (ha.services[name]!.environment!.CLUSTER_PEERS ?? '').split(/\s+/).filter(Boolean).sort();
    assert.deepEqual(peers('alertmanager-2'), [
      '--cluster.peer=alertmanager-3:9094',
      '--cluster.peer=alertmanager:9094',
    ]);
    assert.deepEqual(peers('alertmanager-3'), [
      '--cluster.peer=alertmanager-2:9094',
      '--cluster.peer=alertmanager:9094',
    ]);
    for (const name of ['alertmanager', 'alertmanager-2', 'alertmanager-3'])
      assert.match(
        ha.services[name]!.command!.join(' '),
        /--cluster\.listen-address=0\.0\.0\.0:9094 \$\$\{CLUSTER_PEERS\}/,
      );
    const cp = ha.services['control-plane']!.environment!;
    const cp2 = ha.services['control-plane-2']!.environment!;
    assert.equal(cp2.DATABASE_URL, cp.DATABASE_URL);
    assert.match(cp.DATABASE_URL!, /@postgres:5432\//);
    assert.equal(
      ha.services['control-plane-2']!.command!.join(' '),
      ha.services['control-plane']!.command!.join(' '),
    );
  });

  describe('configs the containers render at start', () => {
    let tmp: string;
    before(async () => {
      tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'compose-'));
    });
    after(() => fs.rm(tmp, { recursive: true, force: true }));

    it('Prometheus: OTLP receiver on, promtool accepts the config, alerts go to every Alertmanager', async () => {
      const promtool = requireTool('promtool');
      const prom = base.services.prometheus!;
      const image = /^prom\/prometheus:v(\d+)\.(\d+)\./.exec(prom.image!)!;
      const command = prom.command!.join(' ');
      // 2.47 to 2.x take the feature flag; 3.x renamed it (REFERENCE.md).
      if (Number(image[1]) === 2) {
        assert.ok(Number(image[2]) >= 47, prom.image);
        assert.match(command, /--enable-feature=otlp-write-receiver/);
      } else assert.match(command, /--web\.enable-otlp-receiver/);
      assert.match(command, /--storage\.tsdb\.retention\.time=31d/);
      const etc = path.join(tmp, 'etc-p');
      const data = path.join(tmp, 'data-p');
      await fs.cp(path.join(ROOT, 'prometheus'), etc, { recursive: true });
      await fs.mkdir(data);
      const token = path.join(tmp, 'token');
      await fs.writeFile(token, 'sentinel');
      const secret = prom.secrets!.find((s) => s.source === 'prometheus_token')!.target;
      const members = 'alertmanager:9093,alertmanager-2:9093,alertmanager-3:9093';
      await renderStep(
        command,
        { '/etc/prometheus': etc, '/prometheus/config': `${data}/config` },
        { ALERTMANAGERS: members },
      );
      const file = path.join(data, 'config/prometheus.yml');
      const text = await fs.readFile(file, 'utf8');
      assert.ok(text.includes(secret), 'the secret is mounted where prometheus.yml reads it');
      await fs.writeFile(file, text.replaceAll(secret, token));
      await run(promtool, ['check', 'config', file]);
      const rendered = parse(text) as {
        alerting: { alertmanagers: { static_configs: { targets: string[] }[] }[] };
      };
      assert.deepEqual(rendered.alerting.alertmanagers[0]!.static_configs[0]!.targets, members.split(','));
      assert.equal(prom.environment!.ALERTMANAGERS, 'alertmanager:9093');
    });

    it('Alertmanager: amtool accepts the config, with Mailpit as relay and the mounted webhook token', async () => {
      const amtool = requireTool('amtool');
      const am = base.services.alertmanager!;
      const etc = path.join(tmp, 'etc-a');
      const data = path.join(tmp, 'data-a');
      await fs.cp(path.join(ROOT, 'alertmanager'), etc, { recursive: true });
      await fs.mkdir(data);
      await renderStep(am.command!.join(' '), { '/etc/alertmanager': etc, '/alertmanager/': `${data}/` }, {});
      const file = path.join(data, 'alertmanager.yml');
      const text = await fs.readFile(file, 'utf8');
      assert.match(text, /smtp_smarthost: 'mailpit:1025'/);
      assert.match(text, /url: 'http:\/\/control-plane:8080\/api\/v1\/alertmanager\/webhook'/);
      const secret = am.secrets!.find((s) => s.source === 'alertmanager_token')!.target;
      assert.ok(
        text.includes(`credentials_file: ${secret}`),
        'the token is mounted where alertmanager.yml reads it',
      );
      const token = path.join(tmp, 'am-token');
      await fs.writeFile(token, 'sentinel');
      await fs.writeFile(file, text.replaceAll(secret, token));
      const { stdout } = await run(amtool, ['check-config', file]);
      assert.match(stdout, /SUCCESS/);
    });
  });
});
