/**
 * initTelemetry: the one call the concierge runtime makes at start. It builds the SDK's MeterProvider,
 * TracerProvider and LoggerProvider with the instance's resource, wires the export paths (Prometheus pull
 * endpoint and/or OTLP over HTTP) behind the redaction step, and, by default, registers them as the global
 * providers so that the rest of the runtime uses `@opentelemetry/api` (and `@opentelemetry/api-logs`) only.
 */
import {
  context,
  metrics,
  trace,
  type Meter,
  type MeterProvider,
  type Tracer,
  type TracerProvider,
} from '@opentelemetry/api';
import { logs, type Logger, type LoggerProvider as ApiLoggerProvider } from '@opentelemetry/api-logs';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  MeterProvider as SdkMeterProvider,
  PeriodicExportingMetricReader,
  type MetricReader,
} from '@opentelemetry/sdk-metrics';
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { BatchLogRecordProcessor, LoggerProvider } from '@opentelemetry/sdk-logs';
import { AggregatedInstruments } from './aggregated.ts';
import { DeferredLoggerProvider } from './deferred-logs.ts';
import { ConciergeMetrics } from './instruments.ts';
import { PullEndpoint, type PullEndpointOptions } from './prometheus.ts';
import { Redactor, type RedactorOptions } from './redaction.ts';
import { HeadSamplingTracerProvider } from './sampling.ts';
import {
  RedactingLogExporter,
  RedactingSpanExporter,
  metricAttributesProcessor,
} from './redacting-exporters.ts';

export type Signal = 'metrics' | 'traces' | 'logs';

export interface OtlpOptions {
  /** Base URL of an OTLP/HTTP receiver (a Collector: http://collector:4318); `/v1/<signal>` is appended. */
  endpoint?: string;
  /** Per-signal URLs, used as they are (Prometheus's OTLP receiver: http://prometheus:9090/api/v1/otlp/v1/metrics). */
  metricsUrl?: string;
  tracesUrl?: string;
  logsUrl?: string;
  /** Which signals to push. Default: all three, or only those with a URL when `endpoint` is not set. */
  signals?: readonly Signal[];
  /** Sent with every export (e.g. Authorization). Never logged. */
  headers?: Record<string, string>;
  /** How often metrics are pushed, ms. Default 15000. */
  metricsIntervalMs?: number;
  /** Batch delay for spans and logs, ms. Default 5000. */
  batchDelayMs?: number;
  /** Per export request, ms. Default 10000. */
  timeoutMs?: number;
}

export interface TelemetryOptions {
  /** The client's slug, as in the control plane (lower-case letters, digits, -). */
  client: string;
  /** The instance's slug, as in the control plane. */
  instance: string;
  /** service.name; `concierge` makes the series land in job="concierge" on a Prometheus OTLP receiver. */
  serviceName?: string;
  serviceVersion?: string;
  /** deployment.environment.name. Default `production`. */
  environment?: string;
  /** The pull endpoint; `false` for none. Default: port 9464 on all interfaces. */
  prometheus?: false | PullEndpointOptions;
  /** OTLP over HTTP (JSON); `false` or absent for none. */
  otlp?: false | OtlpOptions;
  redaction?: RedactorOptions;
  /**
   * Share of new traces kept (head sampling, parent-based). Default 0.1: metrics count every request, so
   * one trace in ten is plenty to investigate with, and an unsampled span costs next to nothing
   * (bench:telemetry-overhead prints both figures). Set 1, with traceRateLimit Infinity, to keep every trace.
   */
  traceSampleRatio?: number;
  /**
   * At most this many new traces kept per second (a token bucket of one second's worth), whatever the ratio
   * would keep. Default 10: a practice's concierge sees a few requests a second, where the ratio alone
   * decides; at a thousand a second the ratio alone would keep a hundred traces a second (about 2 % of the
   * handler's CPU in bench:telemetry-overhead, and ten times the traces for the collector to store), where ten
   * are plenty to investigate with. As AWS X-Ray's reservoir and Jaeger's rate-limiting sampler bound the
   * same cost. `Infinity` for no limit. Children of a kept trace are always kept.
   */
  traceRateLimit?: number;
  /** Register as the global providers (what `@opentelemetry/api` returns). Default true. */
  registerGlobal?: boolean;
  /**
   * How a span's parent reaches its children. `async` (default) registers the AsyncLocalStorage context
   * manager, so `startActiveSpan` and `context.with` carry the active span across awaits. On Node 20 that
   * manager, once any `context.with` ran (the exporters run one per export), puts an async hook on every
   * promise and async resource of the process: about a tenth of a concierge request handler's CPU in
   * bench:telemetry-overhead. `explicit` registers none: the runtime hands the parent on itself
   * (`tracer.startSpan(name, opts, trace.setSpan(ctx, parent))`, as the concierge runtime and the demo do),
   * and `context.active()` is always the root context.
   */
  contextPropagation?: 'async' | 'explicit';
}

