import type { Logger } from 'pino';
import type { Counter } from 'prom-client';
import type { Pool, Queryable } from '../db/pool.ts';
import { systemJob, type Acting } from '../audit/service.ts';
import type { AuditEntry } from '../audit/store.ts';
import { CHANNELS as ALL_CHANNELS } from '../notify/store.ts';
import type { NotifyService, Channel } from '../notify/service.ts';
import type { NewNotification } from '../notify/store.ts';
import * as store from './store.ts';
import { errorMessage } from '@concierge-ops/shared/errors';
import { onCallAt, withinHours } from '../oncall/schedule.ts';

/**
 * An incident as escalation reads it: the incidents domain's rows have these columns. Escalation sits below
 * incidents (which calls it through IncidentHooks), so it names none of that domain's types.
 */
export interface EscalatedIncident {
  id: string;
  code: string;
  client_id: string | null;
  severity: 'critical' | 'warning' | 'info';
  status: 'open' | 'acknowledged' | 'resolved';
  opened_at: Date;
  /** Set when the incident escalates by this policy whatever its client and severity (a drill's). */
  policy_id?: string | null;
  /** crisis, security, ...: policies may select on it; null when nothing said. */
  class: string | null;
  /** 'emergency': the first step pages the whole ladder at once, by voice too. */
  urgency: string | null;
  /** Set for a failure drill's incident: its steps page, but never count among the levels real failures reached. */
  drill_id?: string | null;
}

/**
 * What escalation needs of the incidents domain, given by whoever wires the two (paging.ts): the incident of a
 * due step, locked in `tx`, and the staging of a step's audit record, which joins the chain once committed.
 */
export interface EscalationDesk {
  findLocked(tx: Queryable, id: string): Promise<EscalatedIncident | undefined>;
  jobAudit(inc: EscalatedIncident, who: Acting, kind: string, detail: object): AuditEntry;
  auditCommitted(): void;
}

export interface EscalateJob {
  incidentId: string;
  level: number;
  repeat: number;
}

const CHANNELS: readonly Channel[] = ALL_CHANNELS;
/**
 * The shipped default's channels by severity (escalation_levels.channels' column default): a level given no
 * channels for a severity takes these, and a reassignment pages on them.
 */
export const DEFAULT_CHANNELS: Record<'critical' | 'warning' | 'info', Channel[]> = {
  critical: ['sms', 'voice', 'email'],
  warning: ['sms', 'email'],
  info: ['email'],
};
/** The policies an incident may follow depend on these (escalation_policies' selectors). */
const policyKey = (inc: Pick<EscalatedIncident, 'client_id' | 'severity' | 'class'>) =>
  `${inc.client_id ?? ''}:${inc.severity}:${inc.class ?? ''}`;

/** A step that failed is tried again after 1 s, 2 s, 4 s ... up to a minute. */
const retryMs = (attempts: number) => Math.min(60_000, 1000 * 2 ** Math.min(attempts, 6));

/** Seconds from the opening to step (level, repeat): the ladder's delays, shifted by one cycle per repeat. */
export function stepOffsetSeconds(policy: store.DbPolicy, level: number, repeat: number): number {
  const last = policy.levels[policy.levels.length - 1]?.delay_seconds ?? 0;
  const cycle = last + policy.repeat_interval_seconds;
  const delay = policy.levels.find((l) => l.level === level)?.delay_seconds ?? 0;
  return repeat * cycle + delay;
}

/** When step (level, repeat) is due. */
export function stepDue(policy: store.DbPolicy, openedAt: Date, level: number, repeat: number): Date {
  return new Date(openedAt.getTime() + stepOffsetSeconds(policy, level, repeat) * 1000);
}

/** The step after (level, repeat), or undefined when the ladder and its repeats are done. */
export function nextStep(policy: store.DbPolicy, level: number, repeat: number) {
  const after = policy.levels.find((l) => l.level > level);
  if (after) return { level: after.level, repeat };
  // null: repeats until someone acknowledges or resolves (the step runs only while the incident is open).
  if ((policy.repeat_count === null || repeat < policy.repeat_count) && policy.levels[0])
    return { level: policy.levels[0].level, repeat: repeat + 1 };
  return undefined;
}

/** Of the candidate policies (most specific first), the first whose hours hold at `at` (the default last). */
export function choosePolicy(candidates: store.PolicyWithResponders[], at: Date): store.PolicyWithResponders {
  const policy =
    candidates.find((p) => !p.hours || withinHours(p.hours, at)) ?? candidates[candidates.length - 1];
  // No policy at all (the default is seeded by a migration and cannot be deleted): a ladder with no levels.
  return (
    policy ?? {
      id: '',
      name: '',
      repeat_count: 0,
      repeat_interval_seconds: 300,
      auto_resolve: true,
      hours: null,
      levels: [],
    }
  );
}

