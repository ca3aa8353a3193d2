import type { Logger } from 'pino';
import type { Pool } from '../db/pool.ts';
import { addJob } from '../jobs/store.ts';
import type { Workers } from '../jobs/workers.ts';
import {
  AUDIT_REPORT_SEND_TASK,
  AUDIT_REPORTS_MONTHLY_TASK,
  type AuditReportService,
} from './report-service.ts';
import type { AuditRetention } from './retention.ts';
import type { AuditService } from './service.ts';
import type { AuditWatch } from './watch.ts';
import { errorMessage } from '@concierge-ops/shared/errors';

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

export const VERIFY_TASK = 'audit-verify';

/**
 * Verifies the whole chain and every checkpoint every `everySeconds` (AUDIT_VERIFY_EVERY_SECONDS) as a job on
 * the shared runner, one per period across replicas; the result goes to audit_verifications, which every
 * replica's /metrics (concierge_ops_audit_verify_ok) and the morning report read. Registered with or without a
 * signing key: without one the chain alone is checked. A full pass reads every row, so hourly, not per checkpoint.
 */
export function registerAuditVerifyJob(
  workers: Workers,
  pool: Pool,
  watch: AuditWatch,
  everySeconds: number,
  log: Logger,
): void {
  const schedule = (mode: 'replace' | 'preserve_run_at') =>
    addJob(pool, {
      task: VERIFY_TASK,
      payload: {},
      jobKey: VERIFY_TASK,
      runAt: new Date(Date.now() + everySeconds * 1000),
      mode,
    });
  workers.register(
    {
      [VERIFY_TASK]: async () => {
        try {
          const r = await watch.verify();
          if (r.ok) log.info({ rows: r.rows }, 'audit verified');
          else log.error({ firstBroken: r.firstBroken }, 'audit verification FAILED');
        } catch (err) {
          log.error(
            { err: errorMessage(err) },
            'audit verification could not run; the next period tries again',
          );
        } finally {
          await schedule('replace');
        }
      },
    },
    () => schedule('preserve_run_at'),
  );
}

/** Audit reports are looked for hourly: last month's appear within the first hour of the 1st (UTC). */
const AUDIT_REPORTS_TICK_SECONDS = 3600;

/**
 * The monthly audit reports as jobs on the shared runner: a self-renewing tick under one job key (one per period
 * across replicas, never forgotten by a restart) stores last month's reports once, and one send job per
 * (report, contact) mails each.
 */
export function registerAuditReportJobs(
  workers: Workers,
  pool: Pool,
  reports: AuditReportService,
  scheduler: boolean,
): void {
  const scheduleTick = (runAt?: Date) =>
    addJob(pool, {
      task: AUDIT_REPORTS_MONTHLY_TASK,
      payload: {},
      jobKey: AUDIT_REPORTS_MONTHLY_TASK,
      ...(runAt ? { runAt } : {}),
      mode: runAt ? 'replace' : 'preserve_run_at',
    });
  workers.register(
    {
      [AUDIT_REPORTS_MONTHLY_TASK]: async () => {
        try {
          await reports.runMonthly();
        } finally {
          await scheduleTick(new Date(Date.now() + AUDIT_REPORTS_TICK_SECONDS * 1000));
        }
      },
      [AUDIT_REPORT_SEND_TASK]: async (payload, helpers) => {
        const p = payload as { reportId: string; contact: string };
        await reports.deliver(p.reportId, p.contact, helpers.job.attempts >= helpers.job.max_attempts);
      },
    },
    scheduler ? () => scheduleTick() : undefined,
  );
}

export const RETENTION_TASK = 'audit-retention';
/** Looked at hourly: a closed month is archived within the first hour of the next; partitions exist months ahead. */
const RETENTION_TICK_SECONDS = 3600;

/**
 * The audit log's months as one self-renewing job on the shared runner (one job key: one run per period across
 * replicas, never forgotten by a restart): partitions made ahead, closed months archived, expired archived months
 * deleted. Each step is idempotent, so a run cut short is finished by the next. Partitions are also made at once
 * on start, before any record could need one.
 */
export function registerAuditRetentionJob(
  workers: Workers,
  pool: Pool,
  retention: AuditRetention,
  log: Logger,
): void {
  const schedule = (mode: 'replace' | 'preserve_run_at', runAt?: Date) =>
    addJob(pool, {
      task: RETENTION_TASK,
      payload: {},
      jobKey: RETENTION_TASK,
      runAt: runAt ?? new Date(Date.now() + RETENTION_TICK_SECONDS * 1000),
      mode,
    });
  workers.register(
    {
      [RETENTION_TASK]: async () => {
        try {
          await retention.ensurePartitions();
          const archived = await retention.archiveClosed();
          const deleted = await retention.deleteExpired();
          if (archived.length || deleted.length)
            log.info({ archived: archived.map((m) => m.month), deleted }, 'audit retention ran');
        } catch (err) {
          log.error({ err: errorMessage(err) }, 'audit retention failed; the next period tries again');
        } finally {
          await schedule('replace');
        }
      },
    },
    async () => {
      await retention.ensurePartitions();
      // The first run soon after start: a month that closed while no control plane ran is archived then.
      await schedule('preserve_run_at', new Date(Date.now() + 60_000));
    },
  );
}
