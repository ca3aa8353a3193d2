import { randomUUID } from 'node:crypto';
import { withTx, type Queryable } from '../db/pool.ts';
import { actingAs, systemJob, type Acting } from '../audit/service.ts';
import type { Auth } from '../http/auth.ts';
import type { FieldError } from '../http/errors.ts';
import { repairDelivery } from './repair.ts';
import type { AlertmanagerAlert, AlertmanagerPayload } from './schemas.ts';
import type { IncidentService } from './service.ts';
import * as store from './store.ts';

const ACTOR = 'alertmanager';
const DEADMAN_GROUP = 'concierge-ops:deadmans-switch';
// Alertmanager sends this zero time as endsAt while an alert is firing.
const ZERO_TIME = /^0001-01-01/;

function severityOf(alerts: AlertmanagerAlert[]): store.Severity {
  let best = 0;
  for (const a of alerts) {
    const i = store.SEVERITIES.indexOf(a.labels.severity as store.Severity);
    // An alert without a known severity still pages: it counts as a warning rather than being dropped.
    best = Math.max(best, i < 0 ? 1 : i);
  }
  return store.SEVERITIES[best]!;
}

/** When the failure began, as the opening alerts say: the earliest startsAt (repair.ts made each readable). */
function earliestStart(alerts: AlertmanagerAlert[]): string {
  return alerts.reduce((a, b) => (Date.parse(b.startsAt) < Date.parse(a.startsAt) ? b : a)).startsAt;
}

function toRow(a: AlertmanagerAlert): store.AlertRow {
  return {
    fingerprint: a.fingerprint,
    status: a.status,
    alertname: a.labels.alertname ?? null,
    labels: a.labels,
    annotations: a.annotations,
    startsAt: a.startsAt,
    endsAt: a.endsAt && !ZERO_TIME.test(a.endsAt) ? a.endsAt : null,
  };
}

/**
 * An incident's title: the alert's name, and the cluster that sent it when the alert has one. Several
 * Prometheus clusters sharing one Alertmanager may reuse instance names (alertmanager.yml groups by cluster),
 * and two clusters' incidents of one instance name must not read the same.
 */
function titleOf(labels: Record<string, string>): string {
  const name = labels.alertname ?? 'alert';
  return labels.cluster ? `${name} (cluster ${labels.cluster})` : name;
}

/**
 * The annotation an alert rule (or the prober) writes for clinics: text its status contacts may read. The
 * delivery's common annotation wins, then the first alert's; blank is none. `summary` stays internal.
 */
export const PUBLIC_SUMMARY_ANNOTATION = 'public_summary';

function publicSummaryOf(p: AlertmanagerPayload, alerts: AlertmanagerAlert[]): string | null {
  const text = (
    p.commonAnnotations?.[PUBLIC_SUMMARY_ANNOTATION] ??
    alerts.find((a) => a.annotations[PUBLIC_SUMMARY_ANNOTATION] !== undefined)?.annotations[
      PUBLIC_SUMMARY_ANNOTATION
    ] ??
    ''
  ).trim();
  return text ? text.slice(0, 2000) : null;
}

/** Adds to a cache that forgets everything past 10,000 entries (it is only ever a hint). */
function remember<K, V>(cache: Map<K, V> | Set<K>, key: K, value?: V): void {
  if (cache.size >= 10_000) cache.clear();
  if (cache instanceof Map) cache.set(key, value as V);
  else cache.add(key);
}

/**
 * A delivery's timeline: the "opened" event (for a new incident), one event per alert that changed, and a
 * note when Alertmanager left alerts out of it (max_alerts); `events` are the alert events alone.
 */
function timelineOf(
  p: AlertmanagerPayload,
  opened: Pick<store.DbIncident, 'severity' | 'title' | 'unassigned' | 'class' | 'urgency'> | undefined,
  changed: { fingerprint: string; alertname: string | null; status: string; inserted: boolean }[],
  rejected?: Record<string, string>,
  repairs: FieldError[] = [],
) {
  const events = changed.map((r) => ({
    kind: r.inserted ? 'alert_added' : `alert_${r.status}`,
    detail: { fingerprint: r.fingerprint, alertname: r.alertname, status: r.status },
    internal: true,
  }));
  const timeline = [
    ...(opened
      ? [
          {
            kind: 'opened',
            detail: {
              severity: opened.severity,
              title: opened.title,
              unassigned: opened.unassigned,
              ...(opened.class ? { class: opened.class } : {}),
              ...(opened.urgency ? { urgency: opened.urgency } : {}),
            },
            internal: false,
          },
        ]
      : []),
    ...(opened && rejected
      ? [
          {
            kind: 'labels_rejected',
            detail: { labels: rejected, reason: "not an instance or service of the incident's client" },
            internal: true,
          },
        ]
      : []),
    ...events,
    ...(events.length > 0 && (p.truncatedAlerts ?? 0) > 0
      ? [
          {
            kind: 'alerts_truncated',
            detail: { truncatedAlerts: p.truncatedAlerts, delivered: p.alerts.length },
            internal: true,
          },
        ]
      : []),
    // What repair.ts replaced to store the delivery: recorded once, with the change it let through.
    ...(events.length > 0 && repairs.length > 0
      ? [{ kind: 'alert_input_repaired', detail: { fields: repairs }, internal: true }]
      : []),
  ];
  return { events, timeline };
}

