/**
 * Redaction at the last moment before bytes leave the process. Spans are read-only once ended, so the span
 * exporter is wrapped and each span is copied with its name, attributes, events, links and status scrubbed;
 * logs likewise. Metrics are scrubbed earlier, by a View's attribute processor, so that a bad label value
 * never even becomes a series in memory.
 */
import type { Attributes, Link, SpanStatus } from '@opentelemetry/api';
import type { IAttributesProcessor } from '@opentelemetry/sdk-metrics';
import type { ReadableSpan, SpanExporter, TimedEvent } from '@opentelemetry/sdk-trace-base';
import type { LogRecordExporter, ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { AnyValue, LogBody } from '@opentelemetry/api-logs';
import type { Redactor } from './redaction.ts';

export function metricAttributesProcessor(redactor: Redactor): IAttributesProcessor {
  return { process: (incoming) => redactor.metricAttributes(incoming) };
}

export class RedactingSpanExporter implements SpanExporter {
  constructor(
    private readonly inner: SpanExporter,
    private readonly redactor: Redactor,
  ) {}

  export(spans: ReadableSpan[], done: Parameters<SpanExporter['export']>[1]): void {
    this.inner.export(
      spans.map((s) => this.span(s)),
      done,
    );
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }

  span(s: ReadableSpan): ReadableSpan {
    const r = this.redactor;
    const status: SpanStatus = { code: s.status.code };
    if (s.status.message) status.message = r.text(s.status.message);
    return {
      name: r.name(s.name),
      kind: s.kind,
      // Bound, not a closure: a named closure per span costs a property definition under tsx (keepNames).
      spanContext: s.spanContext.bind(s),
      parentSpanContext: s.parentSpanContext,
      startTime: s.startTime,
      endTime: s.endTime,
      status,
      attributes: r.attributes(s.attributes),
      links: s.links.map((l): Link => ({
        context: l.context,
        attributes: r.attributes(l.attributes),
        droppedAttributesCount: l.droppedAttributesCount,
      })),
      events: s.events.map((e) => this.event(e)),
      duration: s.duration,
      ended: s.ended,
      resource: s.resource,
      instrumentationScope: s.instrumentationScope,
      droppedAttributesCount: s.droppedAttributesCount,
      droppedEventsCount: s.droppedEventsCount,
      droppedLinksCount: s.droppedLinksCount,
    };
  }

  private event(e: TimedEvent): TimedEvent {
    const attributes: Attributes = this.redactor.attributes(e.attributes);
    const stack = e.attributes?.['exception.stacktrace'];
    if (e.name === 'exception' && typeof stack === 'string') {
      attributes['exception.stacktrace'] = this.redactor.stack(stack);
    }
    return {
      name: this.redactor.name(e.name),
      time: e.time,
      attributes,
      droppedAttributesCount: e.droppedAttributesCount ?? 0,
    };
  }
}

export class RedactingLogExporter implements LogRecordExporter {
  constructor(
    private readonly inner: LogRecordExporter,
    private readonly redactor: Redactor,
  ) {}

  export(logs: ReadableLogRecord[], done: Parameters<LogRecordExporter['export']>[1]): void {
    this.inner.export(
      logs.map((l) => this.record(l)),
      done,
    );
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }

  record(l: ReadableLogRecord): ReadableLogRecord {
    const r = this.redactor;
    return {
      hrTime: l.hrTime,
      hrTimeObserved: l.hrTimeObserved,
      spanContext: l.spanContext,
      severityText: l.severityText,
      severityNumber: l.severityNumber,
      body: l.body === undefined ? undefined : this.body(l.body),
      eventName: l.eventName === undefined ? undefined : r.name(l.eventName),
      resource: l.resource,
      instrumentationScope: l.instrumentationScope,
      attributes: r.attributes(l.attributes as Attributes),
      droppedAttributesCount: l.droppedAttributesCount,
    };
  }

  /** A string body passes if it is an identifier (an event name); anything else, structured or not, is hashed. */
  private body(body: LogBody): AnyValue {
    if (typeof body === 'string') return this.redactor.text(body);
    if (typeof body === 'number' || typeof body === 'boolean') return body;
    return this.redactor.hash(JSON.stringify(body) ?? '');
  }
}
