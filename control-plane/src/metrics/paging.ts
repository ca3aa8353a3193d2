import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

const OPEN_LABELS = ['client', 'severity'] as const;
const SEVERITY = ['severity'] as const;
const NOTIFY_LABELS = ['channel', 'status'] as const;
const CHANNEL = ['channel'] as const;
const LEVEL = ['level'] as const;
const TARGET_LABELS = ['class', 'severity', 'kind'] as const;
const TARGET_CLASSES = ['none', 'crisis', 'security', 'compliance', 'performance', 'availability'];
// Seconds: a page is acknowledged within minutes, an incident resolved within hours.
const ACK_BUCKETS = [30, 60, 120, 300, 600, 900, 1800, 3600, 7200];
const RESOLVE_BUCKETS = [60, 300, 900, 1800, 3600, 7200, 14400, 43200, 86400, 259200];
// Seconds from the failure itself: the fast path pages within seconds, the rules' backstop within minutes.
// 300 is a bound so the FailureToPageSlow target (p90 under 5 minutes) is read exactly, not interpolated.
const FAILURE_TO_PAGE_BUCKETS = [1, 2, 5, 10, 15, 30, 60, 120, 180, 300, 600, 1800, 3600];
const FAILURE_TO_ACK_BUCKETS = [10, 30, 60, 120, 300, 600, 900, 1800, 3600];

export interface PagingSources {
  openIncidents(): Promise<{ client: string | null; severity: string; n: number }[]>;
  heartbeatOk(): Promise<boolean>;
  /** False until the first Watchdog has arrived (the switch arms on it). */
  heartbeatArmed(): Promise<boolean>;
  queueLagSeconds(): Promise<number>;
  /** Open incidents past their response targets, by class ('none' without one) and severity. */
  pastTargets(): Promise<{ class: string; severity: string; ack: number; resolve: number }[]>;
}

/**
 * Incident and paging metrics. Gauges read the database at scrape time, so every replica reports the same
 * truth; labels are bounded (client slugs, severities, channels), never incident ids or phone numbers.
 */
export function createPagingMetrics(registry: Registry, sources: () => PagingSources) {
  const log = (err: unknown) => void err; // a failed scrape query leaves the gauge empty rather than failing /metrics
  new Gauge({
    name: 'concierge_ops_incidents_open',
    help: 'Incidents not yet resolved, by client (slug, "unassigned" when unknown) and severity; failure drills never count.',
    labelNames: OPEN_LABELS,
    registers: [registry],
    async collect() {
      this.reset();
      try {
        for (const r of await sources().openIncidents())
          this.set({ client: r.client ?? 'unassigned', severity: r.severity }, r.n);
      } catch (err) {
        log(err);
      }
    },
  });
  new Gauge({
    name: 'concierge_ops_deadmans_switch_ok',
    help: "1 while Alertmanager's Watchdog heartbeat keeps arriving (or has never been armed), else 0.",
    registers: [registry],
    async collect() {
      try {
        this.set((await sources().heartbeatOk()) ? 1 : 0);
      } catch (err) {
        log(err);
      }
    },
  });
  new Gauge({
    name: 'concierge_ops_deadmans_switch_armed',
    help: "1 once Alertmanager's Watchdog has arrived at least once (the switch arms on it); 0: it never has.",
    registers: [registry],
    async collect() {
      try {
        this.set((await sources().heartbeatArmed()) ? 1 : 0);
      } catch (err) {
        log(err);
      }
    },
  });
  new Gauge({
    name: 'concierge_ops_incidents_past_response_target',
    help:
      'Open incidents (drills left out) past their response target now, by class ("none" without one), severity ' +
      'and kind (ack: not acknowledged in time, resolve: not resolved in time); docs/incident-targets.md.',
    labelNames: TARGET_LABELS,
    registers: [registry],
    async collect() {
      this.reset();
      try {
        const rows = await sources().pastTargets();
        // Every series present at 0, so a breach is a change Prometheus sees; a failed query leaves none.
        for (const cls of TARGET_CLASSES)
          for (const severity of ['critical', 'warning', 'info'])
            for (const kind of ['ack', 'resolve']) this.set({ class: cls, severity, kind }, 0);
        for (const r of rows) {
          this.set({ class: r.class, severity: r.severity, kind: 'ack' }, r.ack);
          this.set({ class: r.class, severity: r.severity, kind: 'resolve' }, r.resolve);
        }
      } catch (err) {
        log(err);
      }
    },
  });
  new Gauge({
    name: 'concierge_ops_job_queue_lag_seconds',
    help: 'How long the oldest runnable job (escalation step, page send) has waited past its due time.',
    registers: [registry],
    async collect() {
      try {
        this.set(await sources().queueLagSeconds());
      } catch (err) {
        log(err);
      }
    },
  });
  const notifications = new Counter({
    name: 'concierge_ops_notifications_total',
    help: 'Page send outcomes by channel (sms, voice, email) and status (sent, retrying, failed, delivered; unknown: its sending process stopped before the provider answered).',
    labelNames: NOTIFY_LABELS,
    registers: [registry],
  });
  // Present at 0 from the start, so that the first page of unknown outcome is an increase (PageOutcomeUnknown).
  for (const channel of ['sms', 'voice', 'email', 'webhook', 'slack', 'teams'])
    notifications.inc({ channel, status: 'unknown' }, 0);
  /*
   * Observed by the one process whose statement recorded the incident's first accepted page (or its
   * acknowledgement): with several replicas each counts only what it did, so a sum over them counts each
   * incident once. Present at 0 from the start, so that a replica's first incident is an increase
   * (FailureToPageSlow reads increase() over a day).
   */
  const failureToPage = new Histogram({
    name: 'concierge_ops_failure_to_page_seconds',
    help: "From an incident's failure beginning (its alerts' earliest startsAt) to its first page the provider accepted (Twilio API, SMTP).",
    labelNames: SEVERITY,
    buckets: FAILURE_TO_PAGE_BUCKETS,
    registers: [registry],
  });
  const failureToAck = new Histogram({
    name: 'concierge_ops_failure_to_ack_seconds',
    help: "From an incident's failure beginning (its alerts' earliest startsAt) to its acknowledgement.",
    labelNames: SEVERITY,
    buckets: FAILURE_TO_ACK_BUCKETS,
    registers: [registry],
  });
  for (const severity of ['critical', 'warning', 'info']) {
    failureToPage.zero({ severity });
    failureToAck.zero({ severity });
  }
  return {
    failureToPage,
    failureToAck,
    timeToAck: new Histogram({
      name: 'concierge_ops_incident_time_to_acknowledge_seconds',
      help: 'From an incident opening to its acknowledgement.',
      labelNames: SEVERITY,
      buckets: ACK_BUCKETS,
      registers: [registry],
    }),
    timeToResolve: new Histogram({
      name: 'concierge_ops_incident_time_to_resolve_seconds',
      help: 'From an incident opening to its resolution.',
      labelNames: SEVERITY,
      buckets: RESOLVE_BUCKETS,
      registers: [registry],
    }),
    notifications,
    sendDuration: new Histogram({
      name: 'concierge_ops_notification_send_duration_seconds',
      help: 'Time for the provider (Twilio API, SMTP) to accept a page.',
      labelNames: CHANNEL,
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    levelsReached: new Counter({
      name: 'concierge_ops_escalation_levels_reached_total',
      help: 'Escalation steps that paged, by level; failure drills never count.',
      labelNames: LEVEL,
      registers: [registry],
    }),
  };
}