/**
 * The instance and service labels the opening left out (openForGroup keeps only the client's own), or
 * undefined when it kept what the alert said.
 */
function rejectedLabels(labels: Record<string, string>, inc: store.DbIncident) {
  const out: Record<string, string> = {};
  if (labels.instance !== undefined && inc.instance === null) out.instance = labels.instance;
  if (labels.service !== undefined && inc.service === null) out.service = labels.service;
  return Object.keys(out).length > 0 ? out : undefined;
}

export interface IngestResult {
  incident: string | null;
  opened: boolean;
  alertsChanged: number;
  resolved: boolean;
}

/**
 * Alertmanager's webhook into incidents, in one transaction: the caller answers 2xx only after it commits.
 * Replays and the same group from several clustered Alertmanagers meet on the open-group unique index.
 */
export class AlertIngest {
  /** What each client label meant at an opening here (a client's id, or null: unassigned). */
  private readonly clients = new Map<string, string | null>();
  /** Groups this process last saw with an incident open: their deliveries join it, the usual way. */
  private readonly openGroups = new Set<string>();

  constructor(private readonly incidents: IncidentService) {}

  /**
   * `by` is the request's caller: its records say `alertmanager` and carry the token and source that sent the
   * delivery, from what authentication already read (no query of their own).
   */
  async ingest(
    delivered: AlertmanagerPayload,
    by: { auth: Auth; requestId: string | null },
  ): Promise<IngestResult> {
    const { requestId } = by;
    const actor = actingAs(ACTOR, by.auth);
    const { payload: p, repairs } = await repairDelivery(
      delivered,
      (group, fingerprints) => store.alertStarts(this.incidents.pool, group, fingerprints),
      new Date(),
    );
    const firing = p.alerts.filter((a) => a.status === 'firing');
    const common = { ...(p.commonLabels ?? {}) };
    const labels = { ...(firing[0] ?? p.alerts[0]!).labels, ...common };
    const publicSummary = firing.length > 0 ? publicSummaryOf(p, firing) : null;
    // A repaired delivery takes the usual transaction, which writes the repair onto the timeline; so does a
    // drill's alert, whose incident is marked as the drill's there, and one with a public summary, which the
    // clinic is told of in that transaction.
    const atOnce =
      repairs.length || labels.drill !== undefined || publicSummary !== null
        ? undefined
        : await this.openInOneStatement(p, firing, labels, actor, requestId);
    if (atOnce) return atOnce;
    // Pages the opening enqueues go out straight after commit (the hooks' transaction sees to it).
    const result = await this.incidents.hooks.transaction(async (tx) => {
      const found = await store.lockOpenOrResolved(tx, p.groupKey, firing.map(toRow));
      let inc = found.incident;
      let opened = false;
      if (!inc && firing.length > 0) {
        const fresh = firing.filter((a) => !found.over.has(a.fingerprint));
        if (fresh.length > 0) {
          const summary = p.commonAnnotations?.summary ?? fresh[0]!.annotations.summary ?? '';
          inc = await store.openForGroup(tx, {
            client: labels.client ?? null,
            instance: labels.instance ?? null,
            service: labels.service ?? null,
            severity: severityOf(fresh),
            class: store.classOf(labels.class),
            urgency: store.urgencyOf(labels.urgency),
            groupKey: p.groupKey,
            source: 'alertmanager',
            title: titleOf(labels),
            summary: summary.slice(0, 2000),
            publicSummary,
            autoResolve: true,
            failureBeganAt: earliestStart(fresh),
            drill: labels.drill ?? null,
          });
          opened = inc !== undefined;
          if (inc) remember(this.clients, labels.client ?? '', inc.client_id);
          // Lost the race to a concurrent delivery of the same group: join the incident it opened.
          if (!inc) inc = await store.lockOpenByGroup(tx, p.groupKey);
        }
      }
      if (!inc) {
        // No incident to resolve: remember the resolutions, so a late "firing" of the same occurrence (HA
        // Alertmanagers deliver out of order) is known to be over and opens nothing.
        await store.recordResolutions(tx, p.alerts.map(toRow));
        return { incident: null, opened: false, alertsChanged: 0, resolved: false };
      }
      remember(this.openGroups, p.groupKey);
      const rejected = opened ? rejectedLabels(labels, inc) : undefined;
      const { changed, firingAfter } = await this.applyAlerts(
        tx,
        inc,
        p,
        actor,
        requestId,
        opened,
        rejected,
        repairs,
      );
      // Escalation after the timeline's "opened" and alert events; its first level pages in this transaction.
      if (opened) await this.incidents.hooks.opened(tx, inc, found.configVersion);
      if (opened) await this.incidents.hooks.announce(tx, inc, 'opened');
      // A later delivery whose public summary says something new: the incident's public summary, told once
      // (the compare-and-set under the row's lock makes a replay, or the same delivery from a second
      // Alertmanager, change nothing).
      else if (publicSummary !== null && inc.status !== 'resolved')
        await this.publicSummaryChanged(tx, inc, publicSummary, actor, requestId);
      let resolved = false;
      // Every alert resolved: the incident resolves itself, unless its policy says an operator resolves it.
      if (
        changed > 0 &&
        inc.auto_resolve &&
        !firingAfter &&
        (await store.countFiring(tx, inc.id)) === 0 &&
        (await this.incidents.hooks.autoResolves(tx, inc))
      ) {
        await this.incidents.resolveLocked(tx, inc, actor, requestId, { via: 'alertmanager', auto: true });
        resolved = true;
        this.openGroups.delete(p.groupKey);
      }
      return { incident: inc.code, opened, alertsChanged: changed, resolved };
    });
    if (result.opened || result.alertsChanged > 0) this.incidents.auditCommitted();
    return result;
  }