export interface Telemetry {
  /** The concierge's instruments (documented in the README). */
  readonly metrics: ConciergeMetrics;
  readonly meter: Meter;
  readonly tracer: Tracer;
  readonly logger: Logger;
  readonly meterProvider: MeterProvider;
  readonly tracerProvider: TracerProvider;
  readonly loggerProvider: ApiLoggerProvider;
  readonly redactor: Redactor;
  /** The pull endpoint's URL once listening (`http://127.0.0.1:9464/metrics`), if any. */
  readonly metricsUrl: string | undefined;
  /** The exposition text the pull endpoint serves. */
  prometheusText(): Promise<string>;
  /** Pushes everything buffered now (OTLP). */
  forceFlush(): Promise<void>;
  shutdown(): Promise<void>;
}

export const DEFAULT_TRACE_SAMPLE_RATIO = 0.1;
export const DEFAULT_TRACE_RATE_LIMIT = 10;
const SLUG = /^[a-z0-9][a-z0-9-]{0,62}$/;
const SCOPE = 'concierge-telemetry';
const VERSION = '0.1.0';

/** Throws a TypeError naming every bad option (a runtime must not start half-instrumented). */
export function validateOptions(o: TelemetryOptions): void {
  const problems: string[] = [];
  if (typeof o.client !== 'string' || !SLUG.test(o.client))
    problems.push('client must be a slug (a-z, 0-9, -)');
  if (typeof o.instance !== 'string' || !SLUG.test(o.instance))
    problems.push('instance must be a slug (a-z, 0-9, -)');
  if (o.environment !== undefined && !/^[a-z0-9][a-z0-9-]{0,31}$/.test(o.environment))
    problems.push('environment must be a short slug');
  if (o.traceSampleRatio !== undefined && !(o.traceSampleRatio >= 0 && o.traceSampleRatio <= 1))
    problems.push('traceSampleRatio must be between 0 and 1');
  if (o.traceRateLimit !== undefined && !(typeof o.traceRateLimit === 'number' && o.traceRateLimit > 0))
    problems.push('traceRateLimit must be a number of traces per second above 0 (Infinity for no limit)');
  if (o.contextPropagation !== undefined && !['async', 'explicit'].includes(o.contextPropagation))
    problems.push('contextPropagation must be async or explicit');
  if (o.prometheus) {
    const p = o.prometheus.port;
    if (p !== undefined && !(Number.isInteger(p) && p >= 0 && p <= 65535))
      problems.push('prometheus.port must be an integer 0-65535');
  }
  if (o.otlp) {
    for (const k of ['endpoint', 'metricsUrl', 'tracesUrl', 'logsUrl'] as const) {
      const v = o.otlp[k];
      if (v !== undefined && !isHttpUrl(v)) problems.push(`otlp.${k} must be an http(s) URL`);
    }
    for (const s of o.otlp.signals ?? [])
      if (!['metrics', 'traces', 'logs'].includes(s))
        problems.push('otlp.signals may hold metrics, traces, logs');
    if (!o.otlp.endpoint && !o.otlp.metricsUrl && !o.otlp.tracesUrl && !o.otlp.logsUrl)
      problems.push('otlp needs endpoint or a per-signal URL');
  }
  if (problems.length > 0) throw new TypeError(`initTelemetry: ${problems.join('; ')}`);
}

function isHttpUrl(v: string): boolean {
  try {
    return ['http:', 'https:'].includes(new URL(v).protocol);
  } catch {
    return false;
  }
}

function otlpUrl(o: OtlpOptions, signal: Signal): string | undefined {
  const own = { metrics: o.metricsUrl, traces: o.tracesUrl, logs: o.logsUrl }[signal];
  const url = own ?? (o.endpoint ? `${o.endpoint.replace(/\/+$/, '')}/v1/${signal}` : undefined);
  if (url === undefined || (o.signals && !o.signals.includes(signal))) return undefined;
  return url;
}