type Level = store.PolicyWithResponders['levels'][number];

/**
 * Who a level pages at `at`: its responders by role and name, then whoever is on call in each rotation it
 * targets (an override first), each person once. A rotation's member who is not active is not paged.
 */
export function levelTargets(level: Pick<Level, 'responders' | 'rotations'>, at: Date): store.DbResponder[] {
  const out = new Map(level.responders.map((r) => [r.id, r]));
  for (const ro of level.rotations) {
    const overrides = ro.overrides.map((o) => ({
      id: o.id,
      responderId: o.responderId,
      start: new Date(o.start),
      end: new Date(o.end),
      createdAt: new Date(o.createdAt),
    }));
    const shift = onCallAt(ro, overrides, at);
    const who = shift && ro.people.find((p) => p.id === shift.responderId);
    if (who && !out.has(who.id)) out.set(who.id, who);
  }
  return [...out.values()];
}

/** A level's channels for `severity` at `at`: `channels` within its hours (or always), else the off-hours ones. */
export function levelChannels(
  level: Level,
  severity: string,
  at: Date,
): { channels: Channel[]; outside: boolean } {
  const outside = level.hours !== null && level.hours !== undefined && !withinHours(level.hours, at);
  const map = outside ? level.off_hours_channels : level.channels;
  const channels = (map?.[severity] ?? []).filter((c): c is Channel => CHANNELS.includes(c as Channel));
  return { channels, outside };
}

/** Escalation steps as their audit records name them (the timeline says `escalation` too). */
const ESCALATION = systemJob('escalation');

/** What one step does, decided in memory before anything is written (`planStep`). */
export interface StepPlan {
  /** The level's people to page (none when the level is skipped), on `channels`. */
  responders: store.DbResponder[];
  channels: Channel[];
  /** The timeline event (the step's `pages` are added when written); null when the step has no level. */
  event: { kind: string; actor: string; detail: object; evenWithoutPages: boolean } | null;
  /** The next step, due `offsetSeconds` after the opening; null when the ladder and its repeats are done. */
  next: { level: number; repeat: number; offsetSeconds: number } | null;
  /** Whether the step counts as a level reached (it paged someone, or found no one to page). */
  counts: boolean;
}

/**
 * An emergency's first step of each cycle: every level's people at once, on every level's channels and by
 * voice (hours do not hold back an emergency); the cycle's later levels are then passed over.
 */
function wholeLadder(policy: store.PolicyWithResponders, severity: string, now: Date) {
  const people = new Map<string, store.DbResponder>();
  const channels = new Set<Channel>(['voice']);
  for (const l of policy.levels) {
    for (const r of levelTargets(l, now)) if (!people.has(r.id)) people.set(r.id, r);
    for (const c of [...(l.channels?.[severity] ?? []), ...(l.off_hours_channels?.[severity] ?? [])])
      if (CHANNELS.includes(c as Channel)) channels.add(c as Channel);
  }
  return { responders: [...people.values()], channels: CHANNELS.filter((c) => channels.has(c)) };
}

/** The step (level, repeat) of `policy` for an incident of `severity`, at `now`. */
export function planStep(
  policy: store.PolicyWithResponders,
  severity: string,
  step: { level: number; repeat: number },
  now: Date,
  emergency = false,
): StepPlan {
  const level = policy.levels.find((l) => l.level === step.level);
  const whole = emergency && level !== undefined && level.level === policy.levels[0]?.level;
  const { channels, outside } = whole
    ? { ...wholeLadder(policy, severity, now), outside: false }
    : level
      ? levelChannels(level, severity, now)
      : { channels: [], outside: false };
  // Outside its hours with no off-hours channels, the level is skipped: no one is paged, the ladder goes on.
  const skipped = outside && channels.length === 0;
  const responders = whole
    ? wholeLadder(policy, severity, now).responders
    : level && !skipped
      ? levelTargets(level, now)
      : [];
  const last = policy.levels[policy.levels.length - 1]?.level ?? step.level;
  const after = nextStep(policy, whole ? last : step.level, step.repeat);
  // A system step, not a person's change: the timeline holds it (when it paged someone or found no one), and
  // its audit record is staged beside it (stepIn), never chained in its transaction, so escalation does not
  // queue behind webhooks for the chain's lock.
  const event = level
    ? {
        kind: skipped
          ? 'escalation_skipped'
          : responders.length === 0
            ? 'escalation_no_responders'
            : 'escalated',
        actor: 'escalation',
        detail: {
          level: step.level,
          repeat: step.repeat,
          ...(skipped
            ? { reason: 'outside hours' }
            : { responders: responders.map((r) => r.name), channels }),
          ...(outside && !skipped ? { outsideHours: true } : {}),
          ...(whole ? { emergency: true, levels: policy.levels.map((l) => l.level) } : {}),
        },
        evenWithoutPages: skipped || responders.length === 0,
      }
    : null;
  return {
    responders,
    channels,
    event,
    next: after ? { ...after, offsetSeconds: stepOffsetSeconds(policy, after.level, after.repeat) } : null,
    counts: !!level && !skipped,
  };
}

