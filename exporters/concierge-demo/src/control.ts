/**
 * The running demo's control API: a loopback HTTP server whose address is written to
 * `<DEMO_STATE_DIR>/control.json`, so that `npm run demo -- break|heal ...` (another process) can reach it.
 */
import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { TARGETS, type DemoInstance, type Target } from './instance.ts';

export interface ControlFile {
  url: string;
  pid: number;
  instances: string[];
}

export function controlFile(stateDir: string): string {
  return path.join(stateDir, 'control.json');
}

export async function startControlApi(
  stateDir: string,
  instances: ReadonlyMap<string, DemoInstance>,
): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const json = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body) + '\n');
    };
    const status = () =>
      [...instances.values()].map((i) => ({
        instance: i.spec.instance,
        client: i.spec.client,
        broken: [...i.broken],
        health: i.health().status,
        urls: i.urls,
      }));
    if (req.method === 'GET' && req.url === '/status') return json(200, status());
    const m = /^\/(break|heal)$/.exec(req.url ?? '');
    if (req.method !== 'POST' || !m)
      return json(404, { error: 'try GET /status, POST /break or POST /heal' });
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => (raw += d.slice(0, 4096)));
    req.on('end', () => {
      let body: { instance?: unknown; target?: unknown };
      try {
        body = JSON.parse(raw) as typeof body;
      } catch {
        return json(400, { error: 'body must be JSON {"instance": "...", "target": "..."}' });
      }
      const inst = typeof body.instance === 'string' ? instances.get(body.instance) : undefined;
      if (!inst) return json(400, { error: `instance must be one of ${[...instances.keys()].join(', ')}` });
      const all = m[1] === 'heal' && body.target === 'all';
      if (!all && !TARGETS.includes(body.target as Target))
        return json(400, {
          error: `target must be one of ${TARGETS.join(', ')}${m[1] === 'heal' ? ', all' : ''}`,
        });
      const targets = all ? [...inst.broken] : [body.target as Target];
      const act = (t: Target) => (m[1] === 'break' ? inst.break(t) : inst.heal(t));
      Promise.all(targets.map(act)).then(
        () =>
          json(
            200,
            status().find((s) => s.instance === inst.spec.instance),
          ),
        (err: Error) => json(500, { error: err.message }),
      );
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  await fs.mkdir(stateDir, { recursive: true });
  const file: ControlFile = { url, pid: process.pid, instances: [...instances.keys()] };
  // Written whole then renamed: break/heal never read half a file.
  await fs.writeFile(controlFile(stateDir) + '.tmp', JSON.stringify(file, null, 2));
  await fs.rename(controlFile(stateDir) + '.tmp', controlFile(stateDir));
  return {
    url,
    async close() {
      await fs.rm(controlFile(stateDir), { force: true });
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/**
 * The folder of the running demo among `candidates`: the one whose control.json is newest (a demo that was
 * killed leaves its file; the newest is the likeliest to answer). None: an error naming every folder looked at
 * and the commands that start a demo or point at one.
 */
export async function findStateDir(candidates: string[]): Promise<string> {
  let best: { dir: string; at: number } | undefined;
  for (const dir of candidates) {
    const at = await fs.stat(controlFile(dir)).then(
      (st) => st.mtimeMs,
      () => undefined,
    );
    if (at !== undefined && (!best || at > best.at)) best = { dir, at };
  }
  if (best) return best.dir;
  throw new Error(
    `the demo is not running (no control.json in ${candidates.join(' or ')}): start it with  npm run demo  ` +
      `or  npm run stack; for a stack started with DATA_DIR=<folder>, run  DATA_DIR=<folder> npm run demo -- ...  ` +
      `(or DEMO_STATE_DIR=<folder>/demo)`,
  );
}

/** `break|heal <instance> <target>` from the command line: one request to the running demo. */
export async function sendCommand(
  stateDir: string,
  action: 'break' | 'heal',
  instance: string,
  target: string,
): Promise<string> {
  let file: ControlFile;
  try {
    file = JSON.parse(await fs.readFile(controlFile(stateDir), 'utf8')) as ControlFile;
  } catch {
    throw new Error(`the demo is not running (no ${controlFile(stateDir)}): start it with  npm run demo`);
  }
  let res: Response;
  try {
    res = await fetch(`${file.url}/${action}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ instance, target }),
    });
  } catch {
    throw new Error(`the demo is not running (nothing answers at ${file.url}): start it with  npm run demo`);
  }
  const body = (await res.json()) as { error?: string; broken?: string[]; health?: string };
  if (!res.ok) throw new Error(body.error ?? `HTTP ${res.status}`);
  return `${instance}: health ${body.health}, broken: ${body.broken?.length ? body.broken.join(', ') : 'nothing'}`;
}
