import type { Logger } from 'pino';
import type { Counter } from 'prom-client';
import type { Pool, Queryable } from '../db/pool.ts';
import type { IncidentService } from '../incidents/service.ts';
import type { DbIncident } from '../incidents/store.ts';
import type { NotifyService, Channel } from '../notify/service.ts';
import * as store from './store.ts';
import { errorMessage } from '../../../exporters/shared/errors.ts';

export interface EscalateJob {
  incidentId: string;
  level: number;
  repeat: number;
}

const CHANNELS: readonly Channel[] = ['sms', 'voice', 'email'];
/** A step that failed is tried again after 1 s, 2 s, 4 s ... up to a minute. */
const retryMs = (attempts: number) => Math.min(60_000, 1000 * 2 ** Math.min(attempts, 6));

/** When step (level, repeat) is due: the ladder's delays, shifted by one whole cycle per repeat. */
export function stepDue(policy: store.DbPolicy, openedAt: Date, level: number, repeat: number): Date {
  const last = policy.levels[policy.levels.length - 1]?.delay_seconds ?? 0;
  const cycle = last + policy.repeat_interval_seconds;
  const delay = policy.levels.find((l) => l.level === level)?.delay_seconds ?? 0;
  return new Date(openedAt.getTime() + (repeat * cycle + delay) * 1000);
}

/** The step after (level, repeat), or undefined when the ladder and its repeats are done. */
export function nextStep(policy: store.DbPolicy, level: number, repeat: number) {
  const after = policy.levels.find((l) => l.level > level);
  if (after) return { level: after.level, repeat };
  if (repeat < policy.repeat_count && policy.levels[0])
    return { level: policy.levels[0].level, repeat: repeat + 1 };
  return undefined;
}

/**
 * Escalation: each step to come is a row of escalation_steps keyed by (incident, level, repeat), run once
 * when due by whichever control plane takes it first (`runDue`). A step pages its level's responders through
 * the outbox and schedules the next one; acknowledging or resolving ends the chain (later rows run as no-ops).
 */
export class EscalationService {
  constructor(
    private readonly pool: Pool,
    private readonly incidents: () => IncidentService,
    private readonly notify: NotifyService,
    private readonly levelsReached: Counter<'level'>,
    private readonly log?: Logger,
  ) {}

  /** Policies with responders read for earlier incidents, valid while paging_config_version is `version`. */
  private readonly policies = { version: '', byKey: new Map<string, store.PolicyWithResponders>() };

  /**
   * The policy with responders for `inc`: read in `tx`, or, when the caller read paging_config_version in
   * `tx` and it has not moved since a read for the same client and severity, that read again (the version
   * moves with every change to policies, levels or responders, by any process: migration 1765100000000).
   */
  private async policyFor(tx: Queryable, inc: DbIncident, configVersion?: string) {
    if (configVersion === undefined) return store.policyWithResponders(tx, inc.client_id, inc.severity);
    const cache = this.policies;
    if (cache.version !== configVersion || cache.byKey.size >= 10_000) {
      cache.version = configVersion;
      cache.byKey.clear();
    }
    const key = `${inc.client_id ?? ''}:${inc.severity}`;
    let policy = cache.byKey.get(key);
    if (!policy) {
      policy = await store.policyWithResponders(tx, inc.client_id, inc.severity);
      cache.byKey.set(key, policy);
    }
    return policy;
  }

  /** Schedules the first step of a newly opened incident, in the transaction that opened it. */
  async opened(tx: Queryable, inc: DbIncident, configVersion?: string): Promise<void> {
    const policy = await this.policyFor(tx, inc, configVersion);
    const first = policy.levels[0];
    if (!first) return;
    const step = { incidentId: inc.id, level: first.level, repeat: 0 };
    // A level due at once is taken in the opening transaction itself: one job hop less between the alert
    // and the page, and it still commits (or not) together with the incident.
    if (first.delay_seconds === 0) return this.stepIn(tx, inc, step, policy);
    await store.scheduleStep(tx, { ...step, dueAt: stepDue(policy, inc.opened_at, first.level, 0) });
  }