/** A new incident's escalation, planned to be written with the incident in one statement (`openingPlan`). */
export interface OpeningPlan {
  /** paging_config_version the plan was made under: the statement writes nothing if it has moved. */
  configVersion: string;
  rows: NewNotification[];
  event: StepPlan['event'];
  next: StepPlan['next'];
  /** The step that runs at the opening, when the first level is due at once (for levels reached). */
  first: { level: number; counts: boolean; responders: number } | null;
}

/**
 * Escalation: each step to come is a row of escalation_steps keyed by (incident, level, repeat), run once
 * when due by whichever control plane takes it first (`runDue`). A step pages its level's responders through
 * the outbox and schedules the next one; acknowledging or resolving ends the chain (later rows run as no-ops).
 */
export class EscalationService {
  constructor(
    private readonly pool: Pool,
    private readonly incidents: EscalationDesk,
    private readonly notify: NotifyService,
    private readonly levelsReached: Counter<'level'>,
    private readonly log?: Logger,
  ) {}

  /** Policies with responders read for earlier incidents, valid while paging_config_version is `version`. */
  private readonly policies = { version: '', byKey: new Map<string, store.PolicyWithResponders[]>() };

  /**
   * The policy with responders for `inc`: read in `tx`, or, when the caller read paging_config_version in
   * `tx` and it has not moved since a read for the same client and severity, that read again (the version
   * moves with every change to policies, levels or responders, by any process: migration 1765100000000).
   */
  private async policyFor(tx: Queryable, inc: EscalatedIncident, configVersion?: string) {
    if (inc.policy_id)
      return store.policyCandidates(tx, inc.client_id, inc.severity, inc.class, inc.policy_id);
    if (configVersion === undefined)
      return store.policyCandidates(tx, inc.client_id, inc.severity, inc.class);
    const cache = this.policies;
    if (cache.version !== configVersion || cache.byKey.size >= 10_000) {
      cache.version = configVersion;
      cache.byKey.clear();
    }
    const key = policyKey(inc);
    let policy = cache.byKey.get(key);
    if (!policy) {
      policy = await store.policyCandidates(tx, inc.client_id, inc.severity, inc.class);
      cache.byKey.set(key, policy);
    }
    return policy;
  }

  /** Whether the incident's policy lets it resolve itself once all its alerts have resolved. */
  async autoResolves(tx: Queryable, inc: EscalatedIncident): Promise<boolean> {
    return choosePolicy(await this.policyFor(tx, inc), new Date()).auto_resolve;
  }

