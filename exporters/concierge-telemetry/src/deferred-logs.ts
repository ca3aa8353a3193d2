/**
 * Log records handed to the SDK in batches. The SDK builds a record (timestamps, trace context, attribute
 * checks, its own metrics, the processor's buffer) when `emit` is called; in a request handler that code runs
 * cold, between everything else the request does, and bench:telemetry-overhead measured it at tens of
 * microseconds per record. Here `emit` only keeps what the SDK would have taken at that moment (the time, the
 * context, a copy of the attributes), and the SDK builds the queued records together, in one warm loop, at
 * most `delayMs` later. Processors, redaction and export are the SDK's, unchanged; forceFlush and shutdown
 * hand the queue over first.
 */
import { context as contextApi } from '@opentelemetry/api';
import type { LogRecord, Logger, LoggerOptions, LoggerProvider } from '@opentelemetry/api-logs';

interface Sdk extends LoggerProvider {
  forceFlush(): Promise<void>;
  shutdown(): Promise<void>;
}

/** As the SDK's BatchLogRecordProcessor: beyond this many waiting records, new ones are dropped. */
const MAX_QUEUE = 2048;

export class DeferredLoggerProvider implements LoggerProvider {
  private readonly loggers = new Map<string, Logger>();
  private queue: Array<{ logger: Logger; record: LogRecord }> = [];
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** Records dropped because the queue was full. */
  dropped = 0;

  constructor(
    private readonly sdk: Sdk,
    private readonly delayMs: number,
  ) {}

  getLogger(name: string, version?: string, options?: LoggerOptions): Logger {
    const key = `${name}@${version ?? ''}:${options?.schemaUrl ?? ''}`;
    let logger = this.loggers.get(key);
    if (!logger) {
      const inner = this.sdk.getLogger(name, version, options);
      logger = {
        emit: (record) => this.enqueue(inner, record),
        enabled: (o) => !this.stopped && inner.enabled(o),
      };
      this.loggers.set(key, logger);
    }
    return logger;
  }

  private enqueue(logger: Logger, r: LogRecord): void {
    if (this.stopped) return;
    if (this.queue.length >= MAX_QUEUE) {
      this.dropped++;
      return;
    }
    const now = Date.now();
    // Field by field, not `{ ...r, timestamp, ... }`: V8 builds a spread followed by more properties on a
    // slow path, and in a request handler that one line cost about 25 µs per record (bench:telemetry-overhead).
    const record: LogRecord = {
      eventName: r.eventName,
      timestamp: r.timestamp ?? now,
      observedTimestamp: r.observedTimestamp ?? now,
      severityNumber: r.severityNumber,
      severityText: r.severityText,
      body: r.body,
      attributes: r.attributes && { ...r.attributes },
      exception: r.exception,
      context: r.context ?? contextApi.active(),
    };
    this.queue.push({ logger, record });
    this.timer ??= setTimeout(() => this.flushQueue(), this.delayMs).unref();
  }

  /** Hands every waiting record to the SDK now. */
  flushQueue(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const queue = this.queue;
    this.queue = [];
    for (const { logger, record } of queue) logger.emit(record);
  }

  forceFlush(): Promise<void> {
    this.flushQueue();
    return this.sdk.forceFlush();
  }

  shutdown(): Promise<void> {
    this.flushQueue();
    this.stopped = true;
    return this.sdk.shutdown();
  }
}
