import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** One supervised child of `npm run stack`: its own process group, its output in `<logDir>/<name>.log`. */
export interface Child {
  readonly name: string;
  readonly pid: number;
  readonly logFile: string;
  /** Resolves with the exit code (or signal name) once the process has ended. */
  readonly exited: Promise<number | string>;
  running(): boolean;
  /** The last lines the process wrote, for an error message. */
  tail(lines?: number): string;
  /** SIGTERM (to the whole group, so `npm run x` takes its node along), SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

export interface ChildSpec {
  name: string;
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
  logDir: string;
  /** Called with every chunk the child writes to stdout (e.g. to pick up a printed URL). */
  onStdout?: (chunk: string) => void;
}

export function startChild(spec: ChildSpec): Child {
  const logFile = path.join(spec.logDir, `${spec.name}.log`);
  const log = fs.createWriteStream(logFile, { flags: 'a' });
  // detached: a Ctrl-C in the terminal reaches only the supervisor, which then stops the children in order
  // (the database last). Each child leads its own group, so stopping it also stops what it spawned.
  const child: ChildProcess = spawn(spec.command, spec.args, {
    cwd: spec.cwd,
    env: spec.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let recent = '';
  const keep = (d: Buffer) => {
    recent = (recent + d.toString()).slice(-8000);
    log.write(d);
  };
  child.stdout!.on('data', (d: Buffer) => {
    keep(d);
    spec.onStdout?.(d.toString());
  });
  child.stderr!.on('data', keep);
  const exited = new Promise<number | string>((resolve) => {
    child.once('error', (err) => {
      recent += `\n${err.message}`;
      resolve('spawn-error');
    });
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'));
  });
  void exited.then(() => log.end());
  let ended = false;
  void exited.then(() => (ended = true));
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, sig);
    } catch {
      // already gone
    }
  };
  return {
    name: spec.name,
    pid: child.pid ?? -1,
    logFile,
    exited,
    running: () => !ended,
    tail: (lines = 20) => recent.trimEnd().split('\n').slice(-lines).join('\n'),
    async stop(graceMs = 15_000) {
      if (ended) {
        signal('SIGKILL'); // anything the child left behind in its group
        return;
      }
      signal('SIGTERM');
      const timer = setTimeout(() => signal('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
      signal('SIGKILL');
    },
  };
}

/** Polls `url` until it answers 2xx; fails early, with the child's last output, if the child exits. */
export async function waitReady(child: Child, url: string, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await fetch(url, { signal: AbortSignal.timeout(2000) }).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    if (!child.running())
      throw new Error(`${child.name} exited before it was ready (log: ${child.logFile}):\n${child.tail()}`);
    if (Date.now() > deadline)
      throw new Error(
        `${child.name} was not ready at ${url} in time (log: ${child.logFile}):\n${child.tail()}`,
      );
    await new Promise((r) => setTimeout(r, 200));
  }
}
