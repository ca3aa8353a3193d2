import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import { pino } from 'pino';
import {
  ensureDatabase,
  overSocket,
  startEmbeddedPostgres,
  type EmbeddedDatabase,
} from '../../control-plane/src/db/embedded.ts';
import { npmStart, reachableTempDir, type StartedControlPlane } from '../helpers/process.ts';

const TOKEN = 'cop_' + 'o'.repeat(43);
/** What a crash leaves in the output: an unhandled rejection or exception and its stack. */
const CRASH = /unhandled|uncaught|^\s+at \S.*:\d+:\d+\)?$/im;

async function get(url: string, token?: string) {
  const res = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  const text = await res.text();
  return { status: res.status, type: res.headers.get('content-type') ?? '', text };
}

/** Polls /readyz until it answers `status`; the control plane is never restarted meanwhile. */
async function readyzBecomes(cp: StartedControlPlane, status: number, withinMs: number): Promise<void> {
  const until = Date.now() + withinMs;
  let last = 0;
  while (Date.now() < until) {
    last = (await get(`${cp.url}/readyz`)).status;
    if (last === status) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  assert.fail(`/readyz still ${last}, not ${status}, after ${withinMs} ms:\n${cp.output()}`);
}

describe('control plane whose database goes away and comes back', function () {
  this.timeout(180_000);
  const log = pino({ level: 'silent' });
  let dir: string;
  let db: EmbeddedDatabase | undefined;
  let port: number;
  let cp: StartedControlPlane;

  before(async () => {
    // A server this test stops and starts again (on the same port and socket), as an operator or a crash would.
    dir = await reachableTempDir('cp-outage-');
    db = await startEmbeddedPostgres(dir, log);
    port = Number(new URL(db.url).port);
    // Through its unix socket, as `npm start` reaches its embedded server: gone, that is `connect ENOENT`.
    const url = overSocket(await ensureDatabase(db.url, 'concierge_ops'), db.socketDir);
    cp = await npmStart({ DATABASE_URL: url, DATA_DIR: dir, BOOTSTRAP_ADMIN_TOKEN: TOKEN });
  });
  after(async () => {
    // SIGTERM, which npm passes on: a SIGKILL would end npm alone and leave the control plane running.
    if (cp.child.exitCode === null) {
      cp.child.kill('SIGTERM');
      await cp.exited;
    }
    await db?.stop();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('answers 503 while its database is away and is ready again on its own once it is back', async () => {
    assert.equal((await get(`${cp.url}/readyz`)).status, 200);
    await db!.stop();
    db = undefined;

    const ready = await get(`${cp.url}/readyz`);
    assert.equal(ready.status, 503);
    assert.match(ready.type, /^application\/problem\+json/);
    const list = await get(`${cp.url}/api/v1/clients`, TOKEN);
    assert.equal(list.status, 503, list.text);
    assert.match(list.type, /^application\/problem\+json/);
    assert.match(JSON.parse(list.text).detail, /database is not reachable/);
    const created = await fetch(`${cp.url}/api/v1/clients`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ slug: 'away', name: 'Away Practice', timeZone: 'Europe/London' }),
    });
    assert.equal(created.status, 503, await created.text());
    assert.equal(cp.child.exitCode, null, `the control plane exited:\n${cp.output()}`);

    db = await startEmbeddedPostgres(dir, log, port);
    await readyzBecomes(cp, 200, 30_000);
    assert.equal((await get(`${cp.url}/api/v1/clients`, TOKEN)).status, 200);
  });

  it('stops cleanly on SIGTERM while its database is away', async () => {
    await db!.stop();
    db = undefined;
    await readyzBecomes(cp, 503, 10_000);
    cp.child.kill('SIGTERM');
    assert.equal(await cp.exited, 0, cp.output());
    // The lines that show a crash, not the whole log (pg's errors are long).
    const crash = cp
      .output()
      .split('\n')
      .filter((line) => CRASH.test(line));
    assert.deepEqual(
      crash.map((line) => line.slice(0, 400)),
      [],
    );
  });
});
