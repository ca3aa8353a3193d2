/**
 * docker-compose.yml as Debian's docker-compose (1.29) reads it: valid in both profiles, health checks and named
 * volumes everywhere, no secret in the file and one value to set, the Node services built from deploy/docker/
 * with nothing of the source tree mounted, each service's token file shared with the control plane's
 * PROVISION_TOKENS_DIR, the ha profile's cluster wiring, and the configs that the Prometheus and Alertmanager
 * containers render at start accepted by promtool and amtool.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { readTokenFiles } from '../../control-plane/src/tokens/files.ts';
import { requireTool } from '../helpers/tools.ts';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '../..');

// A sentinel, not a secret: the one value a first start needs (docs/deployment.md), found where it is used.
const ENV = { ADMIN_TOKEN: 'sentinel-admin-token-0123456789' };
/** Where the control plane reads the token files from, and where Prometheus and Alertmanager read theirs. */
const TOKENS_DIR = '/run/secrets/concierge-ops';
const CONFIG_SECRETS = '/etc/concierge-ops/secrets';
/** The Node services: built here, run from their image. */
const BUILT = [
  'backup-exporter',
  'control-plane',
  'control-plane-2',
  'demo',
  'fleet-prober',
  'fleet-prober-2',
  'fleet-prober-3',
];

