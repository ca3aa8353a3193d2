/**
 * bench/startup: each service (control plane, fleet prober, backup exporter, demo fleet) started from its build
 * with plain node, as its launchers start it (`npm start`, `npm run stack`, its image: the same node options and
 * malloc settings, from the service's own node-options module), against the same service run from its
 * TypeScript sources through tsx with no options (as every service ran before the build), in the same run:
 * time from spawn to ready, the CPU time used by then, and resident memory once ready (the process and its
 * children, such as tsx's esbuild service; never PostgreSQL). On a shared machine the time to ready follows the
 * load; the CPU time much less so.
 * The control plane runs as a provider runs it, against an external PostgreSQL (DATABASE_URL and
 * MIGRATION_DATABASE_URL, its roles set up by the script in docs/audit.md; here a server this bench starts):
 * `cp_*`. Without DATABASE_URL it starts an embedded PostgreSQL of its own, which costs both variants the same
 * second or more and hides what the build changes: printed apart as `cpe_*`.
 * Rounds alternate which variant goes first; figures are medians. Targets: start at most half, memory at least
 * 30% less (start_ratio <= 0.5, rss_ratio <= 0.7; ratio = built / tsx). BENCH_ROUNDS (3), BENCH_SERVICES (a
 * comma-separated subset of cp, cpe, prober, backup, demo).
 * Last line: `bench startup: cp_first_s=.. cp_built_s=.. cp_tsx_s=.. cp_start_ratio=.. cp_built_cpu_s=.. ...`
 */
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { pino } from 'pino';
import { freePort } from '@concierge-ops/shared/ports';
import { startEmbeddedPostgres } from '@concierge-ops/embedded-postgres';
import { PROBER_MALLOC_ENV, PROBER_NODE_OPTIONS } from '@concierge-ops/fleet-prober/node-options';
import { BACKUP_MALLOC_ENV, BACKUP_NODE_OPTIONS } from '@concierge-ops/backup-exporter/node-options';
import { DEMO_MALLOC_ENV, DEMO_NODE_OPTIONS } from '@concierge-ops/concierge-demo/node-options';
import { reachableTempDir } from '../test/helpers/process.ts';
import { createServiceTokens } from '../scripts/stack/tokens.ts';

const REPO = path.resolve(import.meta.dirname, '..');
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const TSX = ['--import', 'tsx', '--conditions=concierge-source'];
const only = process.env.BENCH_SERVICES?.split(',');

interface Service {
  key: string;
  name: string;
  /** The package folder: its build is `dist/main.js`, its source `src/main.ts`. */
  dir: string;
  /** How its launchers run the build: node options before the entry, and environment (malloc settings). */
  launch?: { options: string; env?: Readonly<Record<string, string>> };
  env: () => Promise<Record<string, string>>;
  /** Resolves once the service answers as ready (`r.out()` is what it printed so far). */
  ready: (env: Record<string, string>, r: Running) => Promise<void>;
}

interface Running {
  child: ChildProcess;
  out: () => string;
  exited: Promise<number | null>;
}

