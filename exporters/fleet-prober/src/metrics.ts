import { Counter, Gauge, Registry } from 'prom-client';
import {
  PROBE_TYPES,
  TARGET_LABELS,
  type ProbeResult,
  type ServiceState,
  type Target,
  type TargetLabels,
} from './types.ts';
import { collectProcessMetrics } from '@concierge-ops/shared/metrics';

export interface TargetView {
  readonly target: Target;
  readonly result: ProbeResult | undefined;
}

export interface MetricsSource {
  /** The targets currently in discovery with their latest result. */
  targetViews(): Iterable<TargetView>;
  /** The debounced state the prober holds for a service (what it reported), once known. */
  stableState(key: string): ServiceState | undefined;
  pendingTransitions(): number;
}

export const ERROR_KINDS = [
  'sd_fetch',
  'sd_invalid',
  'state_sync',
  'report_retry',
  'report_rejected',
  'buffer_overflow',
  'state_file',
  'probe_internal',
  'peer_poll',
  'alert_send',
] as const;
export type ErrorKind = (typeof ERROR_KINDS)[number];

/** One per-target family: its name, type line, help, and the value a view gives (undefined: no sample). */
interface Family {
  readonly name: string;
  readonly help: string;
  readonly value: (r: ProbeResult, t: Target) => number | undefined;
}

const FAMILIES: readonly Family[] = [
  {
    name: 'probe_success',
    help: 'Whether the last probe of the service succeeded (1) or not (0).',
    value: (r) => (r.success ? 1 : 0),
  },
  {
    name: 'probe_duration_seconds',
    help: 'How long the last probe took, in seconds.',
    value: (r) => r.durationSeconds,
  },
  {
    name: 'probe_http_status_code',
    help: 'HTTP status of the last probe (0 if no response).',
    value: (r, t) => (t.probeType === 'http' ? (r.httpStatus ?? 0) : undefined),
  },
  {
    name: 'probe_ssl_earliest_cert_expiry',
    help: 'Earliest notAfter of the verified TLS chain, unix seconds.',
    value: (r) => r.certExpiry,
  },
  // The service's own CertificateExpiring thresholds (its tlsExpiry, 21 and 7 days unset), for the rule to
  // compare with: a label would do as well but would change every series' identity when a threshold changes.
  {
    name: 'probe_tls_expiry_warning_threshold_seconds',
    help: 'Time before the certificate expires at which CertificateExpiring warns, in seconds (https only).',
    value: (_r, t) => t.tlsWarningSeconds,
  },
  {
    name: 'probe_tls_expiry_critical_threshold_seconds',
    help: 'Time before the certificate expires at which CertificateExpiring turns critical, in seconds (https only).',
    value: (_r, t) => t.tlsCriticalSeconds,
  },
];

/**
 * The prober's own Registry for its counters and process metrics, plus the per-target families, written
 * straight from the live target map at scrape time. Those are not prom-client gauges: at thousands of
 * targets a gauge keeps one label-set object and hash string per series between scrapes, megabytes that
 * buy nothing here, since every scrape rebuilds them anyway. A target that leaves discovery (or a
 * dependency that leaves the health JSON) loses its series at once.
 */
export class ProberMetrics {
  readonly registry = new Registry();
  readonly probes: Counter<'type' | 'result'>;
  readonly late: Counter;
  readonly errors: Counter<'kind'>;
  readonly confirmations: Counter<'outcome'>;
  readonly alertsSent: Counter;
  /** `,location="..."` appended to every per-target label set, or nothing. */
  private readonly locationText: string;