  /**
   * Runs the steps due now, one transaction each (the step's row is taken and removed in the transaction
   * that does its work); stops after `max`. A step that fails stays, tried again with backoff.
   */
  async runDue(max = 100): Promise<number> {
    let ran = 0;
    while (ran < max) {
      let taken: store.DueStep | undefined;
      try {
        // The step's pages go out straight after commit, from this process.
        await this.notify.withOutbox(async (tx) => {
          taken = await store.takeDueStep(tx);
          if (taken)
            await this.stepIfOpen(tx, {
              incidentId: taken.incident_id,
              level: taken.level,
              repeat: taken.repeat,
            });
        });
      } catch (err) {
        if (!taken) throw err;
        // Rolled back: the row is there again; it waits before the next try.
        const wait = retryMs(taken.attempts);
        this.log?.warn(
          {
            level: taken.level,
            repeat: taken.repeat,
            attempt: taken.attempts + 1,
            retryInMs: wait,
            err: errorMessage(err),
          },
          'escalation step failed; it stays scheduled and runs again',
        );
        await store.postponeStep(this.pool, taken, wait, errorMessage(err));
      }
      if (!taken) break;
      ran++;
    }
    return ran;
  }

  /** Milliseconds until the next step is due (0: one is due now); undefined when none waits. */
  async msUntilNextStep(): Promise<number | undefined> {
    return store.msUntilNextStep(this.pool);
  }

  async responderByPhone(phone: string): Promise<store.DbResponder | undefined> {
    return store.findResponderByPhone(this.pool, phone);
  }

  async stopped(tx: Queryable, inc: DbIncident): Promise<void> {
    await this.notify.cancelQueued(tx, inc.id);
  }

  /**
   * The `escalate` job, for steps scheduled as graphile-worker jobs by an earlier version. Idempotent: a
   * second run finds the outbox rows already there and pages no one.
   */
  async runStep(step: EscalateJob): Promise<void> {
    // The step's pages go out straight after commit, from this worker.
    await this.notify.withOutbox((tx) => this.stepIfOpen(tx, step));
  }

  /** The step, with the incident row locked, unless the incident is gone, acknowledged or resolved. */
  private async stepIfOpen(tx: Queryable, step: EscalateJob): Promise<void> {
    const inc = await this.incidents().findLocked(tx, step.incidentId);
    // Acknowledged or resolved: escalation is over, and no later step is scheduled.
    if (!inc || inc.status !== 'open') return;
    await this.stepIn(tx, inc, step);
  }

  /**
   * One step inside `tx` (the incident row locked and open), in one statement: outbox rows (and their send
   * jobs where no process sends straight after commit), the timeline event and the next step's row.
   */
  private async stepIn(
    tx: Queryable,
    inc: DbIncident,
    step: EscalateJob,
    known?: store.PolicyWithResponders,
  ): Promise<void> {
    const policy = known ?? (await store.policyWithResponders(tx, inc.client_id, inc.severity));
    const level = policy.levels.find((l) => l.level === step.level);
    const responders = level?.responders ?? [];
    const channels = (level?.channels[inc.severity] ?? []).filter((c): c is Channel =>
      CHANNELS.includes(c as Channel),
    );
    const after = nextStep(policy, step.level, step.repeat);
    const next = after && { ...after, dueAt: stepDue(policy, inc.opened_at, after.level, after.repeat) };
    if (!level && !next) return;
    // A system step, not a person's change: the timeline holds it (when it paged someone or found no one),
    // and keeping it out of the serialised audit chain keeps escalation from queueing behind webhooks.
    const event = level && {
      kind: responders.length === 0 ? 'escalation_no_responders' : 'escalated',
      actor: 'escalation',
      detail: { level: step.level, repeat: step.repeat, responders: responders.map((r) => r.name), channels },
      evenWithoutPages: responders.length === 0,
    };
    const created = await this.notify.enqueue(tx, inc, step, responders, channels, (db, rows, sendJobs) =>
      store.writeStep(db, { incidentId: inc.id, rows, sendJobs, event, next }),
    );
    if (level && (created > 0 || responders.length === 0))
      this.levelsReached.inc({ level: String(step.level) });
  }
}
