import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '@concierge-ops/shared/ports';
import {
  npmStart,
  postgresPidsUnder,
  reachableTempDir,
  type StartedControlPlane,
} from '../helpers/process.ts';

const run = promisify(execFile);
const TOKEN = 'cop_' + 'f'.repeat(43);

/** `npm run audit:verify` on `dataDir` (no DATABASE_URL), as an operator runs it. */
async function auditVerify(dataDir: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir };
  delete env.DATABASE_URL;
  try {
    const { stdout, stderr } = await run('npm', ['run', '--silent', 'audit:verify'], {
      cwd: path.resolve(import.meta.dirname, '../..'),
      env,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** The output of an `npm start` expected to fail; one that starts after all is stopped, and the test fails. */
async function startFails(env: Record<string, string>): Promise<string> {
  let started: StartedControlPlane;
  try {
    started = await npmStart(env);
  } catch (err) {
    return (err as Error).message;
  }
  started.child.kill('SIGTERM');
  await started.exited;
  assert.fail(`npm start did not refuse:\n${started.output()}`);
}

/** The node process `npm start` runs (npm's child: the script execs node). */
async function nodePid(cp: StartedControlPlane): Promise<number> {
  const pid = cp.child.pid!;
  const children = await fs.readFile(`/proc/${pid}/task/${pid}/children`, 'utf8');
  return Number(children.trim().split(' ')[0]);
}

describe('a data folder in use by a running control plane', function () {
  this.timeout(240_000);
  let dataDir: string;
  let first: StartedControlPlane;
  let owner: number;
  let postgres: number[];

  before(async () => {
    dataDir = await reachableTempDir('cp-inuse-');
    first = await npmStart({ DATA_DIR: dataDir, BOOTSTRAP_ADMIN_TOKEN: TOKEN });
    owner = await nodePid(first);
    postgres = await postgresPidsUnder(dataDir);
    assert.ok(postgres.length > 0);
  });
  after(async () => {
    if (first.child.exitCode === null) {
      first.child.kill('SIGTERM');
      await first.exited;
    }
    await fs.rm(dataDir, { recursive: true, force: true });
  });

  /** The first control plane still answers, writes, and runs the same database server. */
  async function firstStillServes(slug: string) {
    assert.equal(first.child.exitCode, null, first.output());
    assert.equal((await fetch(`${first.url}/readyz`)).status, 200);
    const created = await fetch(`${first.url}/api/v1/clients`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ slug, name: `Practice ${slug}`, timeZone: 'Europe/London' }),
    });
    assert.equal(created.status, 201, await created.text());
    assert.deepEqual(await postgresPidsUnder(dataDir), postgres, 'the database server was replaced');
  }

  it('audit:verify checks the running database and leaves it running', async () => {
    const verify = await auditVerify(dataDir);
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
    assert.match(verify.stdout, /^audit log OK: \d+ rows, chain intact$/m);
    assert.match(verify.stderr, new RegExp(`embedded PostgreSQL of process ${owner}\\b`));
    assert.doesNotMatch(verify.stdout + verify.stderr, /orphan/);
    await firstStillServes('after-verify');
  });

  it('a second npm start refuses, naming the process that holds the folder, and leaves its database alone', async () => {
    const refused = await startFails({ DATA_DIR: dataDir, PORT: String(await freePort()) });
    assert.match(refused, /exited with 1/);
    assert.match(refused, new RegExp(`${dataDir} is in use: process ${owner} `));
    await firstStillServes('after-second-start');
  });

  it('audit:verify with no control plane running starts a database for the check and stops it', async () => {
    first.child.kill('SIGTERM');
    assert.equal(await first.exited, 0, first.output());
    const verify = await auditVerify(dataDir);
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
    assert.match(verify.stdout, /^audit log OK: [1-9]\d* rows, chain intact$/m);
    assert.deepEqual(await postgresPidsUnder(dataDir), []);
  });

  it('exits 1 naming the port when the port is taken, and stops the database it started', async () => {
    const squatter = net.createServer();
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
    const port = (squatter.address() as net.AddressInfo).port;
    try {
      const refused = await startFails({ DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1' });
      assert.match(refused, /exited with 1/);
      assert.match(refused, new RegExp(`could not listen on 127\\.0\\.0\\.1 port ${port}: .*EADDRINUSE`));
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
    assert.deepEqual(await postgresPidsUnder(dataDir), [], 'the database it started is still running');
  });
});
