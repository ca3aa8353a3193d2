/**
 * `npm run stack [-- --ha]`: docker-compose's topology from local binaries, each on a free loopback port.
 *
 *   PostgreSQL (embedded, or DATABASE_URL) <- control plane (x2 with --ha) <- fleet prober (x3 locations with
 *   --ha, a quorum of 2), backup exporter
 *   Prometheus (the repo's rules; scrapes all of them; http_sd from the control plane) -> Alertmanager
 *   (x3 clustered with --ha) -> webhook -> control plane -> Twilio stand-in (or TWILIO_* passed through) / SMTP
 *   sink; a demo responder for each role of the default escalation policy, so that pages go out.
 *   Grafana when grafana-server is installed; the demo fleet when exporters/concierge-demo exists, and then
 *   node_exporter and postgres_exporter (this host, the stack's database) registered on its first instance.
 *
 * Data, logs, generated configs and tokens live in DATA_DIR (default .stack/, git-ignored). Ctrl-C or SIGTERM
 * stops every child (each in its own process group) and then the database. STACK_SCRAPE_INTERVAL (e.g. 2s, for
 * tests) gives Prometheus one scrape, rule-evaluation and service-discovery interval instead of the repo's.
 * The probers send confirmed downs straight to every Alertmanager (the direct path); STACK_DIRECT_ALERTS=off
 * leaves paging to the Prometheus rules alone.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { freePort } from '@concierge-ops/shared/ports';
import { alertmanagerConfig, grafanaDatasources, prometheusConfig, REPO } from './stack/configs.ts';
import { prometheusPages } from './stack/links.ts';
import { proberLaunch } from './stack/prober.ts';
import { backupExporterLaunch } from './stack/backup-exporter.ts';
import { demoLaunch } from './stack/demo.ts';
import { startMailSink, type MailSink } from './stack/mail.ts';
import { postgresExporterDsn, registerHostExporters } from './stack/host-exporters.ts';
import { seedDemoResponders } from './stack/paging.ts';
import { startChild, waitReady, type Child, type ChildSpec } from './stack/proc.ts';
import { createServiceTokens } from './stack/tokens.ts';
import { TwilioStandIn } from './stack/twilio-standin.ts';
import { errorMessage } from '@concierge-ops/shared/errors';

const USAGE = 'usage: npm run stack [-- --ha]';
const args = process.argv.slice(2);
for (const a of args)
  if (a !== '--ha') {
    console.error(`unknown option ${a}\n${USAGE}`);
    process.exit(2);
  }
const ha = args.includes('--ha');
let scrapeEvery: string | undefined;
try {
  scrapeEvery = scrapeInterval();
} catch (err) {
  console.error(errorMessage(err));
  process.exit(2);
}

// `npm run demo -- break|heal|status` looks for the demo's state in DATA_DIR/demo, `.stack/demo` by default.
const DEFAULT_DATA_DIR = path.join(REPO, '.stack');
const dataDir = path.resolve(process.env.DATA_DIR || DEFAULT_DATA_DIR);
const dirs = {
  logs: path.join(dataDir, 'logs'),
  secrets: path.join(dataDir, 'secrets'),
  mail: path.join(dataDir, 'mail'),
  twilio: path.join(dataDir, 'twilio'),
};
fs.mkdirSync(dirs.logs, { recursive: true });
fs.mkdirSync(dirs.secrets, { recursive: true, mode: 0o700 });

// The children run the build with plain node: `npm run stack` builds what is stale before it starts.
const NODE = [process.execPath];
// Every child carries STACK_DIR, so a leftover process can be traced back to this stack by its environment.
const baseEnv: NodeJS.ProcessEnv = { ...process.env, STACK_DIR: dataDir };
delete baseEnv.DATA_DIR;
delete baseEnv.DATABASE_URL;

const children: Child[] = [];
let database: Child | undefined;
let mail: MailSink | undefined;
let twilio: TwilioStandIn | undefined;
let stopping = false;
let claimed: string | undefined;

function which(bin: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const p = path.join(dir, bin);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

function need(bin: string, pkg: string): string {
  const p = which(bin);
  if (!p) throw new Error(`${bin} is not installed: run  apt-get install -y --no-install-recommends ${pkg}`);
  return p;
}

function spawnChild(spec: Omit<ChildSpec, 'cwd' | 'logDir'>): Child {
  const child = startChild({ cwd: REPO, logDir: dirs.logs, ...spec });
  children.push(child);
  void child.exited.then((code) => {
    if (stopping) return;
    console.error(
      `\n${child.name} exited (${code}); stopping the stack. Its last output (${child.logFile}):`,
    );
    console.error(child.tail());
    void shutdown(1);
  });
  return child;
}

async function shutdown(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.log('\nstopping the stack ...');
  // Downstream first, so nothing calls a part that is already gone: the demo, Grafana and Prometheus; then the
  // Alertmanagers one at a time (a member leaving a cluster waits for a live peer to take its goodbye, up to
  // 10 s if they all leave at once); then the exporters; then the control planes; the database last.
  const stage = (c: Child) =>
    /^(demo|grafana|prometheus)$/.test(c.name)
      ? 0
      : c.name.startsWith('alertmanager-')
        ? 1
        : c.name.startsWith('control-plane-')
          ? 3
          : 2;
  await Promise.all(children.filter((c) => stage(c) === 0).map((c) => c.stop()));
  for (const am of children.filter((c) => stage(c) === 1).reverse()) await am.stop();
  await Promise.all(children.filter((c) => stage(c) === 2).map((c) => c.stop()));
  await Promise.all(children.filter((c) => stage(c) === 3).map((c) => c.stop()));
  if (database) await database.stop(30_000);
  await mail?.stop();
  await twilio?.stop();
  if (claimed) fs.rmSync(claimed, { force: true });
  console.log('stopped');
  process.exit(code);
}
process.on('SIGINT', () => void shutdown(0));
process.on('SIGTERM', () => void shutdown(0));

/** Starts the embedded PostgreSQL as a child and returns its URL (DATABASE_URL wins when set). */
async function startDatabase(): Promise<string> {
  if (process.env.DATABASE_URL) return process.env.DATABASE_URL;
  const dir = path.join(dataDir, 'postgres');
  const urlFile = path.join(dir, 'database.url');
  fs.rmSync(urlFile, { force: true });
  let ready: () => void;
  const printed = new Promise<void>((r) => (ready = r));
  database = startChild({
    name: 'postgres',
    command: NODE[0]!,
    args: [...NODE.slice(1), path.join(REPO, 'scripts/dist/stack/postgres.js'), dir],
    env: baseEnv,
    cwd: REPO,
    logDir: dirs.logs,
    onStdout: (chunk) => /^ready$/m.test(chunk) && ready(),
  });
  const code = await Promise.race([printed.then(() => undefined), database.exited]);
  if (code !== undefined)
    throw new Error(`PostgreSQL did not start (${database.logFile}):\n${database.tail()}`);
  void database.exited.then((c) => {
    if (stopping) return;
    console.error(`\nPostgreSQL exited (${c}); stopping the stack.`);
    void shutdown(1);
  });
  return fs.readFileSync(urlFile, 'utf8').trim();
}

