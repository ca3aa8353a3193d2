/**
 * Head sampling before any span is built. The SDK's Tracer builds every span it is asked for up to its
 * sampling decision (ids, a sanitised copy of the attributes, the sampler call, its own span metrics), even the
 * nine in ten that are then dropped; in bench:telemetry-overhead that was the larger part of what telemetry
 * cost a request. Here the decision comes first, with the SDK's parent-based rules:
 *   - a child of an unsampled parent (local or remote) is not sampled: a non-recording span with the parent's
 *     trace id and state and a span id of its own, as the SDK would return (the ids are drawn when first read:
 *     LazySpanContext);
 *   - a child of a sampled parent is kept;
 *   - a root is kept with probability `ratio`, and while at most `rateLimit` roots a second are kept
 *     (TraceBudget); else it gets a fresh trace id, unsampled, so that what it calls downstream carries
 *     "not sampled" and the whole trace is dropped consistently.
 * A kept span is recorded by RecordingSpan (recording-span.ts), with the SDK's span semantics, and handed to
 * the provider's span processors; the SDK's Tracer is not called (its startSpan alone cost a kept span about
 * 26 µs in the request handler). Its ids too are drawn when first read, mostly by the exporter.
 * With tracing suppressed (an exporter's own requests) a kept span is an invalid non-recording one, as the SDK
 * gives; a span decided unsampled here is non-recording too, with a valid unsampled context: nothing is
 * recorded either way.
 * No function is made per call on these paths: run through tsx (esbuild's keepNames), a named closure made in
 * a function costs a property definition each time it is made, which in a hot loop multiplied an unsampled
 * span's cost by about five.
 */
import {
  context as contextApi,
  trace,
  INVALID_SPAN_CONTEXT,
  TraceFlags,
  type Context,
  type Span,
  type SpanContext,
  type SpanOptions,
  type Tracer,
  type TracerOptions,
  type TraceState,
} from '@opentelemetry/api';
import { isTracingSuppressed } from '@opentelemetry/core';
import { defaultResource } from '@opentelemetry/resources';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { RecordingSpan, spanLimits, type RecordingScope } from './recording-span.ts';

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** `bytes` (a multiple of 4) random bytes as lower-case hex, never all zero (an invalid id). */
function randomId(bytes: number): string {
  for (;;) {
    let s = '';
    let any = 0;
    for (let i = 0; i < bytes; i += 4) {
      const n = (Math.random() * 0x100000000) >>> 0;
      any |= n;
      s += HEX[n >>> 24]! + HEX[(n >>> 16) & 255]! + HEX[(n >>> 8) & 255]! + HEX[n & 255]!;
    }
    if (any !== 0) return s;
  }
}

/**
 * A span context made here, sampled (kept) or not. Its ids are drawn when something first reads them (an
 * exporter, a propagator injecting traceparent, a log record taking the trace context): most unsampled spans
 * are never propagated, and a kept span's ids are mostly first read when its batch is exported, away from the
 * request. A child reads its trace id from its parent, so a trace keeps one trace id however late it is
 * drawn. Reads as a plain SpanContext (getters; toJSON for serialisation).
 */
class LazySpanContext implements SpanContext {
  private trace: string | undefined;
  private span: string | undefined;

  constructor(
    private readonly parent: SpanContext | undefined,
    readonly traceState: TraceState | undefined,
    readonly traceFlags: TraceFlags,
  ) {}

  get traceId(): string {
    return (this.trace ??= this.parent ? this.parent.traceId : randomId(16));
  }

  get spanId(): string {
    return (this.span ??= randomId(8));
  }

  toJSON(): SpanContext {
    return {
      traceId: this.traceId,
      spanId: this.spanId,
      traceFlags: this.traceFlags,
      traceState: this.traceState,
    };
  }
}

/**
 * At most `perSecond` new traces kept per second, as a token bucket holding a second's worth (at least one):
 * a root the ratio would keep is dropped when the bucket is empty. Only roots take a token; a kept trace's
 * children are kept whatever the bucket holds, so no trace is cut in half. The clock is read only for roots
 * the ratio keeps.
 */
export class TraceBudget {
  private tokens: number;
  private last: number;
  private readonly capacity: number;

  constructor(
    private readonly perSecond: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.capacity = Math.max(1, perSecond);
    this.tokens = this.capacity;
    this.last = now();
  }

  take(): boolean {
    if (this.perSecond === Infinity) return true;
    const now = this.now();
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.last) * this.perSecond) / 1000);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens--;
    return true;
  }
}