  /** Schedules the first step of a newly opened incident, in the transaction that opened it. */
  async opened(tx: Queryable, inc: EscalatedIncident, configVersion?: string): Promise<void> {
    const policy = choosePolicy(await this.policyFor(tx, inc, configVersion), new Date());
    const first = policy.levels[0];
    if (!first) return;
    const step = { incidentId: inc.id, level: first.level, repeat: 0 };
    // A level due at once is taken in the opening transaction itself: one job hop less between the alert
    // and the page, and it still commits (or not) together with the incident.
    if (first.delay_seconds === 0) return this.stepIn(tx, inc, step, { known: policy });
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
      this.incidents.auditCommitted();
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

  async stopped(tx: Queryable, inc: EscalatedIncident): Promise<void> {
    await this.notify.cancelQueued(tx, inc.id);
  }

  /**
   * The `escalate` job, for steps scheduled as graphile-worker jobs by an earlier version. Idempotent: a
   * second run finds the outbox rows already there and pages no one.
   */
  async runStep(step: EscalateJob): Promise<void> {
    // The step's pages go out straight after commit, from this worker.
    await this.notify.withOutbox((tx) => this.stepIfOpen(tx, step));
    this.incidents.auditCommitted();
  }

  /**
   * An operator's reassignment, in `tx` with the incident row locked: pages `target` (a responder, or whoever
   * is on call now in a rotation) at once on the channels of the incident's severity, as outbox rows of step
   * (level 0, repeat `n`: the n-th reassignment). Escalation goes on until someone acknowledges. Returns who
   * was paged and how many pages, or undefined when the target does not exist or has no one on call.
   */
  async reassign(
    tx: Queryable,
    inc: EscalatedIncident,
    target: { responder?: string; rotation?: string },
    n: number,
  ): Promise<{ assignee: { id: string; name: string }; pages: number; channels: Channel[] } | undefined> {
    let who: store.DbResponder | undefined;
    if (target.responder !== undefined) who = await store.activeResponder(tx, target.responder);
    else {
      const ro = await store.rotationForPaging(tx, target.rotation!);
      if (ro) who = levelTargets({ responders: [], rotations: [ro] }, new Date())[0];
    }
    if (!who) return undefined;
    const channels = DEFAULT_CHANNELS[inc.severity];
    const pages = await this.notify.enqueue(
      tx,
      inc,
      { level: 0, repeat: n },
      [who],
      channels,
      (db, rows, sendJobs) =>
        store.writeStep(db, { incidentId: inc.id, rows, sendJobs, event: null, next: null }),
    );
    return { assignee: { id: who.id, name: who.name }, pages, channels };
  }

  /** The step, with the incident row locked, unless the incident is gone, acknowledged or resolved. */
  private async stepIfOpen(tx: Queryable, step: EscalateJob): Promise<void> {
    const inc = await this.incidents.findLocked(tx, step.incidentId);
    // Acknowledged or resolved: escalation is over, and no later step is scheduled.
    if (!inc || inc.status !== 'open') return;
    await this.stepIn(tx, inc, step, { byJob: true });
  }

  /**
   * One step inside `tx` (the incident row locked and open), in one statement: outbox rows (and their send
   * jobs where no process sends straight after commit), the timeline event and the next step's row.
   */
  private async stepIn(
    tx: Queryable,
    inc: EscalatedIncident,
    step: EscalateJob,
    { known, byJob = false }: { known?: store.PolicyWithResponders; byJob?: boolean } = {},
  ): Promise<void> {
    const now = new Date();
    const policy = known ?? choosePolicy(await this.policyFor(tx, inc), now);
    const plan = planStep(policy, inc.severity, step, now, inc.urgency === 'emergency');
    const next = plan.next && {
      level: plan.next.level,
      repeat: plan.next.repeat,
      dueAt: new Date(inc.opened_at.getTime() + plan.next.offsetSeconds * 1000),
    };
    if (!plan.event && !next) return;
    // A step the job ran is the control plane's own doing, recorded as such (staged with its event, so it waits
    // for no chain lock); the opening's first step is part of the opening's record.
    const audit =
      byJob && plan.event
        ? this.incidents.jobAudit(inc, ESCALATION, plan.event.kind, plan.event.detail)
        : null;
    const created = await this.notify.enqueue(
      tx,
      inc,
      step,
      plan.responders,
      plan.channels,
      (db, rows, sendJobs) =>
        store.writeStep(db, { incidentId: inc.id, rows, sendJobs, event: plan.event, next, audit }),
    );
    this.reached(step.level, plan.counts && !inc.drill_id, created, plan.responders.length);
  }

  /** A step that counts reached its level when it paged someone, or found no one to page. */
  private reached(level: number, counts: boolean, created: number, responders: number): void {
    if (counts && (created > 0 || responders === 0)) this.levelsReached.inc({ level: String(level) });
  }

  /**
   * A new incident's escalation planned from the policy read for an earlier incident of the same client and
   * severity, to be written in the statement that opens it (incidents/store.ts `openWithEscalation`): the
   * first step's pages when the first level is due at once, and the step after. Undefined when no policy for
   * them has been read under the current paging_config_version, or this process does not send pages itself
   * straight after commit (then the opening goes the usual way).
   */
  openingPlan(
    inc: Pick<EscalatedIncident, 'id' | 'client_id' | 'severity' | 'class' | 'urgency'>,
    now: Date,
  ): OpeningPlan | undefined {
    const candidates = this.policies.byKey.get(policyKey(inc));
    if (!candidates || !this.notify.sendsDirectly()) return undefined;
    const policy = choosePolicy(candidates, now);
    const first = policy.levels[0];
    const none = { configVersion: this.policies.version, rows: [], event: null, next: null, first: null };
    if (!first) return none;
    if (first.delay_seconds > 0)
      return {
        ...none,
        next: { level: first.level, repeat: 0, offsetSeconds: stepOffsetSeconds(policy, first.level, 0) },
      };
    const step = { level: first.level, repeat: 0 };
    const plan = planStep(policy, inc.severity, step, now, inc.urgency === 'emergency');
    return {
      ...none,
      rows: this.notify.outboxRows(inc.id, step, plan.responders, plan.channels),
      event: plan.event,
      next: plan.next,
      first: { level: first.level, counts: plan.counts, responders: plan.responders.length },
    };
  }

  /** After an opening written from `openingPlan` committed with `created` new pages. */
  openedWithPlan(plan: OpeningPlan, created: number): void {
    if (plan.first) this.reached(plan.first.level, plan.first.counts, created, plan.first.responders);
  }
}
