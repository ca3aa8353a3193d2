import type { ServiceState } from './types.ts';

export interface StateChange {
  readonly state: ServiceState;
  /** Time of the first probe of the run that established the new state. */
  readonly at: Date;
  readonly reason: string;
}

/**
 * One flat object per service, updated in place: the current run of identical observations lives in the
 * entry itself rather than in a run object replaced at every change (one object per service, not two, at
 * thousands of services). firstAt in epoch ms: one Date per service would be kept for nothing.
 */
interface Entry {
  /** The state the control plane holds (or will, once pending transitions land). */
  stable: ServiceState | undefined;
  /** The state of the current run of identical observations, undefined before the first. */
  runState: ServiceState | undefined;
  count: number;
  firstAt: number;
  reason: string;
}

/**
 * Debounces probe results into stable states: `down` after `downAfter` consecutive down observations,
 * `up` or `degraded` after `upAfter` consecutive observations of that state. Until the baseline from
 * the control plane is known (`setBaseline`), observations are counted but no change is reported, so a
 * restart never invents a transition.
 */
export class StateTracker {
  private readonly entries = new Map<string, Entry>();
  private baseline: Map<string, ServiceState> | undefined;

  constructor(
    private readonly downAfter: number,
    private readonly upAfter: number,
  ) {}

  get synced(): boolean {
    return this.baseline !== undefined;
  }

  /**
   * The control plane's view (missing key = up), already overlaid with our own pending transitions.
   * Entries that already decided on a stable state keep it: it came after the baseline was read.
   */
  setBaseline(states: ReadonlyMap<string, ServiceState>): void {
    this.baseline = new Map(states);
  }

  observe(key: string, state: ServiceState, at: Date, reason: string): StateChange | undefined {
    let entry = this.entries.get(key);
    if (!entry) {
      entry = { stable: undefined, runState: undefined, count: 0, firstAt: 0, reason: '' };
      this.entries.set(key, entry);
    }
    if (entry.runState === state) entry.count++;
    else {
      entry.runState = state;
      entry.count = 1;
      entry.firstAt = at.getTime();
      entry.reason = reason;
    }
    if (!this.baseline) return undefined;
    entry.stable ??= this.baseline.get(key) ?? 'up';
    const needed = state === 'down' ? this.downAfter : this.upAfter;
    if (entry.count < needed || entry.stable === state) return undefined;
    entry.stable = state;
    return { state, at: new Date(entry.firstAt), reason: entry.reason };
  }

  /**
   * How many consecutive down observations stand unconfirmed: more than 0 only while the service is not
   * (known) down and the failures have not yet reached `downAfter`. The prober re-probes while it is.
   */
  unconfirmedDowns(key: string): number {
    const entry = this.entries.get(key);
    if (entry?.runState !== 'down' || entry.stable === 'down') return 0;
    return entry.count < this.downAfter ? entry.count : 0;
  }

  /** The state last reported (or, before any report, the control plane's), if known yet. */
  stableState(key: string): ServiceState | undefined {
    return this.entries.get(key)?.stable;
  }

  /** Forget a service's counters (it left discovery); its stable state is re-read from the baseline later. */
  forget(key: string): void {
    const entry = this.entries.get(key);
    if (entry?.stable !== undefined && this.baseline) {
      // Keep what we last told the control plane so that a returning service is compared against it.
      this.baseline.set(key, entry.stable);
    }
    this.entries.delete(key);
  }
}
