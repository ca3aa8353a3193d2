import assert from 'node:assert/strict';
import { pino } from 'pino';
import { createPool } from '../../control-plane/src/db/pool.ts';
import { adminQuery, createTestDatabase, dropTestDatabase } from '../helpers/db.ts';

describe('database pool', () => {
  let url: string;
  before(async () => {
    url = await createTestDatabase(null);
  });
  after(async () => {
    await dropTestDatabase(url);
  });

  it('loses a connection in use without ending the process: its query fails and the pool goes on', async () => {
    const pool = createPool(url, pino({ level: 'silent' }), 2);
    try {
      // Checked out, as a transaction or graphile-worker's LISTEN holds one, when the server ends its session.
      const client = await pool.connect();
      const { rows } = await client.query<{ pid: number }>('select pg_backend_pid() as pid');
      await adminQuery(`select pg_terminate_backend(${rows[0]!.pid})`);
      // Unheard, the 'error' pg emits on the client would be thrown here as an uncaught exception.
      await new Promise((r) => setTimeout(r, 200));
      await assert.rejects(client.query('select 1'));
      client.release(true);
      assert.equal((await pool.query<{ one: number }>('select 1 as one')).rows[0]!.one, 1);
    } finally {
      await pool.end();
    }
  });
});