interface Service {
  image?: string;
  build?: { context: string; dockerfile: string };
  restart?: string;
  profiles?: string[];
  command?: string[];
  environment?: Record<string, string>;
  healthcheck?: { test: string[] };
  /** Short syntax (`source:target[:mode]`), as docker-compose 1.29 prints it. */
  volumes?: string[];
  ports?: string[];
  depends_on?: Record<string, { condition: string }>;
}
interface Compose {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
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
      'node-exporter',
      'postgres',
      'postgres-exporter',
      'prometheus',
      'secrets-init',
    ];
    assert.deepEqual(active(base), byDefault);
    assert.deepEqual(
      active(ha, ['ha']),
      [
        ...byDefault,
        'alertmanager-2',
        'alertmanager-3',
        'control-plane-2',
        'fleet-prober-2',
        'fleet-prober-3',
      ].sort(),
    );
  });

  it('gives every service a health check and keeps state in named volumes', () => {
    for (const [name, s] of Object.entries(ha.services)) {
      // secrets-init runs once and exits (the others wait for service_completed_successfully): nothing to watch.
      if (name === 'secrets-init') assert.equal(s.restart, 'no');
      else assert.ok(s.healthcheck && s.healthcheck.test.length > 1, `${name} has a health check`);
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

  it('holds no secret: one required variable, every other credential a file, and without it compose stops', async () => {
    const raw = await fs.readFile(path.join(ROOT, 'docker-compose.yml'), 'utf8');
    for (const line of raw.split('\n')) {
      const m = /^\s*([A-Z_]*(?:PASSWORD|TOKEN|SECRET)[A-Z_]*):\s*(.+)$/.exec(line);
      // *_FILE and *_DIR name where secrets are mounted, not secrets.
      if (m && /_(FILE|DIR)$/.test(m[1]!))
        assert.match(m[2]!, /^\/run\/secrets\//, `${m[1]} is a secret file`);
      else if (m)
        assert.match(m[2]!, /^\$\{[A-Z_]+:\?[^}]+\}$/, `${m[1]} is a required variable, not a value`);
    }
    // The only password in a URL is the generated one, read from its file.
    assert.deepEqual(
      [...raw.matchAll(/:\/\/[^:/\s]+:([^@\s]+)@/g)].map((m) => m[1]),
      ['%s'],
      'no password written into a URL',
    );
    assert.ok(JSON.stringify(ha).includes(ENV.ADMIN_TOKEN));
    await assert.rejects(config([], {}), (err: { stderr: string }) => /set ADMIN_TOKEN/.test(err.stderr));
    // Ports are published on loopback only, and no two services take the same one.
    const ports = Object.values(ha.services).flatMap((s) => s.ports ?? []);
    for (const p of ports) assert.match(String(p), /^127\.0\.0\.1:/);
    assert.equal(new Set(ports.map((p) => String(p).split(':')[1])).size, ports.length);
  });

  it('builds the Node services from deploy/docker/ and mounts nothing of the source tree', async () => {
    for (const name of BUILT) {
      const s = ha.services[name]!;
      assert.match(s.build?.dockerfile ?? '', /^deploy\/docker\/[a-z-]+\.Dockerfile$/, `${name} is built`);
      assert.equal(path.resolve(s.build!.context), ROOT, `${name} builds from the repository`);
      await fs.access(path.join(ROOT, s.build!.dockerfile));
      assert.equal(s.command, undefined, `${name} runs its image's command`);
    }
    // The build context is the repository: .env (ADMIN_TOKEN) and the host's node_modules stay out of it.
    const ignored = (await fs.readFile(path.join(ROOT, '.dockerignore'), 'utf8')).split('\n');
    for (const p of ['.env', '**/node_modules', '.git', 'data/'])
      assert.ok(ignored.includes(p), `.dockerignore leaves out ${p}`);
    for (const [name, s] of Object.entries(ha.services))
      for (const v of mounts(s).filter((m) => m.type === 'bind')) {
        // Only the engines' configuration is mounted, read-only; it is configuration, not code.
        const rel = path.relative(ROOT, v.source);
        assert.match(rel, /^(prometheus|alertmanager|grafana)(\/|$)/, `${name} mounts ${v.source}`);
        assert.ok(!BUILT.includes(name), `${name} mounts nothing`);
      }
  });

  it("installs the locked dependencies with every workspace's package.json in place, then builds with the script", async () => {
    const { workspaces } = JSON.parse(await fs.readFile(path.join(ROOT, 'package.json'), 'utf8')) as {
      workspaces: string[];
    };
    const dockerfiles = new Set(BUILT.map((name) => ha.services[name]!.build!.dockerfile));
    for (const file of dockerfiles) {
      const build = (await fs.readFile(path.join(ROOT, file), 'utf8')).split(/^FROM /m)[1]!;
      const copied = [...build.matchAll(/^COPY (\S+)\/package\.json \1\/$/gm)].map((m) => m[1]);
      // npm ci refuses a lock file whose workspaces' package.json are missing.
      assert.deepEqual(
        copied.sort(),
        [...workspaces].sort(),
        `${file} copies every workspace's package.json`,
      );
      const order = [
        'COPY package.json package-lock.json ./',
        'RUN npm ci',
        'COPY . .',
        'RUN sh deploy/build-image.sh',
      ];
      const at = order.map((line) => build.indexOf(line));
      assert.ok(
        at.every((i, k) => i >= 0 && (k === 0 || i > at[k - 1]!)),
        `${file} runs ${order.join(', then ')}`,
      );
    }
  });

  it("shares each service's token file with the control plane's PROVISION_TOKENS_DIR, under the right role", () => {
    const cp = ha.services['control-plane']!;
    assert.equal(cp.environment!.PROVISION_TOKENS_DIR, TOKENS_DIR);
    const init = mounts(ha.services['secrets-init']!);
    const script = ha.services['secrets-init']!.command!.join(' ');
    /** The volume a service has at `file`'s folder, and where the control plane has that volume. */
    const check = (service: string, file: string, role: string) => {
      const volume = mounts(ha.services[service]!).find((m) => m.target === path.dirname(file))?.source;
      assert.ok(volume, `${service} mounts a volume at ${path.dirname(file)}`);
      for (const name of ['control-plane', 'control-plane-2']) {
        const at: string | undefined = mounts(ha.services[name]!).find((m) => m.source === volume)?.target;
        assert.equal(path.dirname(at ?? ''), TOKENS_DIR, `${name} provisions ${volume}`);
      }
      assert.ok(path.basename(file).startsWith(`${role}.`), `${file} makes a ${role} token`);
      const written = init.find((m) => m.source === volume)!.target + '/' + path.basename(file);
      // Random once and kept, or (the admin's) written from ADMIN_TOKEN on every start.
      assert.ok(
        script.includes(`keep ${written};`) || script.includes(`> ${written}`),
        `secrets-init makes ${written}`,
      );
    };
    check('fleet-prober', ha.services['fleet-prober']!.environment!.PROBER_TOKEN_FILE!, 'prober');
    check(
      'backup-exporter',
      ha.services['backup-exporter']!.environment!.BACKUP_AGENT_TOKEN_FILE!,
      'backup-agent',
    );
    check('demo', ha.services.demo!.environment!.CONTROL_PLANE_TOKEN_FILE!, 'operator');
    check('prometheus', `${CONFIG_SECRETS}/prometheus.token`, 'prometheus');
    for (const am of ['alertmanager', 'alertmanager-2', 'alertmanager-3'])
      check(am, `${CONFIG_SECRETS}/alertmanager.token`, 'alertmanager');
    check('grafana', ha.services.grafana!.environment!.GF_SECURITY_ADMIN_PASSWORD__FILE!, 'admin');
    assert.match(script, /printf %s "\$\$ADMIN_TOKEN" > \/secrets\/admin\/admin\.token/);
  });

  it('first start: secrets-init makes every token the control plane accepts, and a rerun keeps all but the admin token', async () => {
    const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'compose-secrets-'));
    try {
      const init = ha.services['secrets-init']!;
      // Each volume as a folder; the script runs with its container paths moved under tmp.
      const volumes = Object.fromEntries(mounts(init).map((m) => [m.source, path.join(tmp, 'v', m.source)]));
      for (const dir of Object.values(volumes)) await fs.mkdir(dir, { recursive: true });
      const paths = Object.fromEntries(mounts(init).map((m) => [m.target + '/', volumes[m.source] + '/']));
      const initEnv = { ADMIN_TOKEN: 'adm_' + 'a'.repeat(40) };
      await renderStep(init.command!.join(' '), paths, initEnv);
      // The control plane's PROVISION_TOKENS_DIR as its mounts make it: each volume one folder down.
      const cp = path.join(tmp, 'cp');
      for (const m of mounts(ha.services['control-plane']!))
        if (path.dirname(m.target) === TOKENS_DIR) {
          await fs.mkdir(cp, { recursive: true });
          await fs.symlink(volumes[m.source]!, path.join(cp, path.basename(m.target)));
        }
      const read = () => {
        const problems: string[] = [];
        const files = readTokenFiles(cp, problems);
        assert.deepEqual(problems, []);
        return files;
      };
      const first = read();
      assert.deepEqual(first.map((f) => [f.key, f.role]).sort(), [
        ['admin', 'admin'],
        ['alertmanager', 'alertmanager'],
        ['backup-agent', 'backup-agent'],
        ['operator.demo', 'operator'],
        ['prober', 'prober'],
        ['prometheus', 'prometheus'],
      ]);
      assert.equal(first.find((f) => f.key === 'admin')!.token, initEnv.ADMIN_TOKEN);
      assert.equal(new Set(first.map((f) => f.token)).size, first.length, 'each token its own secret');
      // PostgreSQL's password, and the URL the control plane reads, from the same file.
      const password = await fs.readFile(path.join(volumes['secret-database']!, 'password'), 'utf8');
      assert.match(password, /^[A-Za-z0-9_-]{40,}$/);
      assert.equal(
        await fs.readFile(path.join(volumes['secret-database']!, 'url'), 'utf8'),
        `postgres://concierge:${password}@postgres:5432/concierge`,
      );
      // The e-mail acknowledge links' secret (ACK_LINK_SECRET: at least 32 characters), where both read it.
      const ackFile = path.join(volumes['secret-ack-link']!, 'ack-link.secret');
      const ack = await fs.readFile(ackFile, 'utf8');
      assert.match(ack, /^[A-Za-z0-9_-]{32,}$/);
      for (const name of ['control-plane', 'control-plane-2']) {
        const at = mounts(ha.services[name]!).find((m) => m.source === 'secret-ack-link')!.target;
        assert.equal(ha.services[name]!.environment!.ACK_LINK_SECRET_FILE, `${at}/ack-link.secret`);
      }
      // The audit checkpoints' signing key, where both control planes read it, for the images' node user only.
      for (const name of ['control-plane', 'control-plane-2']) {
        const env = ha.services[name]!.environment!;
        const at = mounts(ha.services[name]!).find((m) => m.source === 'secret-audit')!.target;
        assert.equal(
          path.dirname(env.AUDIT_SIGNING_KEY_FILE!),
          at,
          `${name} reads the key from secret-audit`,
        );
        assert.ok(
          mounts(ha.services[name]!).some(
            (m) => m.target === env.AUDIT_CHECKPOINT_DIR && m.type === 'volume',
          ),
        );
      }
      const keyFile = path.join(volumes['secret-audit']!, 'audit-signing-key.pem');
      const key = await fs.readFile(keyFile);
      assert.equal(crypto.createPrivateKey(key).asymmetricKeyType, 'ed25519');
      const st = await fs.stat(keyFile);
      assert.equal(st.mode & 0o777, 0o400);
      assert.equal(st.uid, 1000, "the node user's (uid 1000)");
      // The next `up` (a new ADMIN_TOKEN in .env): the same service tokens, nothing rotated but the admin's.
      initEnv.ADMIN_TOKEN = 'adm_' + 'b'.repeat(40);
      await renderStep(init.command!.join(' '), paths, initEnv);
      const again = read();
      for (const f of again)
        if (f.key === 'admin') assert.equal(f.token, initEnv.ADMIN_TOKEN);
        else assert.equal(f.token, first.find((g) => g.key === f.key)!.token, `${f.key} is kept`);
      assert.equal(await fs.readFile(path.join(volumes['secret-database']!, 'password'), 'utf8'), password);
      assert.equal(await fs.readFile(ackFile, 'utf8'), ack, 'the ack link secret is kept');
      assert.deepEqual(await fs.readFile(keyFile), key, 'the audit signing key is kept');
    } finally {
      await fs.rm(tmp, { recursive: true, force: true });
    }
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
    assert.equal(cp2.DATABASE_URL_FILE, cp.DATABASE_URL_FILE);
    assert.match(ha.services['secrets-init']!.command!.join(' '), /@postgres:5432\/concierge' /);
    assert.deepEqual(ha.services['control-plane-2']!.build, ha.services['control-plane']!.build);
    assert.equal(ha.services['control-plane-2']!.image, ha.services['control-plane']!.image);
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
      const secret = `${CONFIG_SECRETS}/prometheus.token`;
      const members = 'alertmanager:9093,alertmanager-2:9093,alertmanager-3:9093';
      const probers = 'fleet-prober:9469,fleet-prober-2:9469,fleet-prober-3:9469';
      await renderStep(
        command,
        { '/etc/prometheus': etc, '/prometheus/config': `${data}/config` },
        { ALERTMANAGERS: members, PROBERS: probers },
      );
      const targets = parse(
        await fs.readFile(path.join(data, 'config/targets/fleet-prober.yml'), 'utf8'),
      ) as { targets: string[] }[];
      assert.deepEqual(targets[0]!.targets, probers.split(','));
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
      assert.equal(prom.environment!.PROBERS, 'fleet-prober:9469');
      // The ha probers are three locations that read each other and send to every Alertmanager.
      const ha2 = ha.services['fleet-prober-2']!.environment!;
      assert.equal(ha2.PROBER_LOCATION, 'loc-2');
      assert.equal(ha2.PROBER_PEERS, 'http://fleet-prober:9469,http://fleet-prober-3:9469');
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
      const secret = `${CONFIG_SECRETS}/alertmanager.token`;
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
