import type { Logger } from 'pino';
import type { Pool } from '../db/pool.ts';
import { addJob } from '../jobs/store.ts';
import type { Workers } from '../jobs/workers.ts';
import { errorMessage } from '@concierge-ops/shared/errors';
import type { DrillService } from './service.ts';

export const DRILL_TICK_TASK = 'drill-schedules';
// Schedules are per minute at their finest: a tick a minute finds those due.
const TICK_SECONDS = 60;

/** The drill scheduler's tick, one job key across replicas, re-adding itself after each run. */
export function registerDrillJobs(workers: Workers, pool: Pool, drills: DrillService, log: Logger): void {
  const schedule = (runAt?: Date) =>
    addJob(pool, {
      task: DRILL_TICK_TASK,
      payload: {},
      jobKey: DRILL_TICK_TASK,
      ...(runAt ? { runAt } : {}),
      mode: runAt ? 'replace' : 'preserve_run_at',
    });
  workers.register(
    {
      [DRILL_TICK_TASK]: async () => {
        try {
          await drills.runDue();
        } catch (err) {
          log.error({ err: errorMessage(err) }, 'drill schedules: the tick failed; the next one retries');
        } finally {
          await schedule(new Date(Date.now() + TICK_SECONDS * 1000));
        }
      },
    },
    () => schedule(),
  );
}