function adminToken(): string {
  const file = path.join(dirs.secrets, 'admin.token');
  if (process.env.BOOTSTRAP_ADMIN_TOKEN) return process.env.BOOTSTRAP_ADMIN_TOKEN;
  if (fs.existsSync(file)) return fs.readFileSync(file, 'utf8').trim();
  const token = 'cop_' + crypto.randomBytes(32).toString('base64url');
  fs.writeFileSync(file, token, { mode: 0o600 });
  return token;
}

function writeFile(file: string, text: string): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
  return file;
}

/** STACK_SCRAPE_INTERVAL: Prometheus's one interval for a test (`1s`..`60s`); unset keeps the repo's. */
function scrapeInterval(): string | undefined {
  const v = process.env.STACK_SCRAPE_INTERVAL?.trim();
  if (!v) return undefined;
  const m = /^(\d+)s$/.exec(v);
  if (!m || Number(m[1]) < 1 || Number(m[1]) > 60)
    throw new Error(`STACK_SCRAPE_INTERVAL must be whole seconds from 1s to 60s, like 2s (got ${v})`);
  return v;
}

interface Entry {
  name: string;
  url: string;
  note?: string;
}

/**
 * A stack whose supervisor was killed (SIGKILL, a closed terminal) leaves its detached children running. They
 * carry STACK_DIR=<this data folder>, so the next start finds and stops them (the database by its own pid
 * file, in startEmbeddedPostgres).
 */
