/**
 * How staged audit records (the webhook's) join the chain: in passes that wait for more records to take along,
 * and through a chaining function that keeps its plan (docs/benchmarks.md, alert ingest).
 */
import assert from 'node:assert/strict';
import pg from 'pg';
import { pino } from 'pino';
import { AuditService } from '../../control-plane/src/audit/service.ts';
import * as store from '../../control-plane/src/audit/store.ts';
import { createPool, type Pool } from '../../control-plane/src/db/pool.ts';
import { createTestDatabase, dropTestDatabase } from '../helpers/db.ts';

const staged = (n: number): store.AuditEntry => ({
  actor: 'alertmanager',
  action: 'opened',
  targetType: 'incident',
  targetId: `INC-${n}`,
  before: null,
  after: { n },
  requestId: null,
  who: null,
});

describe('audit chaining passes', () => {
  let url: string;
  let pool: Pool;
  before(async () => {
    url = await createTestDatabase();
    pool = createPool(url, pino({ level: 'silent' }), 4);
  });
  after(async () => {
    await pool.end();
    await dropTestDatabase(url);
  });

  const chained = async () =>
    (
      await pool.query<{ target_id: string }>(
        `select target_id from audit_log where action = 'opened' order by seq`,
      )
    ).rows.map((r) => r.target_id);

  it('takes a record committed during a pass in the next delayed pass, not in an immediate one', async () => {
    let passes = 0;
    let firstDone: () => void = () => {};
    const first = new Promise<void>((r) => (firstDone = r));
    // The real pool, counting the chaining statements; once the first has run, a webhook commits another record
    // and asks for chaining, while the pass that ran it is still under way.
    const counting = {
      query: async (q: unknown, v?: unknown[]) => {
        const pass = (q as { name?: string }).name === 'audit.chainPending' ? ++passes : 0;
        const result = await pool.query(q as never, v as never);
        if (pass === 1) {
          await store.stage(pool, staged(2));
          service.chainSoon();
          firstDone();
        }
        return result;
      },
    } as unknown as Pool;
    const service = new AuditService(counting);
    await store.stage(pool, staged(1));
    service.chainSoon();
    await first;
    // A pass that follows at once would already have sent its statement by now (nothing in between waits).
    await new Promise((r) => setImmediate(r));
    assert.equal(passes, 1, 'no second pass straight after the first');
    assert.deepEqual(await chained(), ['INC-1']);
    await service.flush(); // a reader chains what is staged, without waiting for the delay
    assert.deepEqual(await chained(), ['INC-1', 'INC-2']);
  });

  it('moves staged records oldest first and says how many, in PL/pgSQL, whose plan lasts the session', async () => {
    for (const n of [3, 4, 5]) await store.stage(pool, staged(n));
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      const pass = async () =>
        (await c.query<{ n: number }>('select audit_chain_pending(2) as n')).rows[0]!.n;
      assert.equal(await pass(), 2);
      assert.equal(await pass(), 1);
      assert.equal(await pass(), 0);
      const { rows } = await c.query<{ lanname: string }>(
        `select l.lanname from pg_proc p join pg_language l on l.oid = p.prolang
         where p.oid = 'audit_chain_pending(int)'::regprocedure`,
      );
      // A SQL-language function plans its statement at every call: a pass of a few records paid that again.
      assert.equal(rows[0]!.lanname, 'plpgsql');
    } finally {
      await c.end();
    }
    assert.deepEqual((await chained()).slice(-3), ['INC-3', 'INC-4', 'INC-5']);
  });
});