function start(service: Service, variant: 'built' | 'tsx', env: Record<string, string>): Running {
  const entry =
    variant === 'built'
      ? [...(service.launch?.options.split(' ') ?? []), path.join(service.dir, 'dist/main.js')]
      : [...TSX, path.join(service.dir, 'src/main.ts')];
  const launchEnv = variant === 'built' ? service.launch?.env : undefined;
  const child = spawn(process.execPath, entry, {
    cwd: REPO,
    env: { ...process.env, LOG_LEVEL: 'warn', ...launchEnv, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, out: () => out, exited };
}

async function stop(r: Running): Promise<void> {
  r.child.kill('SIGTERM');
  const code = await r.exited;
  if (code !== 0 && code !== null) throw new Error(`exited with ${code}:\n${r.out()}`);
}

async function until(ok: () => Promise<boolean>, r: Running, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void r.exited.then(() => (exited = true));
  while (!(await ok().catch(() => false))) {
    if (exited) throw new Error(`exited before it was ready:\n${r.out()}`);
    if (Date.now() > deadline) throw new Error(`not ready in ${timeoutMs} ms:\n${r.out()}`);
    await new Promise((res) => setTimeout(res, 20));
  }
}

const answers = (url: string) => async () => (await fetch(url)).status === 200;

/** `pid` and its descendants, postgres servers excepted. */
async function tree(pid: number): Promise<number[]> {
  const parent = new Map<number, number>();
  const comm = new Map<number, string>();
  for (const e of await fs.readdir('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    const stat = await fs.readFile(`/proc/${e}/stat`, 'utf8').catch(() => '');
    const m = /^\d+ \((.*)\) \S (\d+)/s.exec(stat);
    if (m) {
      parent.set(Number(e), Number(m[2]));
      comm.set(Number(e), m[1]!);
    }
  }
  const pids = [pid];
  for (let i = 0; i < pids.length; i++)
    for (const [p, pp] of parent) if (pp === pids[i] && !comm.get(p)!.startsWith('postgres')) pids.push(p);
  return pids;
}

/** Resident memory in bytes of `pid` and its descendants, postgres servers excepted. */
async function treeRss(pid: number): Promise<number> {
  let kb = 0;
  for (const p of await tree(pid)) {
    const status = await fs.readFile(`/proc/${p}/status`, 'utf8').catch(() => '');
    kb += Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0);
  }
  return kb * 1024;
}

/**
 * CPU seconds (user and system, all threads) that `pid` and its descendants have used, with children they have
 * already reaped. Unlike the time to ready, this hardly moves with what else the machine runs.
 */
async function treeCpu(pid: number): Promise<number> {
  let ticks = 0;
  for (const p of await tree(pid)) {
    const stat = await fs.readFile(`/proc/${p}/stat`, 'utf8').catch(() => '');
    // Fields after the command's closing parenthesis: utime, stime, cutime and cstime are the 12th to 15th.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    ticks += [11, 12, 13, 14].reduce((sum, i) => sum + Number(f[i] ?? 0), 0);
  }
  return ticks / CLOCK_TICKS;
}

async function measure(
  service: Service,
  variant: 'built' | 'tsx',
): Promise<{ s: number; cpu: number; rss: number }> {
  const env = await service.env();
  const t0 = performance.now();
  const r = start(service, variant, env);
  await service.ready(env, r).catch(async (err: unknown) => {
    await stop(r).catch(() => undefined);
    throw new Error(`${service.name} (${variant}): ${err instanceof Error ? err.message : String(err)}`);
  });
  const s = (performance.now() - t0) / 1000;
  const cpu = await treeCpu(r.child.pid!);
  // Resident memory once the start's garbage has had a moment to be collected, as it would be in service.
  await new Promise((res) => setTimeout(res, 1000));
  const rss = await treeRss(r.child.pid!);
  await stop(r);
  return { s, cpu, rss };
}

// Linux counts CPU time in /proc in clock ticks of 1/100 s (USER_HZ) on every architecture node runs on.
const CLOCK_TICKS = 100;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const work = await reachableTempDir('bench-startup-');
const admin = crypto.randomBytes(24).toString('base64url');

/**
 * The provider's PostgreSQL: a server of the bench's own (not a child of any control plane), with the owner and
 * app roles and the database made by the operator's script in docs/audit.md ("Database roles").
 */
async function externalDatabase(): Promise<{ url: string; migrationUrl: string; stop: () => Promise<void> }> {
  const server = await startEmbeddedPostgres(path.join(work, 'postgres'), pino({ level: 'warn' }));
  try {
    return await makeRoles(server);
  } catch (err) {
    await server.stop();
    throw err;
  }
}

/** The operator's script run on `server` as its superuser, with fresh passwords: the two roles' URLs. */
async function makeRoles(server: { url: string; stop: () => Promise<void> }) {
  const doc = await fs.readFile(path.join(REPO, 'docs/audit.md'), 'utf8');
  const script = /<!-- roles-script -->\s*```sql\n([\s\S]*?)```/.exec(doc)?.[1];
  if (!script) throw new Error('docs/audit.md has no roles script');
  const pw = { owner: crypto.randomBytes(18).toString('hex'), app: crypto.randomBytes(18).toString('hex') };
  const [serverPart, dbPart] = script
    .replaceAll("'change-me-owner'", `'${pw.owner}'`)
    .replaceAll("'change-me-app'", `'${pw.app}'`)
    .split(/^\s*\\c .*$/m);
  const at = (role: string, password: string, db: string) => {
    const u = new URL(server.url);
    u.username = role;
    u.password = password;
    u.pathname = `/${db}`;
    return u.toString();
  };
  const run = async (url: string, statements: string[]) => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    for (const sql of statements) await c.query(sql);
    await c.end();
  };
  // One statement at a time: CREATE DATABASE refuses to run inside the transaction a multi-statement query is.
  await run(
    server.url,
    serverPart!.split(';').filter((sql) => sql.replace(/--.*$/gm, '').trim()),
  );
  await run(at('postgres', new URL(server.url).password, 'concierge_ops'), [dbPart!]);
  return {
    url: at('concierge_ops_app', pw.app, 'concierge_ops'),
    migrationUrl: at('concierge_ops_owner', pw.owner, 'concierge_ops'),
    stop: () => server.stop(),
  };
}

const external = await externalDatabase().catch(async (err: unknown) => {
  await fs.rm(work, { recursive: true, force: true });
  throw err;
});
let cpUrl = '';
const controlPlane: Service = {
  key: 'cp',
  name: 'control plane',
  dir: 'control-plane',
  env: async () => ({
    DATABASE_URL: external.url,
    MIGRATION_DATABASE_URL: external.migrationUrl,
    DATA_DIR: path.join(work, 'control-plane'),
    PORT: String(await freePort()),
    BOOTSTRAP_ADMIN_TOKEN: admin,
  }),
  ready: (env, r) => until(answers(`http://127.0.0.1:${env.PORT}/readyz`), r),
};
const embedded: Service = {
  ...controlPlane,
  key: 'cpe',
  name: 'cp, embedded pg',
  env: async () => ({
    DATA_DIR: path.join(work, 'control-plane-embedded'),
    PORT: String(await freePort()),
    BOOTSTRAP_ADMIN_TOKEN: admin,
  }),
};
let tokens: Awaited<ReturnType<typeof createServiceTokens>>;
const services: Service[] = [
  controlPlane,
  embedded,
  {
    key: 'prober',
    name: 'fleet prober',
    dir: 'exporters/fleet-prober',
    launch: { options: PROBER_NODE_OPTIONS, env: PROBER_MALLOC_ENV },
    env: async () => ({
      CONTROL_PLANE_URL: cpUrl,
      PROBER_TOKEN: tokens.prober.token,
      PROBER_PORT: String(await freePort()),
      PROBER_STATE_DIR: path.join(work, 'prober'),
      PROBER_ID: 'bench-prober',
    }),
    ready: (env, r) => until(answers(`http://127.0.0.1:${env.PROBER_PORT}/-/ready`), r),
  },
  {
    key: 'backup',
    name: 'backup exporter',
    dir: 'exporters/backup-exporter',
    launch: { options: BACKUP_NODE_OPTIONS, env: BACKUP_MALLOC_ENV },
    env: async () => ({
      CONTROL_PLANE_URL: cpUrl,
      BACKUP_AGENT_TOKEN: tokens['backup-agent'].token,
      BACKUP_EXPORTER_PORT: String(await freePort()),
      BACKUP_DUMP_DIR: path.join(work, 'backups'),
    }),
    ready: (env, r) => until(answers(`http://127.0.0.1:${env.BACKUP_EXPORTER_PORT}/metrics`), r),
  },
  {
    key: 'demo',
    name: 'demo fleet',
    dir: 'exporters/concierge-demo',
    launch: { options: DEMO_NODE_OPTIONS, env: DEMO_MALLOC_ENV },
    env: async () => ({
      CONTROL_PLANE_URL: cpUrl,
      CONTROL_PLANE_TOKEN: tokens.demo.token,
      DEMO_STATE_DIR: path.join(work, 'demo'),
    }),
    ready: (_env, r) => until(async () => /^demo ready/m.test(r.out()), r),
  },
];

const fields: string[] = [];
let background: Running | undefined;
try {
  await fs.mkdir(path.join(work, 'backups'));
  // The first start migrates the empty database: timed apart, then every start is a restart. The embedded
  // variant's first start (initdb as well) is not timed.
  const first = await measure(controlPlane, 'built');
  fields.push(`cp_first_s=${first.s.toFixed(2)}`);
  if (!only || only.includes('cpe')) await measure(embedded, 'built');
  for (const service of services) {
    if (only && !only.includes(service.key)) continue;
    if (service.key !== 'cp' && service.key !== 'cpe' && !background) {
      // The exporters and the demo talk to a control plane, which runs (built) beside them from here on.
      const env = await controlPlane.env();
      background = start(controlPlane, 'built', env);
      cpUrl = `http://127.0.0.1:${env.PORT}`;
      await controlPlane.ready(env, background);
      tokens = await createServiceTokens(cpUrl, admin, work);
    }
    type Run = { s: number; cpu: number; rss: number };
    const runs = { built: [] as Run[], tsx: [] as Run[] };
    for (let i = 0; i < rounds; i++) {
      const order = i % 2 === 0 ? (['built', 'tsx'] as const) : (['tsx', 'built'] as const);
      for (const variant of order) runs[variant].push(await measure(service, variant));
    }
    const s = { built: median(runs.built.map((x) => x.s)), tsx: median(runs.tsx.map((x) => x.s)) };
    const cpu = { built: median(runs.built.map((x) => x.cpu)), tsx: median(runs.tsx.map((x) => x.cpu)) };
    const mb = {
      built: median(runs.built.map((x) => x.rss)) / 2 ** 20,
      tsx: median(runs.tsx.map((x) => x.rss)) / 2 ** 20,
    };
    console.log(
      `${service.name.padEnd(16)} start ${s.built.toFixed(2)} s built, ${s.tsx.toFixed(2)} s tsx ` +
        `(ratio ${(s.built / s.tsx).toFixed(2)}); CPU ${cpu.built.toFixed(2)} s built, ${cpu.tsx.toFixed(2)} s tsx ` +
        `(ratio ${(cpu.built / cpu.tsx).toFixed(2)}); RSS ${mb.built.toFixed(0)} MB built, ${mb.tsx.toFixed(0)} MB tsx ` +
        `(ratio ${(mb.built / mb.tsx).toFixed(2)})`,
    );
    const k = service.key;
    fields.push(
      `${k}_built_s=${s.built.toFixed(2)}`,
      `${k}_tsx_s=${s.tsx.toFixed(2)}`,
      `${k}_start_ratio=${(s.built / s.tsx).toFixed(2)}`,
      `${k}_built_cpu_s=${cpu.built.toFixed(2)}`,
      `${k}_tsx_cpu_s=${cpu.tsx.toFixed(2)}`,
      `${k}_cpu_ratio=${(cpu.built / cpu.tsx).toFixed(2)}`,
      `${k}_built_rss_mb=${mb.built.toFixed(1)}`,
      `${k}_tsx_rss_mb=${mb.tsx.toFixed(1)}`,
      `${k}_rss_ratio=${(mb.built / mb.tsx).toFixed(2)}`,
    );
  }
  console.log(`bench startup: ${fields.join(' ')}`);
} finally {
  if (background) await stop(background).catch(() => undefined);
  await external.stop();
  await fs.rm(work, { recursive: true, force: true });
}
