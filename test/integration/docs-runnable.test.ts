/**
 * The shell blocks the README and docs/ mark runnable, run as a reader would: against a fresh `npm start`
 * (its own data folder and port; `localhost:8080` in a block means that port) with `T` holding the admin
 * token it printed. Each must exit 0 and print what its marker expects.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import { docPages, REPO, runnableBlocks } from '../helpers/docs.ts';
import { npmStart, reachableTempDir, type StartedControlPlane } from '../helpers/process.ts';

const TOKEN_LINE = /^\s+(cop_[A-Za-z0-9_-]{43})$/m;

function run(script: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['-e', '-o', 'pipefail', '-c', script], { cwd: REPO, env });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('exit', (code) => resolve({ code, out }));
  });
}

describe('the runnable blocks of the README and docs/', function () {
  this.timeout(120_000);
  const blocks = docPages().flatMap(runnableBlocks);
  let dataDir: string;
  let cp: StartedControlPlane;
  let token: string;

  before(async () => {
    dataDir = await reachableTempDir('docs-runnable-');
    cp = await npmStart({ DATA_DIR: dataDir, HOST: '127.0.0.1' });
    token = TOKEN_LINE.exec(cp.output())?.[1] ?? '';
    assert.ok(token, `npm start printed no admin token:\n${cp.output()}`);
  });

  after(async () => {
    if (cp && cp.child.exitCode === null) {
      cp.child.kill('SIGTERM');
      await cp.exited;
    }
    await fs.rm(dataDir, { recursive: true, force: true });
  });

  it('finds blocks to run', () => {
    assert.ok(blocks.length >= 5, `only ${blocks.length} runnable blocks`);
  });

  for (const block of blocks)
    it(`${block.file}:${block.line} exits 0${block.expect ? ` and prints ${block.expect}` : ''}`, async () => {
      const host = new URL(cp.url).host;
      const script = block.script.replace(/localhost:8080/g, host);
      const { code, out } = await run(script, { ...process.env, T: token });
      assert.equal(code, 0, `exit ${code}:\n${out}`);
      if (block.expect !== undefined)
        assert.ok(out.includes(block.expect), `expected ${block.expect} in:\n${out}`);
    });
});
