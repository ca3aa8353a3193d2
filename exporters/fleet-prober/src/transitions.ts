import type { ServiceState } from './types.ts';

export interface StateChange {
  readonly state: ServiceState;
  /** Time of the first probe of the run that established the new state. */
  readonly at: Date;
  readonly reason: string;
}

interface Entry {
  /** The state the control plane holds (or will, once pending transitions land). */
  stable: ServiceState | undefined;
  /** firstAt in epoch ms: one Date per service would be kept for nothing between changes. */
  run: { state: ServiceState; count: number; firstAt: number; reason: string } | undefined;
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
      entry = { stable: undefined, run: undefined };
      this.entries.set(key, entry);
    }
    if (entry.run?.state === state) entry.run.count++;
    else entry.run = { state, count: 1, firstAt: at.getTime(), reason };
    if (!this.baseline) return undefined;
    entry.stable ??= this.baseline.get(key) ?? 'up';
    const needed = state === 'down' ? this.downAfter : this.upAfter;
    if (entry.run.count < needed || entry.stable === state) return undefined;
    entry.stable = state;
    return { state, at: new Date(entry.run.firstAt), reason: entry.run.reason };
  }

  /**
   * How many consecutive down observations stand unconfirmed: more than 0 only while the service is not
   * (known) down and the failures have not yet reached `downAfter`. The prober re-probes while it is.
   */
  unconfirmedDowns(key: string): number {
    const entry = this.entries.get(key);
    if (entry?.run?.state !== 'down' || entry.stable === 'down') return 0;
    return entry.run.count < this.downAfter ? entry.run.count : 0;
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
