import type { Counter } from 'prom-client';
import type { Pool, Queryable } from '../db/pool.ts';
import type { IncidentService } from '../incidents/service.ts';
import type { DbIncident } from '../incidents/store.ts';
import * as jobs from '../jobs/store.ts';
import type { NotifyService, Channel } from '../notify/service.ts';
import * as store from './store.ts';

export interface EscalateJob {
  incidentId: string;
  level: number;
  repeat: number;
}

const CHANNELS: readonly Channel[] = ['sms', 'voice', 'email'];
const jobKey = (j: EscalateJob) => `escalate:${j.incidentId}:${j.level}:${j.repeat}`;

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
 * Escalation: each step is a durable job keyed by (incident, level, repeat). A step pages its level's
 * responders through the outbox and schedules the next one; acknowledging or resolving ends the chain.
 */
export class EscalationService {
  constructor(
    private readonly pool: Pool,
    private readonly incidents: () => IncidentService,
    private readonly notify: NotifyService,
    private readonly levelsReached: Counter<'level'>,
  ) {}

  /** Schedules the first step of a newly opened incident, in the transaction that opened it. */
  async opened(tx: Queryable, inc: DbIncident): Promise<void> {
    const policy = await store.policyWithResponders(tx, inc.client_id, inc.severity);
    const first = policy.levels[0];
    if (!first) return;
    const step = { incidentId: inc.id, level: first.level, repeat: 0 };
    // A level due at once is taken in the opening transaction itself: one job hop less between the alert
    // and the page, and it still commits (or not) together with the incident.
    if (first.delay_seconds === 0) return this.stepIn(tx, inc, step, policy);
    await jobs.addJob(tx, {
      task: 'escalate',
      payload: step,
      jobKey: jobKey(step),
      runAt: stepDue(policy, inc.opened_at, first.level, 0),
      mode: 'preserve_run_at',
    });
  }

  async responderByPhone(phone: string): Promise<store.DbResponder | undefined> {
    return store.findResponderByPhone(this.pool, phone);
  }

  async stopped(tx: Queryable, inc: DbIncident): Promise<void> {
    await this.notify.cancelQueued(tx, inc.id);
  }

  /** The `escalate` job. Idempotent: a second run finds the outbox rows already there and pages no one. */
  async runStep(step: EscalateJob): Promise<void> {
    // The step's pages go out straight after commit, from this worker.
    await this.notify.withOutbox(async (tx) => {
      const inc = await this.incidents().findLocked(tx, step.incidentId);
      // Acknowledged or resolved: escalation is over, and no later step is scheduled.
      if (!inc || inc.status !== 'open') return;
      await this.stepIn(tx, inc, step);
    });
  }

  /**
   * One step inside `tx` (the incident row locked and open): outbox rows and their send jobs, the timeline
   * event and the next step's job, in three statements.
   */
  private async stepIn(
    tx: Queryable,
    inc: DbIncident,
    step: EscalateJob,
    known?: store.PolicyWithResponders,
  ): Promise<void> {
    const policy = known ?? (await store.policyWithResponders(tx, inc.client_id, inc.severity));
    const level = policy.levels.find((l) => l.level === step.level);
    let event: { kind: string; actor: string; detail: object } | null = null;
    if (level) {
      const responders = level.responders;
      const channels = (level.channels[inc.severity] ?? []).filter((c): c is Channel =>
        CHANNELS.includes(c as Channel),
      );
      const created = await this.notify.enqueue(tx, inc, step, responders, channels);
      if (created > 0 || responders.length === 0) {
        this.levelsReached.inc({ level: String(step.level) });
        // A system step, not a person's change: the timeline holds it, and keeping it out of the serialised
        // audit chain keeps escalation from queueing behind webhooks.
        event = {
          kind: responders.length === 0 ? 'escalation_no_responders' : 'escalated',
          actor: 'escalation',
          detail: {
            level: step.level,
            repeat: step.repeat,
            responders: responders.map((r) => r.name),
            channels,
            pages: created,
          },
        };
      }
    }
    const after = nextStep(policy, step.level, step.repeat);
    const job = after && { incidentId: inc.id, ...after };
    if (!event && !job) return;
    await store.finishStep(tx, {
      incidentId: inc.id,
      event,
      next: job
        ? { payload: job, jobKey: jobKey(job), runAt: stepDue(policy, inc.opened_at, job.level, job.repeat) }
        : null,
    });
  }
}
