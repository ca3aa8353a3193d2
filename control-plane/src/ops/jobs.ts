import { DateTime } from 'luxon';
import type { Logger } from 'pino';
import type { ReportsConfig } from '../config.ts';
import type { Pool } from '../db/pool.ts';
import { addJob } from '../jobs/store.ts';
import type { Workers } from '../jobs/workers.ts';
import type { MailSender } from '../notify/providers.ts';
import { renderOpsMail } from './mail.ts';
import type { OpsService } from './service.ts';
import { errorMessage } from '@concierge-ops/shared/errors';

export const OPS_DAILY_TASK = 'ops-daily';

/** The next OPS_DAILY_AT in its zone after `now` (tomorrow's when today's has passed). */
export function nextMorning(c: Pick<ReportsConfig, 'opsDailyAt' | 'opsDailyTimeZone'>, now: Date): Date {
  const [h, m] = c.opsDailyAt.split(':').map(Number);
  const local = DateTime.fromJSDate(now, { zone: c.opsDailyTimeZone });
  let at = local.set({ hour: h!, minute: m!, second: 0, millisecond: 0 });
  if (at <= local) at = at.plus({ days: 1 });
  return at.toJSDate();
}

/** The morning mail as a job: runs at OPS_DAILY_AT, mails OPS_DAILY_TO, schedules tomorrow's. */
export function registerOpsJobs(
  workers: Workers,
  pool: Pool,
  ops: OpsService,
  config: ReportsConfig,
  mail: MailSender | undefined,
  log: Logger,
): void {
  if (config.opsDailyTo.length === 0) return;
  // One job key: whichever replica adds it, there is one morning mail per day.
  const schedule = (runAt: Date, mode: 'replace' | 'preserve_run_at') =>
    addJob(pool, { task: OPS_DAILY_TASK, payload: {}, jobKey: OPS_DAILY_TASK, runAt, mode });
  workers.register(
    {
      [OPS_DAILY_TASK]: async () => {
        try {
          if (!mail) throw new Error('SMTP_URL is not configured: the morning report cannot be mailed');
          const m = renderOpsMail(await ops.daily());
          for (const to of config.opsDailyTo) await mail.send({ to, ...m });
        } catch (err) {
          log.error({ err: errorMessage(err) }, 'morning report failed');
        } finally {
          await schedule(nextMorning(config, new Date(Date.now() + 60_000)), 'replace');
        }
      },
    },
    () => schedule(nextMorning(config, new Date()), 'preserve_run_at'),
  );
}
