import type { DesiredAlert } from './alerts.ts';
import type { StateChange } from './transitions.ts';
import type { ServiceState, Target } from './types.ts';

/** A change of the fleet's view of one service: what the control plane is told. */
export interface FleetChange {
  readonly state: ServiceState;
  readonly at: Date;
  readonly reason: string;
}

const RUNBOOKS = 'https://github.com/concierge-ops/concierge-ops/blob/main/docs/runbooks';

/**
 * The fleet's view of each service: down when at least `quorum` locations (this prober and its peers) hold
 * it down, otherwise this prober's own state. With no peers and a quorum of 1 it is exactly the prober's
 * own view. The control plane is told about changes of this view (so the SLA follows the quorum), and the
 * alerts sent straight to Alertmanager are derived from it.
 */
export class FleetView {
  private readonly ownDown = new Map<string, Date>();
  private readonly fleetDown = new Set<string>();
  /**
   * When (performance.now()) the fleet's view of a service last went from down to up, until every peer view
   * held is newer: a peer's answer asked for before the resolve is stale and does not vote, so a poll under
   * way at the resolve, or an alert resend, cannot bring the decision back.
   */
  private readonly resolvedAt = new Map<string, number>();
  /** What the control plane holds (or will, once pending transitions land); undefined until synced. */
  private reported: Map<string, ServiceState> | undefined;

  constructor(
    private readonly quorum: number,
    /** How many peers hold the service down in views asked for at or after `since` (performance.now()). */
    private readonly peerDownCount: (key: string, since: number) => number,
    private readonly extraLabels: Readonly<Record<string, string>>,
  ) {}

  /** The keys this prober itself holds down: what it answers its peers. */
  ownDownKeys(): IterableIterator<string> {
    return this.ownDown.keys();
  }

  fleetDownKeys(): IterableIterator<string> {
    return this.fleetDown.keys();
  }

  setBaseline(states: ReadonlyMap<string, ServiceState>): void {
    this.reported = new Map(states);
  }

  forget(key: string): void {
    this.ownDown.delete(key);
    this.fleetDown.delete(key);
    this.resolvedAt.delete(key);
  }

  /** True while some resolve is younger than a peer view held: a fresh poll may change votes. */
  get awaitingFreshViews(): boolean {
    return this.resolvedAt.size > 0;
  }

  /** Drops the resolves that every peer view held (asked for at `oldestView` or later) postdates. */
  pruneResolves(oldestView: number): void {
    for (const [key, at] of this.resolvedAt) if (at <= oldestView) this.resolvedAt.delete(key);
  }

  /**
   * Re-decides one service from this prober's stable state (and the change that just set it, if any) and
   * the peers' views. Returns the change to report, if the fleet's view moved and the baseline is known.
   */
  reconcile(key: string, own: ServiceState | undefined, change?: StateChange): FleetChange | undefined {
    if (own === 'down') {
      if (!this.ownDown.has(key)) this.ownDown.set(key, change?.at ?? new Date());
    } else {
      this.ownDown.delete(key);
    }
    const votes = (own === 'down' ? 1 : 0) + this.peerDownCount(key, this.resolvedAt.get(key) ?? -Infinity);
    const down = votes >= this.quorum;
    if (down) {
      this.fleetDown.add(key);
      this.resolvedAt.delete(key);
    } else if (this.fleetDown.delete(key)) this.resolvedAt.set(key, performance.now());
    if (!this.reported || (own === undefined && !down)) return undefined;
    const state: ServiceState = down ? 'down' : own === 'down' || own === undefined ? 'up' : own;
    if (state === (this.reported.get(key) ?? 'up')) return undefined;
    this.reported.set(key, state);
    if (change && change.state === state) return change;
    // The quorum formed (or broke) on a peer's word: the outage began at this prober's first failure when
    // it saw one, otherwise now.
    const at = state === 'down' ? (this.ownDown.get(key) ?? new Date()) : new Date();
    const reason =
      state === 'down' ? `down at ${votes} locations` : `down at ${votes} locations, below the quorum`;
    return { state, at, reason };
  }

  /**
   * The alerts the fleet's view calls for, with the labels the Prometheus rules put on theirs
   * (prometheus/rules/fleet.yml), so the two paths make one alert in Alertmanager: ServiceDown per service
   * down, InstanceDown when every non-dependency service of an instance is down.
   */
  desiredAlerts(targets: ReadonlyMap<string, { readonly target: Target }>): Map<string, DesiredAlert> {
    const alerts = new Map<string, DesiredAlert>();
    const downByInstance = new Map<string, { target: Target; down: number; since: Date }>();
    for (const key of this.fleetDown) {
      const target = targets.get(key)?.target;
      if (!target || target.labels.service_kind === 'dependency') continue;
      const since = this.ownDown.get(key) ?? new Date();
      const { client, instance, service, service_kind } = target.labels;
      alerts.set(`ServiceDown/${key}`, {
        labels: {
          ...this.extraLabels,
          alertname: 'ServiceDown',
          severity: 'critical',
          job: 'fleet-prober',
          client,
          instance,
          service,
          service_kind,
        },
        annotations: {
          summary: 'A concierge service is down.',
          description: `${service_kind} service ${service} of ${client}/${instance} fails its probes at a quorum of locations.`,
          runbook_url: `${RUNBOOKS}/ServiceDown.md`,
        },
        startsAt: since,
      });
      const inst = downByInstance.get(target.instanceId);
      if (inst) {
        inst.down++;
        if (since < inst.since) inst.since = since;
      } else downByInstance.set(target.instanceId, { target, down: 1, since });
    }
    if (downByInstance.size === 0) return alerts;
    const services = new Map<string, number>();
    for (const { target } of targets.values()) {
      if (target.labels.service_kind === 'dependency') continue;
      services.set(target.instanceId, (services.get(target.instanceId) ?? 0) + 1);
    }
    for (const [instanceId, { target, down, since }] of downByInstance) {
      if (down < (services.get(instanceId) ?? Infinity)) continue;
      const { client, instance } = target.labels;
      alerts.set(`InstanceDown/${instanceId}`, {
        labels: { ...this.extraLabels, alertname: 'InstanceDown', severity: 'critical', client, instance },
        annotations: {
          summary: 'Concierge instance is down.',
          description: `Every probed service of ${client}/${instance} fails its probes at a quorum of locations: patients cannot reach the concierge.`,
          runbook_url: `${RUNBOOKS}/InstanceDown.md`,
        },
        startsAt: since,
      });
    }
    return alerts;
  }
}