async function stopLeftovers(): Promise<void> {
  if (!fs.existsSync('/proc')) return;
  const found: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    let env: string;
    try {
      env = fs.readFileSync(`/proc/${entry}/environ`, 'utf8');
    } catch {
      continue; // gone, or not ours to read
    }
    if (env.split('\0').includes(`STACK_DIR=${dataDir}`)) found.push(Number(entry));
  }
  if (found.length === 0) return;
  console.log(`stopping ${found.length} processes an earlier run of this stack left behind`);
  for (const pid of found) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
  const deadline = Date.now() + 15_000;
  const alive = () =>
    found.filter((pid) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    });
  while (alive().length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  for (const pid of alive()) process.kill(pid, 'SIGKILL');
}

/** One stack per data folder: a second `npm run stack` on the same folder stops here instead of taking over. */
function claimFolder(): void {
  const pidFile = path.join(dataDir, 'stack.pid');
  const other = fs.existsSync(pidFile) ? Number(fs.readFileSync(pidFile, 'utf8').trim()) : NaN;
  if (Number.isInteger(other) && other !== process.pid) {
    // A pid file outlives a killed run and pids get reused: only a live `scripts/stack.ts` counts.
    let cmdline = '';
    try {
      cmdline = fs.readFileSync(`/proc/${other}/cmdline`, 'utf8');
    } catch {
      // not running
    }
    if (cmdline.includes('scripts/stack.ts')) {
      console.error(
        `a stack is already running from ${dataDir} (pid ${other}); stop it first, or set DATA_DIR to another folder`,
      );
      process.exit(1);
    }
  }
  fs.writeFileSync(pidFile, String(process.pid));
  claimed = pidFile;
}