  constructor(
    private readonly source: MetricsSource,
    opts: { defaultMetrics: boolean; location?: string | undefined; quorum: number },
  ) {
    const registers = [this.registry];
    this.locationText = opts.location ? `,location="${escape(opts.location)}"` : '';

    this.probes = new Counter({
      name: 'prober_probes_total',
      help: 'Probes run, by probe type and result.',
      labelNames: ['type', 'result'] as const,
      registers,
    });
    for (const type of PROBE_TYPES) {
      for (const result of ['success', 'failure']) this.probes.inc({ type, result }, 0);
    }
    this.late = new Counter({
      name: 'prober_late_probes_total',
      help: 'Probes that started late or were skipped because the previous one was still running.',
      registers,
    });
    this.errors = new Counter({
      name: 'prober_errors_total',
      help: 'Errors of the prober itself (discovery, state sync, reporting, state file), by kind.',
      labelNames: ['kind'] as const,
      registers,
    });
    for (const kind of ERROR_KINDS) this.errors.inc({ kind }, 0);
    new Gauge({
      name: 'prober_targets',
      help: 'Services currently discovered, by probe type.',
      labelNames: ['type'] as const,
      registers,
      collect() {
        const counts = { http: 0, tcp: 0, dns: 0 };
        for (const { target } of source.targetViews()) counts[target.probeType]++;
        for (const [type, n] of Object.entries(counts)) this.set({ type }, n);
      },
    });
    new Gauge({
      name: 'prober_transitions_pending',
      help: 'State transitions buffered and not yet accepted by the control plane.',
      registers,
      collect() {
        this.set(source.pendingTransitions());
      },
    });
    // The Prometheus rules' quorum (prometheus/rules/fleet.yml) reads this, so the backstop needs the locations
    // the direct path needs. Labelled with the location, so a prober that stops answering can be named by it.
    const quorum = new Gauge({
      name: 'prober_quorum',
      help: 'Locations, this one included, that must hold a service down for the fleet to hold it down (PROBER_QUORUM).',
      labelNames: opts.location ? ['location'] : [],
      registers,
    });
    if (opts.location) quorum.set({ location: opts.location }, opts.quorum);
    else quorum.set(opts.quorum);
    this.confirmations = new Counter({
      name: 'prober_down_confirmations_total',
      help: 'Failed probes settled by re-probing: confirmed as down, or contradicted (a flap, not reported).',
      labelNames: ['outcome'] as const,
      registers,
    });
    for (const outcome of ['down', 'flap']) this.confirmations.inc({ outcome }, 0);
    this.alertsSent = new Counter({
      name: 'prober_alerts_sent_total',
      help: 'Alerts accepted by an Alertmanager on the direct path (each resend and each Alertmanager counts).',
      registers,
    });
    if (opts.defaultMetrics) {
      collectProcessMetrics(this.registry);
    }
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The whole /metrics body. */
  async text(): Promise<string> {
    return (await this.registry.metrics()) + this.targetText();
  }

  /** Per-target families in text exposition format, each target's label set escaped once per scrape. */
  private targetText(): string {
    const lines: string[][] = FAMILIES.map((f) => [`# HELP ${f.name} ${f.help}`, `# TYPE ${f.name} gauge`]);
    const deps = [
      '# HELP probe_dependency_up Whether a dependency in the concierge health JSON reports up (1) or down (0).',
      '# TYPE probe_dependency_up gauge',
    ];
    const down = [
      '# HELP prober_service_down Whether the prober holds the service as down (1): a confirmed down it reported.',
      '# TYPE prober_service_down gauge',
    ];
    for (const { target, result } of this.source.targetViews()) {
      const l = labelText(target.labels) + this.locationText;
      const state = this.source.stableState(target.key);
      if (state !== undefined) down.push(`prober_service_down{${l}} ${state === 'down' ? 1 : 0}`);
      if (!result) continue;
      FAMILIES.forEach((f, i) => {
        const v = f.value(result, target);
        if (v !== undefined) lines[i]!.push(`${f.name}{${l}} ${v}`);
      });
      for (const [dependency, up] of result.dependencies ?? []) {
        deps.push(`probe_dependency_up{${l},dependency="${escape(dependency)}"} ${up ? 1 : 0}`);
      }
    }
    return [...lines, deps, down].map((f) => f.join('\n')).join('\n') + '\n';
  }
}

function labelText(labels: TargetLabels): string {
  return TARGET_LABELS.map((name) => `${name}="${escape(labels[name])}"`).join(',');
}

/** Label value escaping of the text format: backslash, double quote and newline. */
function escape(v: string): string {
  return /[\\"\n]/.test(v) ? v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n') : v;
}
