/**
 * A kept (sampled) span, recorded here rather than by the SDK's Tracer and Span. sampling.ts decides first
 * whether a span is kept; a kept one becomes a RecordingSpan, which is a ReadableSpan the SDK's own span
 * processors (BatchSpanProcessor) and exporters take as they take the SDK's spans.
 *
 * Why: a kept span is one request in ten, so its code runs cold in a request handler, and there the SDK's
 * startSpan cost about 26 µs and end about 13 µs per span in bench:telemetry-overhead (the ids through a
 * shared Buffer, the sampler and the span metrics it calls even when they are no-ops, the attributes checked
 * twice and copied twice): with three spans a trace, most of what keeping a trace cost the request.
 *
 * The semantics are the SDK's (sdk-trace 2.x SpanImpl), and test/integration/concierge-telemetry-lean.test.ts
 * holds the two side by side: attribute, event and link limits (the provider's spanLimits, default 128 each,
 * value length unlimited), invalid attributes dropped, the status rules (UNSET ignored, OK final, a message
 * only on ERROR), exception events, anything after end ignored, a second end refused. Times as the SDK takes
 * them: the start from the wall clock, the end as the start plus the monotonic clock's duration, so that a
 * span's duration does not jump with the wall clock; explicit times as given.
 */
import {
  SpanStatusCode,
  diag,
  type Attributes,
  type AttributeValue,
  type Context,
  type Exception,
  type HrTime,
  type Link,
  type Span,
  type SpanAttributes,
  type SpanContext,
  type SpanKind,
  type SpanOptions,
  type SpanStatus,
  type TimeInput,
} from '@opentelemetry/api';
import {
  addHrTimes,
  hrTime,
  hrTimeDuration,
  isAttributeValue,
  isTimeInput,
  isTimeInputHrTime,
  millisToHrTime,
  otperformance,
  sanitizeAttributes,
  type InstrumentationScope,
} from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import type { ReadableSpan, SpanLimits, SpanProcessor, TimedEvent } from '@opentelemetry/sdk-trace-base';

// The semantic conventions' names for an exception's attributes, written out: importing them from
// @opentelemetry/semantic-conventions loads its ES module build beside the CommonJS one the SDK requires.
const ATTR_EXCEPTION_MESSAGE = 'exception.message';
const ATTR_EXCEPTION_STACKTRACE = 'exception.stacktrace';
const ATTR_EXCEPTION_TYPE = 'exception.type';

/** What every span of one tracer shares. */
export interface RecordingScope {
  readonly resource: Resource;
  readonly instrumentationScope: InstrumentationScope;
  readonly processors: readonly SpanProcessor[];
  readonly limits: Required<SpanLimits>;
}

/** The SDK's defaults (BasicTracerProvider), used for every limit the provider's config leaves unset. */
export function spanLimits(given: SpanLimits | undefined): Required<SpanLimits> {
  return {
    attributeCountLimit: given?.attributeCountLimit ?? 128,
    attributeValueLengthLimit: given?.attributeValueLengthLimit ?? Infinity,
    eventCountLimit: given?.eventCountLimit ?? 128,
    linkCountLimit: given?.linkCountLimit ?? 128,
    attributePerEventCountLimit: given?.attributePerEventCountLimit ?? 128,
    attributePerLinkCountLimit: given?.attributePerLinkCountLimit ?? 128,
  };
}

const EMPTY_DURATION: HrTime = [-1, -1];

export class RecordingSpan implements Span, ReadableSpan {
  readonly kind: SpanKind;
  readonly attributes: Attributes = {};
  readonly links: Link[] = [];
  readonly events: TimedEvent[] = [];
  status: SpanStatus = { code: SpanStatusCode.UNSET };
  ended = false;
  droppedAttributesCount = 0;
  droppedEventsCount = 0;
  droppedLinksCount = 0;
  private attributeCount = 0;
  /** Wall clock (ms) and monotonic clock at the start; the HrTimes are made from them when first read. */
  private readonly startMs: number;
  private readonly perfStart: number;
  /** The monotonic clock at end(), when the end time was not given (else -1). */
  private perfEnd = -1;
  private start: HrTime | undefined;
  private finish: HrTime | undefined;
  private span: HrTime | undefined;
  private readonly startProvided: boolean;