async function main(): Promise<void> {
  claimFolder();
  await stopLeftovers();
  const prometheusBin = need('prometheus', 'prometheus');
  const alertmanagerBin = need('prometheus-alertmanager', 'prometheus-alertmanager');
  const loop = async () => `127.0.0.1:${await freePort()}`;
  const cpCount = ha ? 2 : 1;
  const amCount = ha ? 3 : 1;
  const cps = await Promise.all(Array.from({ length: cpCount }, loop));
  const ams = await Promise.all(Array.from({ length: amCount }, loop));
  const gossip = ha ? await Promise.all(Array.from({ length: amCount }, loop)) : [];
  const proberCount = ha ? 3 : 1;
  const probers = await Promise.all(Array.from({ length: proberCount }, loop));
  const [prom, backup] = [await loop(), await loop()];
  const url = (hostPort: string) => `http://${hostPort}`;
  const entries: Entry[] = [];

  let smtpUrl = process.env.SMTP_URL;
  let smarthost: string;
  if (smtpUrl) {
    const u = new URL(smtpUrl);
    smarthost = `${u.hostname}:${u.port || 25}`;
  } else {
    mail = await startMailSink(dirs.mail);
    smtpUrl = `smtp://127.0.0.1:${mail.port}?tls=none`;
    smarthost = `127.0.0.1:${mail.port}`;
    entries.push({ name: 'SMTP sink', url: `smtp://${smarthost}`, note: `messages in ${dirs.mail}` });
  }

  // Without a Twilio account, SMS and voice pages go to a stand-in that writes them where a person can read them.
  let twilioEnv: NodeJS.ProcessEnv = {};
  if (!process.env.TWILIO_ACCOUNT_SID) {
    fs.mkdirSync(dirs.twilio, { recursive: true });
    const log = path.join(dirs.twilio, 'messages.log');
    twilio = await new TwilioStandIn(log).start();
    twilioEnv = {
      TWILIO_ACCOUNT_SID: 'AC' + '0'.repeat(32),
      TWILIO_AUTH_TOKEN: crypto.randomBytes(24).toString('base64url'),
      TWILIO_FROM_NUMBER: '+12025550100',
      TWILIO_API_URL: twilio.url,
    };
    entries.push({ name: 'Twilio stand-in', url: twilio.url, note: `SMS and calls in ${log}` });
  }

  const databaseUrl = await startDatabase();
  const admin = adminToken();

  // Replica 1 migrates the database; replica 2 starts once it is ready, so they never race on migrations.
  const cpUrls = cps.map(url);
  for (let i = 0; i < cpCount; i++) {
    const [host, port] = cps[i]!.split(':');
    const cp = spawnChild({
      name: `control-plane-${i + 1}`,
      command: NODE[0]!,
      args: [...NODE.slice(1), 'control-plane/dist/main.js'],
      env: {
        ...baseEnv,
        HOST: host,
        PORT: port,
        DATABASE_URL: databaseUrl,
        BOOTSTRAP_ADMIN_TOKEN: admin,
        DATA_DIR: path.join(dataDir, `control-plane-${i + 1}`),
        PUBLIC_URL: process.env.PUBLIC_URL || cpUrls[0],
        ALERTMANAGER_URL: url(ams[0]!),
        SMTP_URL: smtpUrl,
        ...twilioEnv,
      },
    });
    await waitReady(cp, `${cpUrls[i]}/readyz`);
    entries.push({
      name: cpCount > 1 ? `control plane ${i + 1}` : 'control plane',
      url: cpUrls[i]!,
      note:
        i === 0
          ? `API docs /api/v1/openapi.json; admin token in ${path.join(dirs.secrets, 'admin.token')}`
          : 'same database',
    });
  }
  const tokens = await createServiceTokens(cpUrls[0]!, admin, dirs.secrets);
  const responders = await seedDemoResponders(cpUrls[0]!, admin, twilio !== undefined);

  // With --ha, three probers stand for three locations: each reads the others' views and pages on 2 of 3.
  const directAlerts = process.env.STACK_DIRECT_ALERTS !== 'off';
  const proberChildren = probers.map((hostPort, i) => {
    const run = proberLaunch({
      ...baseEnv,
      CONTROL_PLANE_URL: cpUrls[i % cpCount],
      PROBER_TOKEN: tokens.prober.token,
      PROBER_PORT: hostPort.split(':')[1],
      PROBER_STATE_DIR: path.join(dataDir, proberCount > 1 ? `prober-${i + 1}` : 'prober'),
      PROBER_ID: proberCount > 1 ? `stack-prober-${i + 1}` : 'stack-prober',
      ...(proberCount > 1
        ? {
            PROBER_LOCATION: `loc-${i + 1}`,
            PROBER_PEERS: probers
              .filter((_, j) => j !== i)
              .map(url)
              .join(','),
          }
        : {}),
      PROBER_ALERTMANAGER_URLS: directAlerts ? ams.map(url).join(',') : '',
    });
    return spawnChild({
      name: proberCount > 1 ? `fleet-prober-${i + 1}` : 'fleet-prober',
      command: NODE[0]!,
      args: [...NODE.slice(1), ...run.args],
      env: run.env,
    });
  });
  const backupDir = path.join(dataDir, 'backups');
  fs.mkdirSync(backupDir, { recursive: true });
  const backupRun = backupExporterLaunch({
    ...baseEnv,
    CONTROL_PLANE_URL: cpUrls[0],
    BACKUP_AGENT_TOKEN: tokens['backup-agent'].token,
    BACKUP_EXPORTER_PORT: backup.split(':')[1],
    BACKUP_DUMP_DIR: backupDir,
  });
  const backupChild = spawnChild({
    name: 'backup-exporter',
    command: NODE[0]!,
    args: [...NODE.slice(1), ...backupRun.args],
    env: backupRun.env,
  });

  const amChildren: Child[] = [];
  for (let i = 0; i < amCount; i++) {
    const dir = path.join(dataDir, `alertmanager-${i + 1}`);
    const config = writeFile(
      path.join(dir, 'alertmanager.yml'),
      // With two replicas, members deliver to alternate replicas: both take webhooks, one database decides.
      await alertmanagerConfig({
        controlPlaneUrl: cpUrls[i % cpCount]!,
        tokenFile: tokens.alertmanager.file,
        smarthost,
      }),
    );
    const cluster = ha
      ? [
          `--cluster.listen-address=${gossip[i]}`,
          ...gossip.filter((_, j) => j !== i).map((p) => `--cluster.peer=${p}`),
          '--cluster.peer-timeout=3s',
        ]
      : ['--cluster.listen-address='];
    amChildren.push(
      spawnChild({
        name: `alertmanager-${i + 1}`,
        command: alertmanagerBin,
        args: [
          `--config.file=${config}`,
          `--storage.path=${path.join(dir, 'data')}`,
          `--web.listen-address=${ams[i]}`,
          `--web.external-url=${url(ams[i]!)}`,
          ...cluster,
        ],
        env: baseEnv,
      }),
    );
  }

  const promDir = path.join(dataDir, 'prometheus');
  const promConfig = writeFile(
    path.join(promDir, 'prometheus.yml'),
    await prometheusConfig({
      self: prom,
      alertmanagers: ams,
      controlPlanes: cps,
      probers,
      backupExporter: backup,
      sdUrl: cpUrls[0]!,
      tokenFile: tokens.prometheus.file,
      scrapeInterval: scrapeEvery,
    }),
  );
  const promChild = spawnChild({
    name: 'prometheus',
    command: prometheusBin,
    args: [
      `--config.file=${promConfig}`,
      `--storage.tsdb.path=${path.join(promDir, 'data')}`,
      // The rules look back 3d and the SLO dashboards 30d: keep a month (as docker-compose does).
      '--storage.tsdb.retention.time=31d',
      `--web.listen-address=${prom}`,
      `--web.external-url=${url(prom)}`,
      '--web.enable-lifecycle',
    ],
    env: baseEnv,
  });

  for (const [i, p] of proberChildren.entries()) await waitReady(p, `${url(probers[i]!)}/metrics`);
  await waitReady(backupChild, `${url(backup)}/metrics`);
  for (const [i, am] of amChildren.entries()) {
    await waitReady(am, `${url(ams[i]!)}/-/ready`);
    entries.push({
      name: amCount > 1 ? `alertmanager ${i + 1}` : 'alertmanager',
      url: url(ams[i]!),
      note: amCount > 1 ? `gossip ${gossip[i]}, webhooks to control plane ${(i % cpCount) + 1}` : undefined,
    });
  }
  await waitReady(promChild, `${url(prom)}/-/ready`);
  entries.push({ name: 'prometheus', url: url(prom), note: await prometheusPages(url(prom)) });
  for (const [i, p] of probers.entries()) {
    entries.push({
      name: proberCount > 1 ? `fleet prober ${i + 1}` : 'fleet prober',
      url: `${url(p)}/metrics`,
      note:
        (proberCount > 1 ? `location loc-${i + 1}, quorum 2 of 3; ` : '') +
        (directAlerts ? 'confirmed downs straight to Alertmanager' : 'direct path off'),
    });
  }
  entries.push({
    name: 'backup exporter',
    url: `${url(backup)}/metrics`,
    note: `pg_dump archives from ${backupDir}`,
  });

  const skipped: Entry[] = [];
  const grafanaBin = which('grafana-server') ?? which('grafana');
  if (grafanaBin) entries.push(await startGrafana(grafanaBin, url(prom), url(ams[0]!)));
  else
    skipped.push({
      name: 'grafana',
      url: 'skipped: grafana-server is not installed (docker-compose runs it)',
    });

  const demo = await startDemo(cpUrls[0]!, tokens.demo.token, url(prom));
  if (typeof demo === 'string') skipped.push({ name: 'demo fleet', url: `skipped: ${demo}` });
  else entries.push(demo);

  // This host and this database, as a client instance's would be watched: registered on the first demo instance.
  const nodeBin = which('prometheus-node-exporter');
  const pgBin = which('prometheus-postgres-exporter');
  const firstInstance = typeof demo === 'string' ? undefined : demo.instance;
  if (!nodeBin || !pgBin)
    skipped.push({
      name: 'host exporters',
      url:
        'skipped: run  apt-get install -y --no-install-recommends prometheus-node-exporter ' +
        'prometheus-postgres-exporter',
    });
  else if (!firstInstance)
    skipped.push({ name: 'host exporters', url: 'skipped: no demo instance to register them on' });
  else {
    const [nodePort, pgPort] = [await loop(), await loop()];
    const nodeChild = spawnChild({
      name: 'node-exporter',
      command: nodeBin,
      args: [`--web.listen-address=${nodePort}`],
      env: baseEnv,
    });
    const pgChild = spawnChild({
      name: 'postgres-exporter',
      command: pgBin,
      args: [`--web.listen-address=${pgPort}`],
      env: { ...baseEnv, DATA_SOURCE_NAME: postgresExporterDsn(databaseUrl) },
    });
    await waitReady(nodeChild, `${url(nodePort)}/metrics`);
    await waitReady(pgChild, `${url(pgPort)}/metrics`);
    await registerHostExporters(cpUrls[0]!, tokens.demo.token, firstInstance, {
      nodeExporterUrl: `${url(nodePort)}/metrics`,
      postgresExporterUrl: `${url(pgPort)}/metrics`,
    });
    entries.push(
      { name: 'node exporter', url: `${url(nodePort)}/metrics`, note: `this host, as ${firstInstance}'s` },
      {
        name: 'postgres exporter',
        url: `${url(pgPort)}/metrics`,
        note: `the stack's database, as ${firstInstance}'s`,
      },
    );
  }

  fs.writeFileSync(
    path.join(dataDir, 'stack.json'),
    // Holds the database URL (with its password): readable by this user only.
    JSON.stringify(
      { ha, dataDir, databaseUrl, services: entries, pids: children.map((c) => c.pid) },
      null,
      2,
    ),
    { mode: 0o600 },
  );
  const width = Math.max(...[...entries, ...skipped].map((e) => e.name.length)) + 2;
  console.log(`\nconcierge-ops stack is up${ha ? ' (HA)' : ''}; data, logs and tokens in ${dataDir}\n`);
  for (const e of entries) console.log(`  ${e.name.padEnd(width)}${e.url}${e.note ? `   (${e.note})` : ''}`);
  for (const s of skipped) console.log(`  ${s.name.padEnd(width)}${s.url}`);
  if (responders.length > 0) {
    console.log(`\nWho gets paged (the default escalation policy's levels; GET /api/v1/responders):`);
    for (const r of responders)
      console.log(
        `  level ${r.level}  ${r.name} (${r.role})  ${[r.phone, r.email].filter(Boolean).join(', ')}` +
          (r.created ? '' : '  (already there)'),
      );
    const where = [
      twilio ? `SMS and calls in ${path.join(dirs.twilio, 'messages.log')}` : undefined,
      mail ? `e-mail in ${dirs.mail}` : undefined,
    ].filter(Boolean);
    if (where.length > 0) console.log(`  Their pages: ${where.join('; ')}.`);
  }
  console.log(`\nLogs: ${dirs.logs}/<service>.log. Ctrl-C stops everything.`);
}

