import { EventEmitter } from 'node:events';
import { run, type Runner, type RunnerOptions, type WorkerEvents } from 'graphile-worker';
import type { Logger } from 'pino';
import { errorMessage } from '@concierge-ops/shared/errors';

export interface SupervisedRunner {
  /** No restart from now on; waits for one under way, then stops the runner (its running jobs finish). */
  stop(): Promise<void>;
}

export interface SuperviseOptions {
  /** Runs after each restart: `lost` are the ids of the workers that died (their jobs are still locked). */
  resume(lost: string[]): Promise<void>;
  /** Checked before each restart step: true once the process is shutting down (no restart then). */
  stopping(): boolean;
  /** Backoff between attempts while the database is still away: doubles from `firstMs` up to `maxMs`. */
  retry?: { firstMs: number; maxMs: number };
}

/**
 * Runs graphile-worker and replaces it when it loses a worker. graphile-worker 0.16 does not replace a worker
 * that exits with an error (it logs "Worker exited with error" and keeps the pool running short, see the TODO
 * in its main.js). A worker exits like that when the end of a job it ran cannot be recorded, which is what a
 * database outage during a job does. With no worker left, page retries, the outbox sweep, reports and audit
 * checkpoints would stop until the process restarts, while /readyz answers 200. So the whole runner is stopped and started again (with backoff
 * while the database is still away), and `resume` then unlocks what the lost workers held and re-adds the
 * recurring jobs. graphile's job locks still make each job run once at a time; a job whose end was not
 * recorded runs again, as graphile would do on its own four hours later (handlers are idempotent).
 *
 * graphile-worker also `console.trace`s the lost worker's error to stderr; that is left alone rather than
 * patching the process's global console: the error is logged through the logger as well, and handled here.
 */
export async function superviseRunner(
  options: Omit<RunnerOptions, 'events'>,
  log: Logger,
  s: SuperviseOptions,
): Promise<SupervisedRunner> {
  const retry = s.retry ?? { firstMs: 1000, maxMs: 30_000 };
  let halted = false;
  const stopping = () => halted || s.stopping();
  let runner: Runner | undefined;
  // The events of the runner in service: a worker that ends in a runner being replaced is not a loss.
  let current: WorkerEvents | undefined;
  const lost = new Set<string>();
  let again = false;
  let restarting: Promise<void> | undefined;
  let wake: (() => void) | undefined;

  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      if (stopping()) return resolve();
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });

  /** Tries `fn` until it succeeds or the process is stopping; false when it gave up for the shutdown. */
  const persist = async (what: string, fn: () => Promise<void>): Promise<boolean> => {
    for (let delay = retry.firstMs; !stopping(); delay = Math.min(delay * 2, retry.maxMs)) {
      try {
        await fn();
        return true;
      } catch (err) {
        log.warn({ err: errorMessage(err), retryInMs: delay }, `job runner: ${what} failed; trying again`);
        await pause(delay);
      }
    }
    return false;
  };

  const launch = async () => {
    const events = new EventEmitter() as WorkerEvents;
    events.on('worker:stop', ({ worker, error }) => {
      // A worker ends without an error only when its pool is released; with one, during our own stop too.
      if (error === undefined || events !== current || stopping()) return;
      lost.add(worker.workerId);
      log.error(
        { worker: worker.workerId, err: errorMessage(error) },
        'job runner lost a worker; restarting it',
      );
      again = true;
      restarting ??= restart().finally(() => (restarting = undefined));
    });
    current = events;
    try {
      runner = await run({ ...options, events });
    } catch (err) {
      current = undefined;
      throw err;
    }
  };

  const restart = async () => {
    while (again && !stopping()) {
      again = false;
      const old = runner;
      runner = undefined;
      current = undefined;
      await old
        ?.stop()
        .catch((err: unknown) => log.warn({ err: errorMessage(err) }, 'job runner: stop failed'));
      if (!(await persist('restart', launch))) return;
      const ids = [...lost];
      if (!(await persist('resume', () => s.resume(ids)))) return;
      for (const id of ids) lost.delete(id);
      log.info({ lost: ids.length }, 'job runner restarted');
    }
  };

  await launch();
  return {
    async stop() {
      halted = true;
      wake?.();
      await restarting;
      const r = runner;
      runner = undefined;
      current = undefined;
      await r?.stop();
    },
  };
}
