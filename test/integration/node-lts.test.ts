/**
 * The built services on the supported Node.js LTS the images run (scripts/node-lts.mjs pins it: 22, the
 * official build, fetched from the npm registry into node_modules/.cache/node-lts/ once). The rest of the suite
 * runs on this machine's Node.js, 20.19 or newer as the engines say; this file starts the control plane and the
 * fleet prober from their dist/ with that other binary, exactly as `npm start` and `npm run prober` start them,
 * so "works on 22" is checked here too.
 *
 * Time: the first run downloads about 51 MB (9 to 18 s here); then the embedded PostgreSQL's first start and
 * the migrations take most of the rest.
 */
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '@concierge-ops/shared/ports';
import { fetchNode, NODE_LTS } from '../../scripts/node-lts.mjs';
import { proberLaunch } from '../../scripts/stack/prober.ts';
import { clientBody } from '../helpers/control-plane.ts';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '../..');
const ADMIN = 'adm_' + 'n'.repeat(40);

interface Service {
  child: ChildProcess;
  output: () => string;
}

describe(`the built services on Node.js ${NODE_LTS.version} (the images' LTS)`, function () {
  this.timeout(180_000);
  let node = '';
  let tmp = '';
  let cpUrl = '';
  let cp: Service | undefined;
  const children: ChildProcess[] = [];
  let target: http.Server | undefined;
  let targetHits = 0;

  before(async function () {
    try {
      node = (await fetchNode()).node;
    } catch (err) {
      // Only an unreachable registry skips; a download that does not match its pinned integrity fails.
      if ((err as { code?: string }).code !== 'NODE_LTS_DOWNLOAD') throw err;
      console.warn(
        `      skipped: Node.js ${NODE_LTS.version} cannot be downloaded here: ${(err as Error).message}`,
      );
      this.skip();
    }
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'node-lts-'));
    // As root, the embedded PostgreSQL runs as the `postgres` user, who must reach the data folder inside.
    await fs.chmod(tmp, 0o755);
    // What `npm start` and `npm run prober` do first.
    await run('node', ['scripts/build-stale.mjs', 'control-plane', 'exporters/fleet-prober'], {
      cwd: ROOT,
      maxBuffer: 16 * 1024 * 1024,
    });
  });

  after(async () => {
    for (const c of children) c.kill('SIGTERM');
    await Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.on('exit', r)) : 0)));
    target?.close();
    if (tmp) await fs.rm(tmp, { recursive: true, force: true });
  });

  /** `node <args>` with the pinned binary, from the repository root, with an environment of its own only. */
  function start(args: string[], env: NodeJS.ProcessEnv): Service {
    const child = spawn(node, args, {
      cwd: ROOT,
      env: { PATH: process.env.PATH, HOME: tmp, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (out += d));
    children.push(child);
    return { child, output: () => out };
  }

  /** Polls until `check` holds, failing with the service's output when it exits or never does. */
  async function until(what: string, service: Service, check: () => Promise<boolean>) {
    for (let i = 0; i < 480; i++) {
      assert.equal(service.child.exitCode, null, `exited:\n${service.output()}`);
      if (await check().catch(() => false)) return;
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.fail(`${what} never happened:\n${service.output()}`);
  }

  const api = async (method: string, url: string, body?: unknown) => {
    const res = await fetch(`${cpUrl}${url}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  it('the control plane (as `npm start` runs it) starts its embedded PostgreSQL and answers /readyz', async () => {
    const port = await freePort();
    // package.json's "start": `exec node control-plane/dist/main.js`, with no DATABASE_URL.
    cp = start(['control-plane/dist/main.js'], {
      DATA_DIR: path.join(tmp, 'data'),
      PORT: String(port),
      HOST: '127.0.0.1',
      BOOTSTRAP_ADMIN_TOKEN: ADMIN,
      LOG_LEVEL: 'warn',
    });
    cpUrl = `http://127.0.0.1:${port}`;
    await until('/readyz 200', cp, async () => (await fetch(`${cpUrl}/readyz`)).status === 200);
    // The banner, printed once the job runner has started too.
    await until('the banner', cp, async () =>
      /control plane listening on http:\/\/localhost:/.test(cp!.output()),
    );
    // The process serving it is the pinned binary, not this machine's Node.js.
    assert.equal(await fs.readlink(`/proc/${cp.child.pid}/exe`), node);
    assert.equal((await run(node, ['--version'])).stdout.trim(), `v${NODE_LTS.version}`);
    const tokens = await api('GET', '/api/v1/tokens');
    assert.equal(tokens.status, 200);
  });

  it('the fleet prober (as `npm run prober` runs it) probes an instance from the control plane', async () => {
    assert.ok(cp, 'the control plane runs');
    // The instance's health endpoint.
    target = http.createServer((_req, res) => {
      targetHits++;
      res.end('ok');
    });
    await new Promise<void>((r) => target!.listen(0, '127.0.0.1', r));
    const health = `http://127.0.0.1:${(target.address() as AddressInfo).port}/health`;
    assert.equal((await api('POST', '/api/v1/clients', clientBody('lts'))).status, 201);
    const instance = await api('POST', '/api/v1/instances', {
      client: 'lts',
      slug: 'lts-prod',
      environment: 'prod',
      baseUrl: health.replace('/health', ''),
      services: [{ name: 'backend', kind: 'backend', probe: { type: 'http', url: health } }],
    });
    assert.equal(instance.status, 201, JSON.stringify(instance.body));
    const token = await api('POST', '/api/v1/tokens', { name: 'lts-prober', role: 'prober' });
    assert.equal(token.status, 201, JSON.stringify(token.body));

    // package.json's "prober": its malloc settings and V8 options, then the dist entry.
    const port = await freePort();
    const launch = proberLaunch({
      CONTROL_PLANE_URL: cpUrl,
      PROBER_TOKEN: String(token.body.token),
      PROBER_PORT: String(port),
      PROBER_STATE_DIR: path.join(tmp, 'prober'),
      PROBE_INTERVAL_SECONDS: '0.5',
      PROBER_SD_REFRESH_SECONDS: '0.5',
      LOG_LEVEL: 'warn',
    });
    const prober = start(launch.args, launch.env);
    const metrics = `http://127.0.0.1:${port}/metrics`;
    await until('/-/ready 200', prober, async () => (await fetch(`http://127.0.0.1:${port}/-/ready`)).ok);
    await until('probe_success 1 for the instance', prober, async () =>
      /^probe_success\{client="lts",[^}]*service="backend"[^}]*\} 1$/m.test(
        await (await fetch(metrics)).text(),
      ),
    );
    assert.ok(targetHits > 0, 'the instance was probed');
    assert.equal(await fs.readlink(`/proc/${prober.child.pid}/exe`), node);
  });
});
