import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import net from 'node:net';
import pg from 'pg';
import { pino } from 'pino';
import { startEmbeddedPostgres } from '@concierge-ops/embedded-postgres';
import { freePort } from '@concierge-ops/shared/ports';
import { reachableTempDir } from '../helpers/process.ts';

describe('embedded PostgreSQL start', () => {
  let dir: string;
  let squatter: net.Server;
  let taken: number;

  before(async () => {
    dir = await reachableTempDir('embedded-start-');
    // Something else holds this port on the address the server listens on.
    squatter = net.createServer();
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
    taken = (squatter.address() as net.AddressInfo).port;
  });
  after(async () => {
    await new Promise((resolve) => squatter.close(resolve));
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('fails with what the server said when the port it was given is taken', async () => {
    await assert.rejects(startEmbeddedPostgres(dir, pino({ level: 'silent' }), taken), (err: Error) => {
      assert.match(err.message, new RegExp(`port ${taken}\\) exited before it was ready: `));
      assert.match(err.message, /could not bind|Address already in use/);
      return true;
    });
  });

  it('chooses another port when the one it chose was taken by the time the server bound it', async () => {
    const offered: number[] = [];
    const ports = [taken, await freePort()];
    const db = await startEmbeddedPostgres(dir, pino({ level: 'silent' }), async () => {
      offered.push(ports[offered.length]!);
      return offered[offered.length - 1]!;
    });
    try {
      assert.deepEqual(offered, ports);
      assert.equal(new URL(db.url).port, String(ports[1]));
      const c = new pg.Client({ connectionString: db.url });
      await c.connect();
      assert.equal((await c.query('select 1 as one')).rows[0].one, 1);
      await c.end();
    } finally {
      await db.stop();
    }
  });
});