export async function initTelemetry(options: TelemetryOptions): Promise<Telemetry> {
  validateOptions(options);
  const redactor = new Redactor(options.redaction);
  const resource = resourceFromAttributes({
    // Semantic-convention names written out, as in recording-span.ts.
    'service.name': options.serviceName ?? 'concierge',
    'service.version': options.serviceVersion ?? VERSION,
    // Incubating semantic conventions (service.instance.id becomes `instance` on a Prometheus OTLP receiver).
    'service.instance.id': options.instance,
    'deployment.environment.name': options.environment ?? 'production',
    client: options.client,
    instance: options.instance,
  });
  const otlp = options.otlp || undefined;
  const timeoutMillis = otlp?.timeoutMs ?? 10_000;
  const headers = otlp?.headers ?? {};
  const metricsUrl = otlp && otlpUrl(otlp, 'metrics');
  const tracesUrl = otlp && otlpUrl(otlp, 'traces');
  const logsUrl = otlp && otlpUrl(otlp, 'logs');
  // The OTLP exporters (with the transformer and export machinery they share: a quarter of the SDK's modules)
  // load only for a signal that is pushed, so a runtime that serves only the pull endpoint never pays for them
  // (bench:startup: the demo fleet's start and resident memory).
  const [metricsOtlp, tracesOtlp, logsOtlp] = await Promise.all([
    metricsUrl ? import('@opentelemetry/exporter-metrics-otlp-http') : undefined,
    tracesUrl ? import('@opentelemetry/exporter-trace-otlp-http') : undefined,
    logsUrl ? import('@opentelemetry/exporter-logs-otlp-http') : undefined,
  ]);

  // The concierge's own instruments are aggregated in place and reach every reader through its producer.
  const aggregated = new AggregatedInstruments({ name: SCOPE, version: VERSION });
  const metricProducers = [aggregated.producer];
  const readers: MetricReader[] = [];
  let pull: PullEndpoint | undefined;
  if (options.prometheus !== false) {
    pull = new PullEndpoint(metricProducers);
    readers.push(pull.reader as unknown as MetricReader);
  }
  if (metricsUrl && metricsOtlp) {
    readers.push(
      new PeriodicExportingMetricReader({
        exporter: new metricsOtlp.OTLPMetricExporter({ url: metricsUrl, headers, timeoutMillis }) as never,
        exportIntervalMillis: otlp?.metricsIntervalMs ?? 15_000,
        exportTimeoutMillis: Math.min(timeoutMillis, otlp?.metricsIntervalMs ?? 15_000),
        metricProducers,
      }),
    );
  }
  const meterProvider = new SdkMeterProvider({
    resource,
    readers,
    // One wildcard View: every instrument's labels pass the allowlist (histogram buckets come from each
    // instrument's advice, which the default aggregation honours).
    views: [{ instrumentName: '*', attributesProcessors: [metricAttributesProcessor(redactor)] }],
  });

  // Parent-based head sampling at traceSampleRatio, at most traceRateLimit new traces a second, decided before
  // a span is built (sampling.ts); kept spans are recorded there (recording-span.ts) and reach the SDK's
  // BatchSpanProcessor as the SDK's own would.
  const tracerProvider = new HeadSamplingTracerProvider({
    ratio: options.traceSampleRatio ?? DEFAULT_TRACE_SAMPLE_RATIO,
    rateLimit: options.traceRateLimit ?? DEFAULT_TRACE_RATE_LIMIT,
    resource: resource as never,
    spanProcessors:
      tracesOtlp && tracesUrl
        ? [
            new BatchSpanProcessor(
              new RedactingSpanExporter(
                new tracesOtlp.OTLPTraceExporter({ url: tracesUrl, headers, timeoutMillis }),
                redactor,
              ),
              { scheduledDelayMillis: otlp?.batchDelayMs ?? 5000, exportTimeoutMillis: timeoutMillis },
            ) as never,
          ]
        : [],
  });

  const sdkLoggerProvider = new LoggerProvider({
    resource,
    processors:
      logsOtlp && logsUrl
        ? [
            new BatchLogRecordProcessor({
              exporter: new RedactingLogExporter(
                new logsOtlp.OTLPLogExporter({ url: logsUrl, headers, timeoutMillis }),
                redactor,
              ),
              scheduledDelayMillis: otlp?.batchDelayMs ?? 5000,
              exportTimeoutMillis: timeoutMillis,
            }),
          ]
        : [],
  });
  // Records reach the SDK in batches, at most a second (or the batch delay) after emit (deferred-logs.ts).
  const loggerProvider = new DeferredLoggerProvider(
    sdkLoggerProvider,
    Math.min(1000, otlp?.batchDelayMs ?? 5000),
  );

  const url = pull ? await pull.start(options.prometheus || {}) : undefined;
  const global = options.registerGlobal ?? true;
  if (global) {
    metrics.setGlobalMeterProvider(meterProvider);
    // null: no context manager at all (contextPropagation 'explicit').
    tracerProvider.register(options.contextPropagation === 'explicit' ? { contextManager: null } : {});
    logs.setGlobalLoggerProvider(loggerProvider);
  }
  const meter = meterProvider.getMeter(SCOPE, VERSION);
  let stopped = false;
  return {
    metrics: new ConciergeMetrics(aggregated),
    meter,
    tracer: tracerProvider.getTracer(SCOPE, VERSION),
    logger: loggerProvider.getLogger(SCOPE, VERSION),
    meterProvider,
    tracerProvider,
    loggerProvider,
    redactor,
    metricsUrl: url,
    prometheusText: () => (pull ? pull.metrics() : Promise.resolve('')),
    async forceFlush() {
      await Promise.all([
        meterProvider.forceFlush(),
        tracerProvider.forceFlush(),
        loggerProvider.forceFlush(),
      ]);
    },
    async shutdown() {
      if (stopped) return;
      stopped = true;
      await Promise.allSettled([tracerProvider.shutdown(), loggerProvider.shutdown()]);
      await meterProvider.shutdown().catch(() => undefined);
      await pull?.stop();
      if (global) {
        metrics.disable();
        trace.disable();
        logs.disable();
        // The context manager register() set (none with contextPropagation 'explicit').
        context.disable();
      }
    },
  };
}
