/**
 * `npm run demo -- status|break|heal` typed beside `npm run stack`, without DEMO_STATE_DIR: it finds the stack's
 * demo in `.stack/demo` (or `$DATA_DIR/demo`), and when no demo runs it names the folders it looked in and the
 * commands that start one.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';

const MAIN = path.resolve(import.meta.dirname, '../../exporters/concierge-demo/src/main.ts');
// The scratch folder has no node_modules: tsx by its resolved URL.
const TSX = import.meta.resolve('tsx');

function demo(cwd: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  const clean: NodeJS.ProcessEnv = { ...process.env, ...env };
  if (!('DEMO_STATE_DIR' in env)) delete clean.DEMO_STATE_DIR;
  if (!('DATA_DIR' in env)) delete clean.DATA_DIR;
  return new Promise<{ code: number | null; out: string }>((resolve) => {
    const child = spawn(process.execPath, ['--import', TSX, MAIN, ...args], { cwd, env: clean });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('exit', (code) => resolve({ code, out }));
  });
}

describe('npm run demo -- break|status beside the stack', function () {
  this.timeout(60_000);
  let cwd: string;
  let server: http.Server;
  let url: string;
  const seen: string[] = [];

  before(async () => {
    cwd = await fs.mkdtemp(path.join(os.tmpdir(), 'demo-cli-'));
    // Stands in for the running demo's control API.
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        seen.push(`${req.method} ${req.url} ${body}`);
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          req.url === '/status'
            ? JSON.stringify([{ instance: 'riverside-prod', broken: [] }])
            : JSON.stringify({ health: 'down', broken: ['backend'] }),
        );
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    await new Promise((r) => server.close(r));
    await fs.rm(cwd, { recursive: true, force: true });
  });

  it('says where it looked and what to run when no demo is running', async () => {
    const { code, out } = await demo(cwd, ['break', 'riverside-prod', 'backend']);
    assert.equal(code, 1, out);
    assert.match(out, /the demo is not running \(no control\.json in \.\/data\/demo or \.\/\.stack\/demo\)/);
    assert.match(out, /npm run stack/);
    assert.match(out, /DATA_DIR=<folder> npm run demo -- \.\.\./);
  });

  it("finds the stack's demo in .stack/demo without DEMO_STATE_DIR", async () => {
    await fs.mkdir(path.join(cwd, '.stack/demo'), { recursive: true });
    const control = { url, pid: process.pid, instances: ['riverside-prod'] };
    await fs.writeFile(path.join(cwd, '.stack/demo/control.json'), JSON.stringify(control));
    const { code, out } = await demo(cwd, ['break', 'riverside-prod', 'backend']);
    assert.equal(code, 0, out);
    assert.equal(out.trim(), 'riverside-prod: health down, broken: backend');
    assert.equal(seen.at(-1), 'POST /break {"instance":"riverside-prod","target":"backend"}');
  });

  it('finds the demo of a stack started with DATA_DIR through the same DATA_DIR', async () => {
    await fs.rm(path.join(cwd, '.stack'), { recursive: true, force: true });
    const data = path.join(cwd, 'elsewhere');
    await fs.mkdir(path.join(data, 'demo'), { recursive: true });
    await fs.writeFile(path.join(data, 'demo/control.json'), JSON.stringify({ url, pid: 1, instances: [] }));
    const { code, out } = await demo(cwd, ['status'], { DATA_DIR: data });
    assert.equal(code, 0, out);
    assert.match(out, /riverside-prod/);
  });
});
