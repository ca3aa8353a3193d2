import type { Pool, Tx } from './pool.ts';

/**
 * A Pool that is one open transaction: what a service runs through withTx becomes a savepoint in it, so several
 * services' changes commit or roll back together (a batch of the fleet CLI), each still audited in the same
 * transaction as the change it records. Never share one between requests: it is one connection.
 */
export function transactionAsPool(tx: Tx): Pool {
  let depth = 0;
  const nested = {
    query: (text: unknown, ...rest: unknown[]) => {
      if (text === 'begin') return tx.query(`savepoint batch_${++depth}`);
      if (text === 'commit') return tx.query(`release savepoint batch_${depth--}`);
      if (text === 'rollback') return tx.query(`rollback to savepoint batch_${depth--}`);
      return (tx.query as (...a: unknown[]) => unknown)(text, ...rest);
    },
    release: () => undefined,
  };
  return {
    query: (...a: unknown[]) => (tx.query as (...a: unknown[]) => unknown)(...a),
    connect: async () => nested,
  } as unknown as Pool;
}
