import { Counter, Gauge, Registry } from 'prom-client';
import { TARGET_LABELS, type ProbeResult, type Target } from './types.ts';
import { collectProcessMetrics } from '@concierge-ops/shared/metrics';

export interface TargetView {
  readonly target: Target;
  readonly result: ProbeResult | undefined;
}

export interface MetricsSource {
  /** The targets currently in discovery with their latest result. */
  targetViews(): Iterable<TargetView>;
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
] as const;
export type ErrorKind = (typeof ERROR_KINDS)[number];

const DEP_LABELS = [...TARGET_LABELS, 'dependency'] as const;

/**
 * The prober's own Registry. Per-target gauges are rebuilt from the live target map at scrape time, so a
 * target that leaves discovery (or a dependency that leaves the health JSON) loses its series at once.
 */
export class ProberMetrics {
  readonly registry = new Registry();
  readonly probes: Counter<'type' | 'result'>;
  readonly late: Counter;
  readonly errors: Counter<'kind'>;

  constructor(source: MetricsSource, opts: { defaultMetrics: boolean }) {
    const registers = [this.registry];
    const fromTargets = (
      name: string,
      help: string,
      pick: (r: ProbeResult, t: Target) => number | undefined,
    ): Gauge<(typeof TARGET_LABELS)[number]> =>
      new Gauge({
        name,
        help,
        labelNames: TARGET_LABELS,
        registers,
        collect() {
          this.reset();
          for (const { target, result } of source.targetViews()) {
            const v = result && pick(result, target);
            if (v !== undefined) this.set(target.labels, v);
          }
        },
      });

    fromTargets('probe_success', 'Whether the last probe of the service succeeded (1) or not (0).', (r) =>
      r.success ? 1 : 0,
    );
    fromTargets(
      'probe_duration_seconds',
      'How long the last probe took, in seconds.',
      (r) => r.durationSeconds,
    );
    fromTargets('probe_http_status_code', 'HTTP status of the last probe (0 if no response).', (r, t) =>
      t.probeType === 'http' ? (r.httpStatus ?? 0) : undefined,
    );
    fromTargets(
      'probe_ssl_earliest_cert_expiry',
      'Earliest notAfter of the verified TLS chain, unix seconds.',
      (r) => r.certExpiry,
    );
    new Gauge({
      name: 'probe_dependency_up',
      help: 'Whether a dependency in the concierge health JSON reports up (1) or down (0).',
      labelNames: DEP_LABELS,
      registers,
      collect() {
        this.reset();
        for (const { target, result } of source.targetViews()) {
          for (const [dependency, up] of result?.dependencies ?? []) {
            this.set({ ...target.labels, dependency }, up ? 1 : 0);
          }
        }
      },
    });

    this.probes = new Counter({
      name: 'prober_probes_total',
      help: 'Probes run, by probe type and result.',
      labelNames: ['type', 'result'] as const,
      registers,
    });
    for (const type of ['http', 'tcp']) {
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
        const counts = { http: 0, tcp: 0 };
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
    if (opts.defaultMetrics) {
      collectProcessMetrics(this.registry);
    }
  }
}
