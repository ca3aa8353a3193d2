import { Logger as WorkerLogger, runMigrations, type TaskList } from 'graphile-worker';
import type { Logger } from 'pino';
import type { Pool } from '../db/pool.ts';
import type { PagingConfig } from '../config.ts';
import { superviseRunner, type SupervisedRunner } from './runner.ts';
import { addJob, forceUnlockWorkers } from './store.ts';
import { errorMessage } from '@concierge-ops/shared/errors';

export interface Workers {
  /** Creates graphile-worker's schema (webhooks add jobs in their own transactions, so it must exist first). */
  migrate(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Another domain's tasks (reports), registered before start; `onStart` schedules its first recurring job. */
  register(tasks: TaskList, onStart?: () => Promise<void>): void;
}

/**
 * What the paging jobs run, as this module sees it. The services (escalation, notify, incidents' alert ingest,
 * audit) implement it and paging.ts passes them in: jobs sits below those domains and imports none of them.
 */
export interface PagingTasks {
  escalation: {
    runStep(step: { incidentId: string; level: number; repeat: number }): Promise<void>;
    runDue(max: number): Promise<number>;
    msUntilNextStep(): Promise<number | undefined>;
  };
  notify: {
    sweep(): Promise<unknown>;
    send(notificationId: string): Promise<void>;
    setDirectSend(on: boolean): void;
    drain(): Promise<void>;
  };
  ingest: { checkDeadman(maxAgeSeconds: number): Promise<unknown> };
  audit: { flush(): Promise<void> };
}

const DEADMAN_KEY = 'deadman-check';
const SWEEP_KEY = 'outbox-sweep';
/** How often a page that its committing process never sent is looked for (see DIRECT_SEND_GRACE_MS). */
const SWEEP_EVERY_MS = 5_000;

/**
 * The durable job runner: page sends and retries, the outbox sweep, the dead man's switch check (graphile-worker
 * jobs) and the escalation steps (rows of escalation_steps, taken when due by the loop below).
 */
export function createWorkers(pool: Pool, config: PagingConfig, log: Logger, s: PagingTasks): Workers {
  let runner: SupervisedRunner | undefined;
  let stopping = false;
  const steps = stepLoop(s.escalation, config.workerPollIntervalMs, log);
  // How often to look at the heartbeat: a fifth of the allowed silence, at most once a minute.
  const checkEvery = Math.min(60, Math.max(1, Math.floor(config.deadmanSwitchSeconds / 5)));
  const addSweep = (runAt?: Date) =>
    addJob(pool, { task: SWEEP_KEY, payload: {}, jobKey: SWEEP_KEY, runAt, mode: 'preserve_run_at' });
  const taskList: TaskList = {
    [SWEEP_KEY]: async () => {
      await s.notify.sweep();
      // Audit records a process staged but did not chain before it died.
      await s.audit.flush();
      // Re-adds itself (the job key keeps one sweep at a time across processes).
      await addJob(pool, {
        task: SWEEP_KEY,
        payload: {},
        jobKey: SWEEP_KEY,
        runAt: new Date(Date.now() + SWEEP_EVERY_MS),
      });
    },
    escalate: async (payload) =>
      s.escalation.runStep(payload as Parameters<PagingTasks['escalation']['runStep']>[0]),
    send: async (payload) => s.notify.send((payload as { notificationId: string }).notificationId),
    [DEADMAN_KEY]: async () => {
      await s.ingest.checkDeadman(config.deadmanSwitchSeconds);
      // Re-adds itself: the next check is a job too, so a restart never forgets it.
      await addJob(pool, {
        task: DEADMAN_KEY,
        payload: {},
        jobKey: DEADMAN_KEY,
        runAt: new Date(Date.now() + checkEvery * 1000),
      });
    },
  };
  const starters: (() => Promise<void>)[] = [];
  const logger = new WorkerLogger((scope) => (level, message, meta) => {
    const fn = level === 'error' ? 'error' : level === 'warning' ? 'warn' : 'debug';
    log[fn]({ worker: scope.workerId, task: scope.taskIdentifier, ...(meta ?? {}) }, message);
  });
  return {
    async migrate() {
      await runMigrations({ pgPool: pool, logger });
    },
    async start() {
      // The recurring jobs, added again after the runner was replaced: the run of one that a lost worker held
      // stays locked, and with it the job that would have added the next (a locked job's key goes to the new one).
      const schedule = async () => {
        await addJob(pool, { task: DEADMAN_KEY, payload: {}, jobKey: DEADMAN_KEY, mode: 'preserve_run_at' });
        // At once on start: pages a crashed process committed but never sent go out on restart.
        await addSweep();
        for (const f of starters) await f();
      };
      runner = await superviseRunner(
        {
          pgPool: pool,
          concurrency: config.workerConcurrency,
          pollInterval: config.workerPollIntervalMs,
          noHandleSignals: true,
          logger,
          taskList,
        },
        log,
        {
          stopping: () => stopping,
          async resume(lost) {
            // A lost worker ran nothing more after its last job; without this, its jobs wait four hours.
            await forceUnlockWorkers(pool, lost);
            await schedule();
          },
        },
      );
      await schedule();
      // With workers here, this process sends the pages it commits itself, straight after commit.
      s.notify.setDirectSend(true);
      steps.start();
    },
    register(tasks, onStart) {
      Object.assign(taskList, tasks);
      if (onStart) starters.push(onStart);
    },
    async stop() {
      // From here on a lost worker is not replaced: the runner is stopped below.
      stopping = true;
      try {
        await steps.stop();
        s.notify.setDirectSend(false);
        await s.notify.drain();
        await s.audit.flush();
      } finally {
        // Also when the database is gone and the flush failed: a runner left running would hold its pool open.
        await runner?.stop();
        runner = undefined;
      }
    },
  };
}

/**
 * Runs escalation steps as they fall due: after each pass it sleeps until the next known step is due, at
 * most `pollMs` (steps other processes schedule are seen by then). The rows are the durable schedule; this
 * timer only decides when to look.
 */
function stepLoop(escalation: PagingTasks['escalation'], pollMs: number, log: Logger) {
  let timer: NodeJS.Timeout | undefined;
  let pass: Promise<void> | undefined;
  let running = false;
  const schedule = (ms: number) => {
    if (running) timer = setTimeout(() => (pass = once()), Math.max(0, Math.min(ms, pollMs)));
  };
  const once = async () => {
    let next = pollMs;
    try {
      let ran = 0;
      while ((ran = await escalation.runDue(100)) === 100 && running);
      next = (await escalation.msUntilNextStep()) ?? pollMs;
      // Due but not taken: another process holds it (skip locked). Look again shortly, not at once.
      if (ran === 0 && next === 0) next = Math.min(pollMs, 100);
    } catch (err) {
      log.warn({ err: errorMessage(err) }, 'escalation steps: pass failed; trying again');
    }
    schedule(next);
  };
  return {
    start() {
      running = true;
      pass = once();
    },
    async stop() {
      running = false;
      clearTimeout(timer);
      await pass;
    },
  };
}