  private async publicSummaryChanged(
    tx: Queryable,
    inc: store.DbIncident,
    text: string,
    actor: Acting,
    requestId: string | null,
  ): Promise<void> {
    if (!(await store.changePublicSummary(tx, inc.id, text))) return;
    const after = (await store.find(tx, inc.id))!;
    await this.incidents.record(tx, after, actor, requestId, {
      kind: 'public_summary_changed',
      detail: { publicSummary: text, via: 'alertmanager' },
      internal: false,
    });
    await this.incidents.hooks.announce(tx, after, 'updated');
  }

  /**
   * Upserts the alerts and writes the timeline in one statement per table: the "opened" event (for a new
   * incident) first, then one event per changed alert, with the change's audit record. Returns how many alerts
   * changed; `firingAfter` is true when an alert of this delivery is known to be firing now, so the incident
   * cannot auto-resolve.
   */
  private async applyAlerts(
    tx: Queryable,
    inc: store.DbIncident,
    p: AlertmanagerPayload,
    actor: Acting,
    requestId: string | null,
    opened: boolean,
    rejected: Record<string, string> | undefined,
    repairs: FieldError[],
  ): Promise<{ changed: number; firingAfter: boolean }> {
    // One row per fingerprint: a body that repeats one would otherwise update the same row twice.
    const alerts = p.alerts;
    const byFingerprint = new Map(alerts.map((a) => [a.fingerprint, a]));
    const changed = await store.upsertAlerts(tx, inc.id, [...byFingerprint.values()].map(toRow));
    const { events, timeline } = timelineOf(p, opened ? inc : undefined, changed, rejected, repairs);
    // The change's one audit record (an opening, or alerts that changed) is staged in the same statement.
    if (timeline.length > 0)
      await this.incidents.addEvents(tx, inc, actor, timeline, {
        requestId,
        action: opened ? 'opened' : 'alerts_changed',
        after: { severity: inc.severity, alerts: events.map((e) => e.detail) },
      });
    const firingAfter = changed.some((r) => r.status === 'firing');
    if (changed.length === 0) return { changed: 0, firingAfter };
    let top = store.SEVERITIES.indexOf(inc.severity);
    for (const r of changed) {
      const sev = store.SEVERITIES.indexOf(
        byFingerprint.get(r.fingerprint)!.labels.severity as store.Severity,
      );
      if (r.status === 'firing' && sev > top) top = sev;
    }
    if (top > store.SEVERITIES.indexOf(inc.severity)) {
      await store.raiseSeverity(tx, inc.id, store.SEVERITIES[top]!);
      await this.incidents.record(tx, inc, actor, requestId, {
        kind: 'severity_raised',
        detail: { severity: store.SEVERITIES[top] },
        internal: false,
        audit: false,
      });
    }
    return { changed: changed.length, firingAfter };
  }