  constructor(
    public name: string,
    private readonly context: SpanContext,
    readonly parentSpanContext: SpanContext | undefined,
    options: SpanOptions,
    private readonly scope: RecordingScope,
    parentContext: Context,
  ) {
    this.startMs = Date.now();
    this.perfStart = otperformance.now();
    this.startProvided = options.startTime != null;
    this.kind = options.kind ?? 0; // SpanKind.INTERNAL
    if (this.startProvided) this.start = this.time(options.startTime);
    if (options.links) for (const link of options.links) this.addLink(link);
    if (options.attributes) this.setAttributes(options.attributes);
    for (const p of scope.processors) p.onStart(this as never, parentContext);
  }

  get startTime(): HrTime {
    return (this.start ??= millisToHrTime(this.startMs));
  }

  get endTime(): HrTime {
    if (this.finish === undefined && this.perfEnd >= 0)
      this.finish = addHrTimes(this.startTime, millisToHrTime(this.perfEnd - this.perfStart));
    return this.finish ?? [0, 0];
  }

  get duration(): HrTime {
    if (this.span === undefined && this.perfEnd >= 0)
      this.span = hrTimeDuration(this.startTime, this.endTime);
    return this.span ?? EMPTY_DURATION;
  }

  get resource(): Resource {
    return this.scope.resource;
  }

  get instrumentationScope(): InstrumentationScope {
    return this.scope.instrumentationScope;
  }

  spanContext(): SpanContext {
    return this.context;
  }

  isRecording(): boolean {
    return !this.ended;
  }

  setAttribute(key: string, value: AttributeValue): this {
    if (value == null || this.refuseEnded()) return this;
    if (key.length === 0) {
      diag.warn(`Invalid attribute key: ${key}`);
      return this;
    }
    if (!isAttributeValue(value)) {
      diag.warn(`Invalid attribute value set for key: ${key}`);
      return this;
    }
    const isNew = !Object.prototype.hasOwnProperty.call(this.attributes, key);
    if (isNew && this.attributeCount >= this.scope.limits.attributeCountLimit) {
      this.droppedAttributesCount++;
      return this;
    }
    this.attributes[key] = this.truncate(value);
    if (isNew) this.attributeCount++;
    return this;
  }

  setAttributes(attributes: SpanAttributes): this {
    for (const key in attributes)
      if (Object.prototype.hasOwnProperty.call(attributes, key)) this.setAttribute(key, attributes[key]!);
    return this;
  }

  addEvent(name: string, attributesOrTime?: SpanAttributes | TimeInput, time?: TimeInput): this {
    if (this.refuseEnded()) return this;
    const { eventCountLimit, attributePerEventCountLimit } = this.scope.limits;
    if (eventCountLimit === 0) {
      diag.warn('No events allowed.');
      this.droppedEventsCount++;
      return this;
    }
    if (this.events.length >= eventCountLimit) {
      if (this.droppedEventsCount === 0) diag.debug('Dropping extra events.');
      this.events.shift();
      this.droppedEventsCount++;
    }
    let given: SpanAttributes | undefined;
    if (isTimeInput(attributesOrTime)) {
      if (!isTimeInput(time)) time = attributesOrTime;
    } else given = attributesOrTime;
    const { attributes, dropped } = this.limited(sanitizeAttributes(given), attributePerEventCountLimit);
    this.events.push({ name, attributes, time: this.time(time), droppedAttributesCount: dropped });
    return this;
  }

  addLink(link: Link): this {
    if (this.refuseEnded()) return this;
    const { linkCountLimit, attributePerLinkCountLimit } = this.scope.limits;
    if (linkCountLimit === 0) {
      this.droppedLinksCount++;
      return this;
    }
    if (this.links.length >= linkCountLimit) {
      if (this.droppedLinksCount === 0) diag.debug('Dropping extra links.');
      this.links.shift();
      this.droppedLinksCount++;
    }
    const { attributes, dropped, count } = this.limited(
      sanitizeAttributes(link.attributes),
      attributePerLinkCountLimit,
    );
    const kept: Link = { context: link.context };
    if (count > 0) kept.attributes = attributes;
    if (dropped > 0) kept.droppedAttributesCount = dropped;
    this.links.push(kept);
    return this;
  }

  addLinks(links: Link[]): this {
    for (const link of links) this.addLink(link);
    return this;
  }

  setStatus(status: SpanStatus): this {
    if (this.refuseEnded()) return this;
    if (status.code === SpanStatusCode.UNSET || this.status.code === SpanStatusCode.OK) return this;
    const next: SpanStatus = { code: status.code };
    if (status.code === SpanStatusCode.ERROR) {
      if (typeof status.message === 'string') next.message = status.message;
      else if (status.message != null)
        diag.warn(`Dropping invalid status.message of type '${typeof status.message}', expected 'string'`);
    }
    this.status = next;
    return this;
  }

