import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import { npmStart, postgresPidsUnder, reachableTempDir } from '../helpers/process.ts';

const TOKEN_LINE = /^\s+(cop_[A-Za-z0-9_-]{43})$/m;

describe('npm start on embedded PostgreSQL', function () {
  this.timeout(180_000);
  let dataDir: string;
  before(async () => {
    dataDir = await reachableTempDir('cp-start-');
  });
  after(async () => {
    await fs.rm(dataDir, { recursive: true, force: true });
  });

  it('starts, prints the admin token once, stops cleanly on SIGTERM and keeps the data for the next start', async () => {
    const first = await npmStart({ DATA_DIR: dataDir });
    const token = TOKEN_LINE.exec(first.output())?.[1];
    assert.ok(token, `no admin token printed:\n${first.output()}`);
    assert.equal((await fetch(`${first.url}/readyz`)).status, 200);
    const created = await fetch(`${first.url}/api/v1/clients`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ slug: 'kept', name: 'Kept Practice', timeZone: 'Europe/London' }),
    });
    assert.equal(created.status, 201);
    assert.equal((await postgresPidsUnder(dataDir)).length > 0, true);
    first.child.kill('SIGTERM');
    assert.equal(await first.exited, 0);
    assert.deepEqual(await postgresPidsUnder(dataDir), [], 'embedded PostgreSQL still running after SIGTERM');

    const second = await npmStart({ DATA_DIR: dataDir });
    try {
      assert.doesNotMatch(second.output(), TOKEN_LINE, 'a second start must not create another admin token');
      const got = await fetch(`${second.url}/api/v1/clients/kept`, {
        headers: { authorization: `Bearer ${token}` },
      });
      assert.equal(got.status, 200);
      assert.equal(((await got.json()) as { name: string }).name, 'Kept Practice');
    } finally {
      second.child.kill('SIGTERM');
      assert.equal(await second.exited, 0);
    }
  });

  it('takes over the data folder after a crash (SIGKILL) left the embedded database running', async () => {
    const crashed = await npmStart({ DATA_DIR: dataDir });
    // Kill node itself, not npm: the postgres child is orphaned, as after a real crash.
    const node = (
      await fs.readFile(`/proc/${crashed.child.pid}/task/${crashed.child.pid}/children`, 'utf8')
    ).trim();
    process.kill(Number(node.split(' ')[0]), 'SIGKILL');
    await crashed.exited;
    assert.ok((await postgresPidsUnder(dataDir)).length > 0, 'expected an orphaned postgres');
    const next = await npmStart({ DATA_DIR: dataDir });
    try {
      assert.equal((await fetch(`${next.url}/readyz`)).status, 200);
    } finally {
      next.child.kill('SIGTERM');
      assert.equal(await next.exited, 0);
    }
    assert.deepEqual(await postgresPidsUnder(dataDir), []);
  });

  it('refuses to start with a bad environment, naming each bad variable', async () => {
    await assert.rejects(npmStart({ DATA_DIR: dataDir, PORT: 'x', LOG_LEVEL: 'chatty' }), (err: Error) => {
      assert.match(err.message, /PORT="x" must be an integer/);
      assert.match(err.message, /LOG_LEVEL must be one of/);
      return true;
    });
  });
});