const unsampled = (parent: SpanContext | undefined) =>
  trace.wrapSpanContext(new LazySpanContext(parent, parent?.traceState, TraceFlags.NONE));

export class HeadSamplingTracer implements Tracer {
  constructor(
    private readonly scope: RecordingScope,
    private readonly ratio: number,
    private readonly budget: TraceBudget,
  ) {}

  startSpan(name: string, options: SpanOptions = {}, ctx: Context = contextApi.active()): Span {
    const parent = options.root ? undefined : trace.getSpanContext(ctx);
    // Under a span made here: valid by construction (its ids may not exist yet), so not read to check.
    if (parent && (parent instanceof LazySpanContext || trace.isSpanContextValid(parent)))
      return (parent.traceFlags & TraceFlags.SAMPLED) !== 0
        ? this.record(name, options, ctx, parent)
        : unsampled(parent);
    if ((this.ratio >= 1 || (this.ratio > 0 && Math.random() < this.ratio)) && this.budget.take())
      return this.record(name, options, options.root ? trace.deleteSpan(ctx) : ctx, undefined);
    return unsampled(undefined);
  }

  /** A kept span: a child of `parent` (valid and sampled) or a new trace's root. */
  private record(name: string, options: SpanOptions, ctx: Context, parent: SpanContext | undefined): Span {
    if (isTracingSuppressed(ctx)) return trace.wrapSpanContext(INVALID_SPAN_CONTEXT);
    const context = new LazySpanContext(parent, parent?.traceState, TraceFlags.SAMPLED);
    return new RecordingSpan(name, context, parent, options, this.scope, ctx);
  }

  startActiveSpan<F extends (span: Span) => unknown>(name: string, fn: F): ReturnType<F>;
  startActiveSpan<F extends (span: Span) => unknown>(
    name: string,
    options: SpanOptions,
    fn: F,
  ): ReturnType<F>;
  startActiveSpan<F extends (span: Span) => unknown>(
    name: string,
    options: SpanOptions,
    ctx: Context,
    fn: F,
  ): ReturnType<F>;
  startActiveSpan<F extends (span: Span) => unknown>(
    name: string,
    a?: SpanOptions | F,
    b?: Context | F,
    c?: F,
  ): ReturnType<F> {
    const fn = (c ?? (typeof b === 'function' ? b : a)) as F;
    const options = typeof a === 'function' ? undefined : a;
    const parent = typeof b === 'object' ? b : contextApi.active();
    const span = this.startSpan(name, options, parent);
    return contextApi.with(trace.setSpan(parent, span), fn as (s: Span) => ReturnType<F>, undefined, span);
  }
}

type ProviderConfig = Omit<NonNullable<ConstructorParameters<typeof NodeTracerProvider>[0]>, 'sampler'>;

/**
 * The SDK's Node tracer provider (its span processors, register, forceFlush and shutdown) whose tracers sample
 * first and record kept spans themselves (HeadSamplingTracer). Registered as the global provider, so tracers
 * the runtime got from `@opentelemetry/api` before initTelemetry sample the same way. Its resource, span
 * processors and span limits are the ones its spans use.
 */
export class HeadSamplingTracerProvider extends NodeTracerProvider {
  private readonly tracers = new Map<string, Tracer>();
  private readonly ratio: number;
  private readonly budget: TraceBudget;
  private readonly shared: Omit<RecordingScope, 'instrumentationScope'>;

  /** `ratio`: share of new traces kept; `rateLimit`: at most this many kept per second (default no limit). */
  constructor(config: ProviderConfig & { ratio: number; rateLimit?: number }) {
    super(config);
    this.ratio = config.ratio;
    // One budget for the provider: the limit is the instance's, whichever tracer starts the trace.
    this.budget = new TraceBudget(config.rateLimit ?? Infinity);
    this.shared = {
      resource: config.resource ?? defaultResource(),
      processors: config.spanProcessors ?? [],
      limits: spanLimits(config.spanLimits),
    };
  }

  override getTracer(name: string, version?: string, options?: TracerOptions): Tracer {
    const key = `${name}@${version ?? ''}:${options?.schemaUrl ?? ''}`;
    let t = this.tracers.get(key);
    if (!t) {
      const instrumentationScope = { name, version, schemaUrl: options?.schemaUrl };
      t = new HeadSamplingTracer({ ...this.shared, instrumentationScope }, this.ratio, this.budget);
      this.tracers.set(key, t);
    }
    return t;
  }
}
