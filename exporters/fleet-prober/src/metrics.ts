import { CONTENT_TYPE, Counter, escapeLabel as escape, family, sample } from './exposition.ts';
import { ProcessMetrics } from './process-metrics.ts';
import {
  PROBE_TYPES,
  TARGET_LABELS,
  type ProbeResult,
  type ServiceState,
  type Target,
  type TargetLabels,
} from './types.ts';

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
 * The prober's counters and gauges, its process metrics, and the per-target families, written straight in
 * the text format at scrape time (src/exposition.ts says why not prom-client). The per-target series are
 * built from the live target map: nothing is kept per series between scrapes, and a target that leaves
 * discovery (or a dependency that leaves the health JSON) loses its series at once.
 */
export class ProberMetrics {
  readonly probes = new Counter('prober_probes_total', 'Probes run, by probe type and result.', [
    'type',
    'result',
  ] as const);
  readonly late = new Counter(
    'prober_late_probes_total',
    'Probes that started late or were skipped because the previous one was still running.',
  );
  readonly errors = new Counter(
    'prober_errors_total',
    'Errors of the prober itself (discovery, state sync, reporting, state file), by kind.',
    ['kind'] as const,
  );
  readonly confirmations = new Counter(
    'prober_down_confirmations_total',
    'Failed probes settled by re-probing: confirmed as down, or contradicted (a flap, not reported).',
    ['outcome'] as const,
  );
  readonly alertsSent = new Counter(
    'prober_alerts_sent_total',
    'Alerts accepted by an Alertmanager on the direct path (each resend and each Alertmanager counts).',
  );
  readonly contentType = CONTENT_TYPE;
  private readonly process: ProcessMetrics | undefined;
  private readonly quorumText: string;
  /** `,location="..."` appended to every per-target label set, or nothing. */
  private readonly locationText: string;

  constructor(
    private readonly source: MetricsSource,
    opts: { defaultMetrics: boolean; location?: string | undefined; quorum: number },
  ) {
    this.locationText = opts.location ? `,location="${escape(opts.location)}"` : '';
    for (const type of PROBE_TYPES) {
      for (const result of ['success', 'failure']) this.probes.inc({ type, result }, 0);
    }
    for (const kind of ERROR_KINDS) this.errors.inc({ kind }, 0);
    for (const outcome of ['down', 'flap']) this.confirmations.inc({ outcome }, 0);
    // The Prometheus rules' quorum (prometheus/rules/fleet.yml) reads this, so the backstop needs the locations
    // the direct path needs. Labelled with the location, so a prober that stops answering can be named by it.
    this.quorumText = family(
      'prober_quorum',
      'gauge',
      'Locations, this one included, that must hold a service down for the fleet to hold it down (PROBER_QUORUM).',
      [sample('prober_quorum', opts.location ? `location="${escape(opts.location)}"` : '', opts.quorum)],
    );
    if (opts.defaultMetrics) this.process = new ProcessMetrics();
  }

  /** Stops watching the event loop and the garbage collector (process metrics). */
  stop(): void {
    this.process?.stop();
  }

  /** The whole /metrics body at once (tests; the server writes `chunks()`). */
  text(): string {
    return [...this.chunks()].join('');
  }

  /**
   * The /metrics body in pieces of about 64 KiB. At 5,000 targets the per-target families are megabytes of
   * text: built whole, joined, and copied into the socket's buffer, they were three copies at once at every
   * scrape, the prober's highest resident peak.
   */
  *chunks(): Generator<string> {
    const counts = { http: 0, tcp: 0, dns: 0 };
    // One consistent list for every family, though discovery may swap the target map between pieces.
    const views = [...this.source.targetViews()];
    for (const { target } of views) counts[target.probeType]++;
    yield [
      this.probes.text(),
      this.late.text(),
      this.errors.text(),
      family(
        'prober_targets',
        'gauge',
        'Services currently discovered, by probe type.',
        Object.entries(counts).map(([type, n]) => sample('prober_targets', `type="${type}"`, n)),
      ),
      family(
        'prober_transitions_pending',
        'gauge',
        'State transitions buffered and not yet accepted by the control plane.',
        [sample('prober_transitions_pending', '', this.source.pendingTransitions())],
      ),
      this.quorumText,
      this.confirmations.text(),
      this.alertsSent.text(),
      this.process?.text() ?? '',
    ].join('');
    yield* this.targetChunks(views);
  }

  /** Per-target families in text exposition format, each target's label set escaped once per scrape. */
  private *targetChunks(views: readonly TargetView[]): Generator<string> {
    const labels = views.map(({ target }) => labelText(target.labels) + this.locationText);
    let piece = '';
    for (const f of FAMILIES) {
      piece += `# HELP ${f.name} ${f.help}\n# TYPE ${f.name} gauge\n`;
      for (let i = 0; i < views.length; i++) {
        const { target, result } = views[i]!;
        const v = result && f.value(result, target);
        if (v === undefined) continue;
        piece += `${f.name}{${labels[i]}} ${v}\n`;
        if (piece.length >= CHUNK_CHARS) {
          yield piece;
          piece = '';
        }
      }
    }
    piece +=
      '# HELP probe_dependency_up Whether a dependency in the concierge health JSON reports up (1) or down (0).\n' +
      '# TYPE probe_dependency_up gauge\n';
    for (let i = 0; i < views.length; i++) {
      for (const [dependency, up] of views[i]!.result?.dependencies ?? []) {
        piece += `probe_dependency_up{${labels[i]},dependency="${escape(dependency)}"} ${up ? 1 : 0}\n`;
      }
      if (piece.length >= CHUNK_CHARS) {
        yield piece;
        piece = '';
      }
    }
    piece +=
      '# HELP prober_service_down Whether the prober holds the service as down (1): a confirmed down it reported.\n' +
      '# TYPE prober_service_down gauge\n';
    for (let i = 0; i < views.length; i++) {
      const state = this.source.stableState(views[i]!.target.key);
      if (state !== undefined) piece += `prober_service_down{${labels[i]}} ${state === 'down' ? 1 : 0}\n`;
      if (piece.length >= CHUNK_CHARS) {
        yield piece;
        piece = '';
      }
    }
    yield piece;
  }
}

/** About 64 KiB of text per piece: what a socket takes in one write, and nothing per scrape is held whole. */
const CHUNK_CHARS = 64 * 1024;

function labelText(labels: TargetLabels): string {
  return TARGET_LABELS.map((name) => `${name}="${escape(labels[name])}"`).join(',');
}
