import type { Pool } from '../db/pool.ts';
import { addJob } from '../jobs/store.ts';
import type { Workers } from '../jobs/workers.ts';
import { MONTHLY_TASK, SEND_TASK, type ReportService } from './service.ts';

// Each client has its own local send time on the 1st: a tick every minute finds the clients now due.
const TICK_SECONDS = 60;

/** The report jobs on the shared graphile-worker runner: the monthly tick (self-renewing) and the sends. */
export function registerReportJobs(
  workers: Workers,
  pool: Pool,
  reports: ReportService,
  scheduler: boolean,
): void {
  const scheduleTick = (runAt?: Date) =>
    addJob(pool, {
      task: MONTHLY_TASK,
      payload: {},
      jobKey: MONTHLY_TASK,
      ...(runAt ? { runAt } : {}),
      mode: runAt ? 'replace' : 'preserve_run_at',
    });
  workers.register(
    {
      [MONTHLY_TASK]: async () => {
        try {
          await reports.runMonthly();
        } finally {
          // The next tick is a job too: a restart never forgets it.
          await scheduleTick(new Date(Date.now() + TICK_SECONDS * 1000));
        }
      },
      [SEND_TASK]: async (payload, helpers) => {
        const p = payload as { reportId: string; contact: string };
        await reports.deliver(p.reportId, p.contact, helpers.job.attempts >= helpers.job.max_attempts);
      },
    },
    scheduler ? () => scheduleTick() : undefined,
  );
}
