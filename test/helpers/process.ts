import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '@concierge-ops/shared/ports';

export interface StartedControlPlane {
  child: ChildProcess;
  url: string;
  output: () => string;
  /** Resolves with the exit code once the process has ended. */
  exited: Promise<number | null>;
}

/** A folder the `postgres` system user can reach (mkdtemp makes 0700 folders). */
export async function reachableTempDir(prefix: string): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), prefix));
  await fs.chmod(dir, 0o755);
  return dir;
}

/** Runs `npm start` as a user would and waits until it prints its URL. */
export async function npmStart(
  env: Record<string, string>,
  timeoutMs = 90_000,
): Promise<StartedControlPlane> {
  const port = env.PORT ?? String(await freePort());
  const child = spawn('npm', ['start'], {
    cwd: path.resolve(import.meta.dirname, '../..'),
    env: { ...process.env, LOG_LEVEL: 'warn', ...env, PORT: port },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`npm start did not print its URL in time:\n${out}`)),
      timeoutMs,
    );
    const onData = () => {
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    child.stdout!.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`npm start exited with ${code}:\n${out}`));
    });
  });
  return { child, url, output: () => out, exited };
}

/** Pids of postgres servers whose data folder lies under `dir`. */
export async function postgresPidsUnder(dir: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await fs.readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cmd = await fs.readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (cmd.includes('postgres') && cmd.includes(`${dir}/`)) pids.push(Number(entry));
  }
  return pids;
}

/** Pids of processes whose environment holds `name=value` (e.g. the STACK_DIR every `npm run stack` child has). */
export async function pidsWithEnv(name: string, value: string): Promise<number[]> {
  const pids: number[] = [];
  const wanted = `${name}=${value}`;
  for (const entry of await fs.readdir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const env = await fs.readFile(`/proc/${entry}/environ`, 'utf8').catch(() => '');
    if (env.split('\0').includes(wanted)) pids.push(Number(entry));
  }
  return pids;
}
