import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { freePort } from '@concierge-ops/shared/ports';
import { requireTool } from './tools.ts';

export const REPO = path.resolve(import.meta.dirname, '../..');

/** A real Prometheus or Alertmanager process on a free loopback port, with its own temporary folder. */
export interface Proc {
  url: string;
  dir: string;
  output: () => string;
  stop(): Promise<void>;
}

export interface Spec {
  bin: string;
  /** Written into the process's folder before it starts. */
  files: Record<string, string>;
  args: (dir: string, port: number) => string[];
  readyPath: string;
  /** Added to the test's own environment. */
  env?: Record<string, string>;
}

export async function start(spec: Spec): Promise<Proc> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), `${spec.bin}-`));
  for (const [name, content] of Object.entries(spec.files)) {
    await fs.mkdir(path.dirname(path.join(dir, name)), { recursive: true });
    await fs.writeFile(path.join(dir, name), content);
  }
  const port = await freePort();
  const child = spawn(requireTool(spec.bin), spec.args(dir, port), {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...spec.env },
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const url = `http://127.0.0.1:${port}`;
  const proc: Proc = {
    url,
    dir,
    output: () => out,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    const ok = await fetch(url + spec.readyPath).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return proc;
    if (child.exitCode !== null || Date.now() > deadline) {
      await proc.stop();
      throw new Error(`${spec.bin} did not become ready:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Prometheus 2.42 with `prometheus.yml` and any rule files (paths relative to its folder). */
export function startPrometheus(config: string, files: Record<string, string> = {}): Promise<Proc> {
  return start({
    bin: 'prometheus',
    files: { 'prometheus.yml': config, ...files },
    args: (dir, port) => [
      `--config.file=${path.join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    readyPath: '/-/ready',
  });
}

/** Alertmanager 0.25 (Debian's prometheus-alertmanager), alone or as a member of a loopback cluster. */
export function startAlertmanager(
  config: string,
  files: Record<string, string> = {},
  cluster?: { listen: string; peers: string[] },
): Promise<Proc> {
  return start({
    bin: 'prometheus-alertmanager',
    files: { 'alertmanager.yml': config, ...files },
    args: (dir, port) => [
      `--config.file=${path.join(dir, 'alertmanager.yml')}`,
      `--storage.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      ...(cluster
        ? [`--cluster.listen-address=${cluster.listen}`, ...cluster.peers.map((p) => `--cluster.peer=${p}`)]
        : ['--cluster.listen-address=']),
    ],
    readyPath: '/-/ready',
  });
}

/** Runs an instant query; returns the result vector. */
export async function query(
  prom: Proc,
  expr: string,
  at?: Date,
): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>> {
  const time = at ? `&time=${at.getTime() / 1000}` : '';
  const res = await fetch(`${prom.url}/api/v1/query?query=${encodeURIComponent(expr)}${time}`);
  const body = (await res.json()) as { status: string; error?: string; data: { result: never[] } };
  if (body.status !== 'success') throw new Error(`query ${expr} failed: ${body.error}`);
  return body.data.result;
}

/**
 * A responder rota in a stack's database (there is no responders API yet): Olivia on call at `phones[0]`,
 * Dev the DevOps lead at `phones[1]`, both with e-mail; level 2 of the shipped ladder after `level2Seconds`
 * so a test can watch both levels page.
 */
export async function seedRota(
  databaseUrl: string,
  phones: [string, string],
  level2Seconds: number,
): Promise<void> {
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    await db.query(
      `insert into responders (name, role, phone, email) values
         ('Olivia', 'oncall-engineer', $1, 'olivia@ops.example.test'), ('Dev', 'devops-lead', $2, 'dev@ops.example.test')`,
      phones,
    );
    await db.query(`update escalation_levels set delay_seconds = $1 where level = 2`, [level2Seconds]);
  } finally {
    await db.end();
  }
}

/** Moves one level of the default escalation policy to `seconds` after the incident opens (a test's ladder). */
export async function setLevelDelay(databaseUrl: string, level: number, seconds: number): Promise<void> {
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    await db.query(
      `update escalation_levels set delay_seconds = $2
        where level = $1 and policy_id = (select id from escalation_policies where is_default)`,
      [level, seconds],
    );
  } finally {
    await db.end();
  }
}