  updateName(name: string): this {
    if (!this.refuseEnded()) this.name = name;
    return this;
  }

  recordException(exception: Exception, time?: TimeInput): void {
    const attributes: Attributes = {};
    if (typeof exception === 'string') attributes[ATTR_EXCEPTION_MESSAGE] = exception;
    else if (exception) {
      if (exception.code) attributes[ATTR_EXCEPTION_TYPE] = exception.code.toString();
      else if (exception.name) attributes[ATTR_EXCEPTION_TYPE] = exception.name;
      if (exception.message) attributes[ATTR_EXCEPTION_MESSAGE] = exception.message;
      if (exception.stack) attributes[ATTR_EXCEPTION_STACKTRACE] = exception.stack;
    }
    if (attributes[ATTR_EXCEPTION_TYPE] || attributes[ATTR_EXCEPTION_MESSAGE])
      this.addEvent('exception', attributes, time);
    else diag.warn(`Failed to record an exception ${String(exception)}`);
  }

  end(endTime?: TimeInput): void {
    if (this.ended) {
      diag.error(
        `${this.name} ${this.context.traceId}-${this.context.spanId} - You can only call end() on a span once.`,
      );
      return;
    }
    if (endTime === undefined && !this.startProvided) {
      // Start plus the monotonic clock's duration, made into HrTimes when read (never negative).
      this.perfEnd = otperformance.now();
    } else {
      this.finish = this.time(endTime);
      this.span = hrTimeDuration(this.startTime, this.finish);
      if (this.span[0] < 0) {
        diag.warn('Inconsistent start and end time, startTime > endTime. Setting span duration to 0ms.');
        this.finish = this.startTime.slice() as HrTime;
        this.span = [0, 0];
      }
    }
    if (this.droppedEventsCount > 0)
      diag.warn(`Dropped ${this.droppedEventsCount} events because eventCountLimit reached`);
    if (this.droppedLinksCount > 0)
      diag.warn(`Dropped ${this.droppedLinksCount} links because linkCountLimit reached`);
    const processors = this.scope.processors;
    for (const p of processors) p.onEnding?.(this as never);
    this.ended = true;
    for (const p of processors) p.onEnd(this);
  }

  /** A time as the SDK's span takes it (a number up to performance.now() is a monotonic-clock time). */
  private time(input?: TimeInput): HrTime {
    // A monotonic-clock time moves by the wall clock's lead over it at the start, as the SDK's span does.
    if (typeof input === 'number')
      return input <= otperformance.now()
        ? hrTime(input + this.startMs - (this.perfStart + otperformance.timeOrigin))
        : millisToHrTime(input);
    if (input instanceof Date) return millisToHrTime(input.getTime());
    if (isTimeInputHrTime(input)) return input;
    if (this.startProvided) return millisToHrTime(Date.now());
    return addHrTimes(this.startTime, millisToHrTime(otperformance.now() - this.perfStart));
  }

  private truncate(value: AttributeValue): AttributeValue {
    const limit = this.scope.limits.attributeValueLengthLimit;
    if (limit <= 0) {
      diag.warn(`Attribute value limit must be positive, got ${limit}`);
      return value;
    }
    if (typeof value === 'string') return value.length <= limit ? value : value.substring(0, limit);
    if (Array.isArray(value))
      return value.map((v) =>
        typeof v === 'string' && v.length > limit ? v.substring(0, limit) : v,
      ) as AttributeValue;
    return value;
  }

  /** An event's or link's attributes within their count limit. */
  private limited(sanitized: Attributes, limit: number) {
    const attributes: Attributes = {};
    let count = 0;
    let dropped = 0;
    for (const key in sanitized) {
      if (!Object.prototype.hasOwnProperty.call(sanitized, key)) continue;
      if (count >= limit) {
        dropped++;
        continue;
      }
      attributes[key] = this.truncate(sanitized[key]!);
      count++;
    }
    return { attributes, dropped, count };
  }

  /** True (with the SDK's warning) once the span has ended: later changes are ignored. */
  private refuseEnded(): boolean {
    if (this.ended)
      diag.warn(
        `Cannot execute the operation on ended Span {traceId: ${this.context.traceId}, spanId: ${this.context.spanId}}`,
      );
    return this.ended;
  }
}
