import assert from 'node:assert/strict';
import { once } from 'node:events';
import fs from 'node:fs/promises';
import net from 'node:net';
import { npmStart, postgresPidsUnder, reachableTempDir } from '../helpers/process.ts';

const DRAIN_TOKEN = 'cop_' + 'd'.repeat(43);
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

  it('lets a request in flight at SIGTERM finish against the database before it stops', async () => {
    const own = await reachableTempDir('cp-drain-');
    const cp = await npmStart({ DATA_DIR: own, BOOTSTRAP_ADMIN_TOKEN: DRAIN_TOKEN });
    const body = JSON.stringify({ slug: 'drained', name: 'Drained Practice', timeZone: 'Europe/London' });
    const { port } = new URL(cp.url);
    const socket = net.connect(Number(port), '127.0.0.1');
    await once(socket, 'connect');
    let response = '';
    socket.on('data', (d) => (response += d));
    // Headers and half the body now: the request is in flight when the signal arrives.
    socket.write(
      `POST /api/v1/clients HTTP/1.1\r\nhost: localhost\r\nauthorization: Bearer ${DRAIN_TOKEN}\r\n` +
        `content-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n` +
        body.slice(0, 10),
    );
    await new Promise((r) => setTimeout(r, 300));
    cp.child.kill('SIGTERM');
    const early = await Promise.race([cp.exited, new Promise((r) => setTimeout(() => r('running'), 2_000))]);
    assert.equal(
      early,
      'running',
      `exited with ${String(early)} while a request was in flight:\n${cp.output()}`,
    );
    socket.write(body.slice(10)); // not end(): a half-closed request socket is closed by Node before the reply
    await once(socket, 'close');
    assert.match(response, /^HTTP\/1\.1 201 /, `${response}\n${cp.output()}`);
    assert.equal(await cp.exited, 0);
    assert.deepEqual(await postgresPidsUnder(own), []);
    await fs.rm(own, { recursive: true, force: true });
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
