import { UUID, type Pool } from '../db/pool.ts';
import { addJob } from '../jobs/store.ts';
import type { Workers } from '../jobs/workers.ts';
import type { StatusUpdateService, UpcomingMaintenance } from './service.ts';
import { SEND_TASK } from './store.ts';

const REMINDER_TASK = 'status-maintenance-reminders';
/** How often maintenance ahead is looked for: a reminder goes out at most this late. */
const TICK_SECONDS = 60;

/** The clinics' update sends and the maintenance reminder tick (self-renewing) on the shared job runner. */
export function registerStatusUpdateJobs(
  workers: Workers,
  pool: Pool,
  updates: StatusUpdateService,
  upcoming: (from: Date, to: Date) => Promise<UpcomingMaintenance[]>,
): void {
  const scheduleTick = (runAt?: Date) =>
    addJob(pool, {
      task: REMINDER_TASK,
      payload: {},
      jobKey: REMINDER_TASK,
      ...(runAt ? { runAt } : {}),
      mode: runAt ? 'replace' : 'preserve_run_at',
    });
  workers.register(
    {
      [SEND_TASK]: async (payload, helpers) => {
        const id = (payload as { id?: unknown }).id;
        // Not a row of ours (a hand-made job): nothing to send, and nothing to retry.
        if (typeof id !== 'string' || !UUID.test(id)) return;
        await updates.send(id, helpers.job.attempts >= helpers.job.max_attempts);
      },
      [REMINDER_TASK]: async () => {
        try {
          await updates.remindMaintenance(upcoming);
        } finally {
          // The next tick is a job too (one at a time across replicas, by its key): a restart never forgets it.
          await scheduleTick(new Date(Date.now() + TICK_SECONDS * 1000));
        }
      },
    },
    () => scheduleTick(),
  );
}
