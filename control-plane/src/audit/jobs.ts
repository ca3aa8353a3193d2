import type { Logger } from 'pino';
import type { Pool } from '../db/pool.ts';
import { addJob } from '../jobs/store.ts';
import type { Workers } from '../jobs/workers.ts';
import type { AuditService } from './service.ts';
import { errorMessage } from '../../../exporters/shared/errors.ts';

export const CHECKPOINT_TASK = 'audit-checkpoint';

/**
 * Signs the chain's head every `everySeconds` as a job on the shared runner: self-renewing, one job key, so a
 * restart never forgets it and several replicas take one checkpoint per period between them (a replica runs only
 * tasks it registered, so one without a signing key never takes it). Periodic, never per insert: the webhook
 * path does not pay for it.
 */
export function registerAuditJobs(
  workers: Workers,
  pool: Pool,
  audit: AuditService,
  everySeconds: number,
  log: Logger,
): void {
  const schedule = (mode: 'replace' | 'preserve_run_at') =>
    addJob(pool, {
      task: CHECKPOINT_TASK,
      payload: {},
      jobKey: CHECKPOINT_TASK,
      runAt: new Date(Date.now() + everySeconds * 1000),
      mode,
    });
  workers.register(
    {
      [CHECKPOINT_TASK]: async () => {
        try {
          const c = await audit.checkpoint();
          log.info({ seq: c.seq, rows: c.rows, keyId: c.keyId }, 'audit checkpoint written');
        } catch (err) {
          log.error({ err: errorMessage(err) }, 'audit checkpoint failed; the next period tries again');
        } finally {
          await schedule('replace');
        }
      },
    },
    () => schedule('preserve_run_at'),
  );
}