async function startGrafana(bin: string, prometheusUrl: string, alertmanagerUrl: string): Promise<Entry> {
  const dir = path.join(dataDir, 'grafana');
  const port = await freePort();
  writeFile(
    path.join(dir, 'provisioning/datasources/datasources.yml'),
    await grafanaDatasources(prometheusUrl, alertmanagerUrl),
  );
  writeFile(
    path.join(dir, 'provisioning/dashboards/dashboards.yml'),
    fs
      .readFileSync(path.join(REPO, 'grafana/provisioning/dashboards/dashboards.yml'), 'utf8')
      .replace('/var/lib/grafana/dashboards', path.join(REPO, 'grafana/dashboards')),
  );
  const home = ['/usr/share/grafana', path.resolve(path.dirname(bin), '..', 'share/grafana')].find((p) =>
    fs.existsSync(path.join(p, 'conf/defaults.ini')),
  );
  const password = crypto.randomBytes(12).toString('base64url');
  fs.writeFileSync(path.join(dirs.secrets, 'grafana-admin.password'), password, { mode: 0o600 });
  const child = spawnChild({
    name: 'grafana',
    command: bin,
    args: [...(bin.endsWith('/grafana') ? ['server'] : []), ...(home ? [`--homepath=${home}`] : [])],
    env: {
      ...baseEnv,
      GF_SERVER_HTTP_ADDR: '127.0.0.1',
      GF_SERVER_HTTP_PORT: String(port),
      GF_PATHS_DATA: path.join(dir, 'data'),
      GF_PATHS_LOGS: dirs.logs,
      GF_PATHS_PROVISIONING: path.join(dir, 'provisioning'),
      GF_SECURITY_ADMIN_PASSWORD: password,
      GF_AUTH_ANONYMOUS_ENABLED: 'false',
      GF_ANALYTICS_REPORTING_ENABLED: 'false',
    },
  });
  await waitReady(child, `http://127.0.0.1:${port}/api/health`, 120_000);
  return {
    name: 'grafana',
    url: `http://127.0.0.1:${port}`,
    note: `admin / ${path.join(dirs.secrets, 'grafana-admin.password')}`,
  };
}