  /**
   * The common opening, a new group with a client label met before, in one statement and one round trip
   * (incidents/store.ts `openWithEscalation`): the escalation is planned from the policy read for an earlier
   * incident of the same client and severity, and the statement writes nothing if that policy, the client or
   * the group has changed since; the usual transaction (seven round trips) then does it. The result is
   * the same either way, event for event (test/integration/paging.test.ts).
   */
  private async openInOneStatement(
    p: AlertmanagerPayload,
    firing: AlertmanagerAlert[],
    labels: Record<string, string>,
    actor: Acting,
    requestId: string | null,
  ): Promise<IngestResult | undefined> {
    const clientId = this.clients.get(labels.client ?? '');
    if (firing.length === 0 || clientId === undefined || this.openGroups.has(p.groupKey)) return undefined;
    const severity = severityOf(firing);
    const cls = store.classOf(labels.class);
    const urgency = store.urgencyOf(labels.urgency);
    const id = randomUUID();
    const plan = this.incidents.hooks.openingPlan(
      { id, client_id: clientId, severity, class: cls, urgency },
      new Date(),
    );
    if (!plan) return undefined;
    const title = titleOf(labels);
    const alerts = [...new Map(p.alerts.map((a) => [a.fingerprint, a])).values()].map(toRow);
    const { events, timeline } = timelineOf(
      p,
      { severity, title, unassigned: clientId === null, class: cls, urgency },
      alerts.map((a) => ({ ...a, inserted: true })),
    );
    const inc = await store.openWithEscalation(this.incidents.pool, {
      id,
      client: labels.client ?? null,
      clientId,
      instance: labels.instance ?? null,
      service: labels.service ?? null,
      severity,
      class: cls,
      urgency,
      groupKey: p.groupKey,
      title,
      summary: (p.commonAnnotations?.summary ?? firing[0]!.annotations.summary ?? '').slice(0, 2000),
      failureBeganAt: earliestStart(firing),
      configVersion: plan.configVersion,
      alerts,
      events: [
        ...timeline.map((e) => ({ ...e, actor: ACTOR })),
        ...(plan.event ? [{ ...plan.event, internal: true, step: true }] : []),
      ],
      audit: this.incidents.openingAudit(id, actor, requestId, {
        severity,
        alerts: events.map((e) => e.detail),
      }),
      pages: plan.rows,
      next: plan.next,
    });
    if (!inc) return undefined;
    remember(this.openGroups, p.groupKey);
    this.incidents.hooks.openedWithPlan(plan, inc.sends);
    this.incidents.auditCommitted();
    return { incident: inc.code, opened: true, alertsChanged: alerts.length, resolved: false };
  }

  /** Watchdog arrived: remember when, and close a dead man's switch incident that it ends. */
  async heartbeat(by: { auth: Auth; requestId: string | null }): Promise<void> {
    await withTx(this.incidents.pool, async (tx) => {
      await store.touchHeartbeat(tx, 'watchdog');
      const inc = await store.lockOpenByGroup(tx, DEADMAN_GROUP);
      if (inc)
        await this.incidents.resolveLocked(tx, inc, actingAs(ACTOR, by.auth), by.requestId, {
          via: 'watchdog returned',
        });
    });
  }

  async heartbeatAge(): Promise<number | null> {
    return store.heartbeatAge(this.incidents.pool, 'watchdog');
  }

  /**
   * The dead man's switch: when Watchdog has not arrived for `maxAgeSeconds`, the monitoring pipeline is
   * broken and ops are paged through a critical incident (one at a time, by the same unique index).
   */
  async checkDeadman(maxAgeSeconds: number): Promise<boolean> {
    const age = await this.heartbeatAge();
    // Never seen: the switch arms on the first heartbeat, so a fresh install does not page at once.
    if (age === null || age <= maxAgeSeconds) return true;
    await this.incidents.hooks.transaction(async (tx) => {
      const id = await store.insertForGroup(tx, {
        clientId: null,
        unassigned: false,
        instance: null,
        service: 'monitoring',
        severity: 'critical',
        groupKey: DEADMAN_GROUP,
        source: 'deadman',
        title: 'Monitoring pipeline broken: Alertmanager Watchdog not received',
        summary: `No Watchdog heartbeat for ${Math.round(age)} s; alerts may not be reaching anyone.`,
        publicSummary: null,
        autoResolve: false,
        // The last sign of life: the pipeline broke after the last Watchdog it delivered.
        failureBeganAt: new Date(Date.now() - age * 1000).toISOString(),
      });
      if (!id) return;
      const inc = (await store.find(tx, id))!;
      await this.incidents.record(tx, inc, systemJob('deadmans-switch'), null, {
        kind: 'opened',
        detail: { severity: 'critical', heartbeatAgeSeconds: Math.round(age) },
      });
      await this.incidents.hooks.opened(tx, inc);
    });
    return false;
  }
}