/** The demo fleet (`npm run demo`, exporters/concierge-demo) when it exists; otherwise why it was skipped. */
async function startDemo(
  controlPlaneUrl: string,
  token: string,
  prometheusUrl: string,
): Promise<(Entry & { instance?: string }) | string> {
  const pkg = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')) as {
    scripts?: Record<string, string>;
  };
  if (!fs.existsSync(path.join(REPO, 'exporters/concierge-demo')))
    return 'exporters/concierge-demo does not exist';
  if (!pkg.scripts?.demo) return 'package.json has no "demo" script';
  const stateDir = path.join(dataDir, 'demo');
  let out = '';
  let ready: () => void;
  const printed = new Promise<void>((r) => (ready = r));
  const run = demoLaunch({
    ...baseEnv,
    CONTROL_PLANE_URL: controlPlaneUrl,
    CONTROL_PLANE_TOKEN: token,
    PROMETHEUS_URL: prometheusUrl,
    DEMO_STATE_DIR: stateDir,
  });
  const child = spawnChild({
    name: 'demo',
    command: NODE[0]!,
    args: [...NODE.slice(1), ...run.args],
    env: run.env,
    onStdout: (chunk) => {
      out += chunk;
      if (/^demo ready/m.test(out)) ready();
    },
  });
  // It registers its clients and instances first; the prober and Prometheus find them by service discovery.
  const timer = new Promise((r) => setTimeout(r, 120_000));
  await Promise.race([printed, child.exited, timer]);
  const web = /^(\S+)\s+web (http:\/\/\S+)/m.exec(out);
  const count = /^demo ready: (\d+) instances/m.exec(out)?.[1];
  if (!web || !count) return { name: 'demo fleet', url: '(starting; see its log)', note: child.logFile };
  return {
    name: 'demo fleet',
    url: web[2]!,
    instance: web[1]!,
    note:
      `${count} instances, the first's web chat; break one: ` +
      `${dataDir === DEFAULT_DATA_DIR ? '' : `DATA_DIR=${dataDir} `}npm run demo -- break ${web[1]} backend`,
  };
}

main().catch((err: unknown) => {
  console.error(`\nthe stack did not start: ${err instanceof Error ? err.message : String(err)}`);
  void shutdown(1);
});
