import assert from 'node:assert/strict';
import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  trace,
  type Tracer,
  type Context,
  type Span,
  type SpanContext,
} from '@opentelemetry/api';
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-base';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  CHANNELS,
  ConciergeMetrics,
  PullEndpoint,
  DEFAULT_TRACE_RATE_LIMIT,
  Redactor,
  initTelemetry,
} from '../../exporters/concierge-telemetry/src/index.ts';
import { DeferredLoggerProvider } from '../../exporters/concierge-telemetry/src/deferred-logs.ts';
import {
  RedactingSpanExporter,
  metricAttributesProcessor,
} from '../../exporters/concierge-telemetry/src/redacting-exporters.ts';
import { HeadSamplingTracerProvider, TraceBudget } from '../../exporters/concierge-telemetry/src/sampling.ts';

/** A varied sequence, with values the catalog does not allow and values the SDK drops. */
function record(m: ConciergeMetrics) {
  for (const channel of CHANNELS) {
    for (let i = 0; i < 7; i++) m.request(channel, i % 3 === 0 ? 'error' : 'ok');
    m.conversationStarted(channel);
    for (const s of [0.05, 0.1, 0.1000001, 0.3, 2, 12]) m.aiTurn(channel, 'ok', s);
    for (const s of [0.02, 0.5, 0.5000001, 11]) m.apiResponded(channel, s > 10 ? 'error' : 'ok', s);
    m.crisisResponded(channel, 0.05);
    m.crisisResponded(channel, 0.2);
    m.escalated(channel, 'crisis');
    m.appointment('booked', channel);
  }
  m.conversationEnded('voice', 'resolved', 95);
  m.conversationEnded('sms', 'escalated');
  m.conversationEnded('web', 'abandoned');
  m.dependencyRequest('openemr', 'ok', 0.01);
  m.dependencyRequest('twilio', 'error', 0.3);
  m.dependencyRequest('voice_ai', 'timeout', 50);
  m.escalated('sms', 'billing');
  // Outside the catalog: every one of these becomes `other`, and so share one series per metric.
  m.request('+16175550123' as never, 'ok');
  m.request('carrier-pigeon' as never, 'jane@example.com' as never);
  m.dependencyRequest('Jane Doe' as never, 'ok', 0.2);
  // Dropped, as the SDK drops them: a negative count, a negative or NaN duration.
  m.request('sms', 'ok');
  m.aiTurn('sms', 'ok', -1);
  m.aiTurn('sms', 'ok', NaN);
  m.appointment('cancelled', 'web');
}

/** The concierge series of an exposition, as sorted lines (the order of series is not part of the format). */
const series = (text: string) =>
  text
    .split('\n')
    .filter((l) => /^(# (HELP|TYPE) )?concierge_/.test(l))
    .sort();

describe('concierge-telemetry: aggregated instruments', () => {
  it('expose exactly what the same records through SDK instruments would', async () => {
    const telemetry = await initTelemetry({
      client: 'acme',
      instance: 'acme-prod',
      prometheus: { port: 0, host: '127.0.0.1' },
      registerGlobal: false,
    });
    // The SDK path: API instruments on a MeterProvider with the redaction View, read by the same endpoint.
    const pull = new PullEndpoint();
    const provider = new MeterProvider({
      readers: [pull.reader as never],
      views: [{ instrumentName: '*', attributesProcessors: [metricAttributesProcessor(new Redactor())] }],
    });
    try {
      record(telemetry.metrics);
      record(new ConciergeMetrics(provider.getMeter('concierge-telemetry', '0.1.0')));
      const aggregated = series(await telemetry.prometheusText());
      const sdk = series(await pull.metrics());
      assert.ok(sdk.length > 100, `the SDK path exposed ${sdk.length} lines`);
      assert.deepEqual(aggregated, sdk);
      // and what the comparison covers: `other` in place of what the catalog does not allow
      assert.ok(aggregated.includes('concierge_requests_total{channel="other",outcome="ok"} 1'));
      assert.ok(aggregated.includes('concierge_requests_total{channel="other",outcome="other"} 1'));
      assert.ok(aggregated.includes('concierge_requests_total{channel="sms",outcome="ok"} 5'));
      assert.ok(
        aggregated.includes(
          'concierge_ai_turn_duration_seconds_bucket{channel="sms",outcome="ok",le="0.1"} 2',
        ),
      );
      // 0.5 s is the API objective's bucket bound: an answer of exactly 0.5 s counts as within it.
      assert.ok(
        aggregated.includes(
          'concierge_api_response_duration_seconds_bucket{channel="web",outcome="ok",le="0.5"} 2',
        ),
      );
      assert.doesNotMatch(aggregated.join('\n'), /6175550123|jane|Jane/);
    } finally {
      await provider.shutdown();
      await telemetry.shutdown();
    }
  });
});

describe('concierge-telemetry: head sampling', () => {
  const exporter = new InMemorySpanExporter();
  const provider = (ratio: number, rateLimit?: number) =>
    new HeadSamplingTracerProvider({
      ratio,
      rateLimit,
      spanProcessors: [new SimpleSpanProcessor(exporter)],
    });
  const within = (parent: Span | SpanContext): Context =>
    'spanContext' in parent
      ? trace.setSpan(ROOT_CONTEXT, parent)
      : trace.setSpanContext(ROOT_CONTEXT, parent);
  afterEach(() => exporter.reset());

  it('keeps the given share of traces, each whole: a kept root keeps its children, a dropped one drops them', () => {
    const tracer = provider(0.25).getTracer('test');
    const dropped: Array<{ root: SpanContext; child: SpanContext }> = [];
    for (let i = 0; i < 4000; i++) {
      const root = tracer.startSpan('turn', { attributes: { channel: 'sms' } });
      const child = tracer.startSpan('dependency', {}, within(root));
      if (!root.isRecording()) dropped.push({ root: root.spanContext(), child: child.spanContext() });
      assert.equal(child.isRecording(), root.isRecording());
      child.end();
      root.end();
    }
    const spans = exporter.getFinishedSpans();
    const roots = spans.filter((s) => s.name === 'turn');
    const children = spans.filter((s) => s.name === 'dependency');
    // 1000 expected; the binomial's standard deviation is 27, so this bound is more than 7 of them away
    assert.ok(roots.length > 800 && roots.length < 1200, `${roots.length} of 4000 roots kept`);
    assert.equal(children.length, roots.length);
    const kept = new Set(roots.map((r) => r.spanContext().spanId));
    for (const c of children) assert.ok(kept.has(c.parentSpanContext!.spanId));
    // A dropped trace still has ids (what it calls downstream carries "not sampled" on that trace).
    assert.equal(dropped.length, 4000 - roots.length);
    for (const { root, child } of dropped.slice(0, 50)) {
      assert.ok(trace.isSpanContextValid(root) && trace.isSpanContextValid(child));
      assert.equal(root.traceFlags, TraceFlags.NONE);
      assert.equal(child.traceId, root.traceId);
      assert.notEqual(child.spanId, root.spanId);
    }
    assert.equal(new Set(dropped.map((d) => d.root.traceId)).size, dropped.length);
  });

  it('gives a dropped trace one trace id whichever span is read first, and serialises its contexts whole', () => {
    const tracer = provider(0).getTracer('test');
    const root = tracer.startSpan('turn');
    const child = tracer.startSpan('dependency', {}, within(root));
    const grandchild = tracer.startSpan('query', {}, within(child));
    // Read from the bottom up: the ids are drawn when first read, and still agree.
    const traceId = grandchild.spanContext().traceId;
    assert.match(traceId, /^[0-9a-f]{32}$/);
    assert.equal(child.spanContext().traceId, traceId);
    assert.equal(root.spanContext().traceId, traceId);
    const spanIds = [root, child, grandchild].map((s) => s.spanContext().spanId);
    for (const id of spanIds) assert.match(id, /^[0-9a-f]{16}$/);
    assert.equal(new Set(spanIds).size, 3);
    // Stable once read, and whole when serialised (a log line or a header carrying the context).
    assert.equal(child.spanContext().spanId, spanIds[1]);
    assert.deepEqual(JSON.parse(JSON.stringify(child.spanContext())), {
      traceId,
      spanId: spanIds[1],
      traceFlags: TraceFlags.NONE,
    });
    assert.equal(exporter.getFinishedSpans().length, 0);
  });

  it('follows a remote parent: sampled is recorded under it, unsampled is not', () => {
    const tracer = provider(0).getTracer('test');
    const remote = (flags: TraceFlags): SpanContext => ({
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      spanId: '00f067aa0ba902b7',
      traceFlags: flags,
      isRemote: true,
    });
    const kept = tracer.startSpan('turn', {}, within(remote(TraceFlags.SAMPLED)));
    kept.end();
    const dropped = tracer.startSpan('turn', {}, within(remote(TraceFlags.NONE)));
    dropped.end();
    assert.equal(dropped.isRecording(), false);
    assert.equal(dropped.spanContext().traceId, '4bf92f3577b34da6a3ce929d0e0e4736');
    const [span, ...more] = exporter.getFinishedSpans();
    assert.equal(more.length, 0);
    assert.equal(span!.spanContext().traceId, '4bf92f3577b34da6a3ce929d0e0e4736');
    assert.equal(span!.parentSpanContext?.spanId, '00f067aa0ba902b7');
  });

  it('takes a root asked for under a kept parent as a root (ratio 0: dropped), and 1 keeps every one', () => {
    const keepAll = provider(1).getTracer('test');
    const parent = keepAll.startSpan('parent');
    const never = provider(0).getTracer('test');
    assert.equal(never.startSpan('child', {}, within(parent)).isRecording(), true);
    assert.equal(never.startSpan('root', { root: true }, within(parent)).isRecording(), false);
    for (let i = 0; i < 100; i++) assert.equal(keepAll.startSpan('x').isRecording(), true);
  });

  it("keeps at most rateLimit new traces a second, a second's worth at once, and every child of a kept one", () => {
    let now = 0;
    const budget = new TraceBudget(5, () => now);
    const takes = (n: number) => Array.from({ length: n }, () => budget.take()).filter(Boolean).length;
    assert.equal(takes(20), 5);
    now += 200;
    assert.equal(takes(20), 1);
    now += 10_000; // idle: the bucket holds a second's worth, not ten
    assert.equal(takes(100), 5);
    let slow = 0;
    const half = new TraceBudget(0.5, () => slow); // one trace every two seconds
    assert.equal(half.take(), true);
    slow += 1000;
    assert.equal(half.take(), false);
    slow += 1000;
    assert.equal(half.take(), true);

    const limited = provider(1, 3);
    const tracer = limited.getTracer('test');
    const roots = Array.from({ length: 50 }, () => tracer.startSpan('turn'));
    assert.deepEqual(
      roots.map((r) => r.isRecording()),
      Array.from({ length: 50 }, (_, i) => i < 3),
    );
    // The bucket is empty, yet a kept trace's children are kept; a dropped root is a valid, unsampled trace.
    for (const r of roots) {
      const child = tracer.startSpan('dependency', {}, within(r));
      assert.equal(child.isRecording(), r.isRecording());
      assert.equal(child.spanContext().traceId, r.spanContext().traceId);
      child.end();
      r.end();
    }
    assert.equal(roots[3]!.spanContext().traceFlags, TraceFlags.NONE);
    assert.equal(exporter.getFinishedSpans().length, 6);
    // Every tracer of the provider draws on the one budget.
    assert.equal(limited.getTracer('other').startSpan('turn').isRecording(), false);
    assert.equal(provider(1, 3).getTracer('other').startSpan('turn').isRecording(), true);
  });

  it('startActiveSpan passes the span, options and parent context on, and returns what fn returns', () => {
    const tracer = provider(1).getTracer('test');
    const parent = tracer.startSpan('parent');
    const out = tracer.startActiveSpan(
      'child',
      { attributes: { channel: 'web' } },
      within(parent),
      (span) => {
        span.end();
        return 42;
      },
    );
    assert.equal(out, 42);
    assert.equal(
      tracer.startActiveSpan('bare', (span) => (span.end(), 'ok')),
      'ok',
    );
    const child = exporter.getFinishedSpans().find((s) => s.name === 'child')!;
    assert.equal(child.parentSpanContext?.spanId, parent.spanContext().spanId);
    assert.equal(child.attributes.channel, 'web');
  });

  it('is what initTelemetry sets up, also for tracers the runtime took from the API before it', async () => {
    const early = trace.getTracer('concierge');
    const telemetry = await initTelemetry({
      client: 'acme',
      instance: 'acme-prod',
      prometheus: false,
      traceSampleRatio: 0.5,
      traceRateLimit: Infinity, // the ratio alone: the default limit is the next test's
    });
    try {
      // The SDK underneath keeps every root it is handed: a tracer that went around the head sampling
      // would record all of them.
      for (const t of [early, trace.getTracer('concierge'), telemetry.tracer]) {
        let recording = 0;
        for (let i = 0; i < 2000; i++) {
          const span = t.startSpan('turn');
          if (span.isRecording()) recording++;
          assert.ok(trace.isSpanContextValid(span.spanContext()));
        }
        // 1000 expected, standard deviation 22
        assert.ok(recording > 800 && recording < 1200, `${recording} of 2000 recorded`);
      }
    } finally {
      await telemetry.shutdown();
    }
  });
});

describe('concierge-telemetry: the default trace rate limit', () => {
  it('keeps DEFAULT_TRACE_RATE_LIMIT new traces a second at most, whatever the ratio', async () => {
    const telemetry = await initTelemetry({
      client: 'acme',
      instance: 'acme-prod',
      prometheus: false,
      registerGlobal: false,
      traceSampleRatio: 1,
    });
    try {
      const started = performance.now();
      let kept = 0;
      for (let i = 0; i < 1000; i++) if (telemetry.tracer.startSpan('turn').isRecording()) kept++;
      const seconds = (performance.now() - started) / 1000;
      // A second's worth at once, plus what the bucket gained while the loop ran.
      assert.ok(
        kept >= DEFAULT_TRACE_RATE_LIMIT && kept <= DEFAULT_TRACE_RATE_LIMIT * (1 + seconds) + 1,
        `${kept} of 1000 kept in ${seconds.toFixed(3)} s`,
      );
      const emptied = performance.now();
      await new Promise((r) => setTimeout(r, 300));
      const waited = (performance.now() - emptied) / 1000;
      let later = 0;
      for (let i = 0; i < 100; i++) if (telemetry.tracer.startSpan('turn').isRecording()) later++;
      // Ten a second refilled over the wait (at least 0.3 s), the bucket never above a second's worth.
      const most = Math.min(DEFAULT_TRACE_RATE_LIMIT, Math.ceil(waited * DEFAULT_TRACE_RATE_LIMIT) + 1);
      assert.ok(later >= 2 && later <= most, `${later} kept ${waited.toFixed(3)} s later`);
    } finally {
      await telemetry.shutdown();
    }
  });
});

/** The same calls on a span of `tracer`, fixed times only, including ones the SDK ignores or limits. */
function script(tracer: Tracer, parent: Context, error: Error) {
  const t0 = new Date('2026-03-02T09:00:00.000Z').getTime();
  const span = tracer.startSpan(
    'concierge.turn',
    {
      kind: SpanKind.SERVER,
      startTime: new Date(t0),
      attributes: { channel: 'sms', list: ['a', 'b'], bad: { nested: 1 } as never, '': 'empty key' },
      links: [
        {
          context: { traceId: 'ab'.repeat(16), spanId: 'cd'.repeat(8), traceFlags: 1 },
          attributes: { n: 1 },
        },
      ],
    },
    parent,
  );
  span.setAttribute('concierge.intent', 'book');
  span.setAttribute('skipped', undefined as never);
  span.setAttributes({ 'concierge.turn.index': 3, 'concierge.crisis': false });
  for (let i = 0; i < 130; i++) span.setAttribute(`k${i}`, i); // 128 kept in all, 7 dropped
  span.addEvent('started', { step: 1 }, [1772442000, 5]);
  span.addEvent('timed', t0 + 5);
  for (let i = 0; i < 129; i++) span.addEvent(`e${i}`, t0 + 10 + i); // the oldest are shifted out
  span.addLink({ context: { traceId: 'ef'.repeat(16), spanId: '01'.repeat(8), traceFlags: 0 } });
  const many = Object.fromEntries(Array.from({ length: 130 }, (_, i) => [`a${i}`, i]));
  span.addLink({
    context: { traceId: '12'.repeat(16), spanId: '34'.repeat(8), traceFlags: 1 },
    attributes: many,
  });
  span.recordException(error, t0 + 200);
  span.recordException('plain text', t0 + 201);
  span.recordException({} as Error); // nothing to record: a warning, no event
  span.setStatus({ code: SpanStatusCode.UNSET, message: 'ignored' });
  span.setStatus({ code: SpanStatusCode.ERROR, message: 'timeout' });
  span.updateName('concierge.turn.sms');
  span.end(t0 + 250);
  span.setAttribute('late', 1);
  span.addEvent('late');
  span.setStatus({ code: SpanStatusCode.OK });
  span.end(t0 + 999); // a second end: refused
  const ok = tracer.startSpan('ok', { startTime: t0 }, parent);
  ok.setStatus({ code: SpanStatusCode.OK });
  ok.setStatus({ code: SpanStatusCode.ERROR, message: 'after OK: ignored' });
  ok.end(t0 - 1000); // before its start: duration 0
  return [span, ok];
}

/** Everything a processor or exporter reads of a finished span, but the span's own id. */
function shape(s: ReadableSpan) {
  return {
    name: s.name,
    kind: s.kind,
    traceFlags: s.spanContext().traceFlags,
    parent: s.parentSpanContext?.spanId,
    startTime: s.startTime,
    endTime: s.endTime,
    duration: s.duration,
    ended: s.ended,
    status: s.status,
    attributes: s.attributes,
    links: s.links,
    events: s.events,
    dropped: [s.droppedAttributesCount, s.droppedEventsCount, s.droppedLinksCount],
    resource: s.resource.attributes,
    scope: s.instrumentationScope,
  };
}

describe('concierge-telemetry: kept spans recorded without the SDK tracer', () => {
  const resource = resourceFromAttributes({ 'service.name': 'concierge', client: 'acme' });
  const parent = trace.setSpanContext(ROOT_CONTEXT, {
    traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
    spanId: '00f067aa0ba902b7',
    traceFlags: TraceFlags.SAMPLED,
  });

  it('finish as spans of the SDK do, call for call: limits, status rules, exceptions, times', () => {
    // One error for both (its stack is part of the exception event).
    const error = Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' });
    const run = (
      provider: { getTracer(name: string, version: string): Tracer },
      exporter: InMemorySpanExporter,
    ) => {
      const spans = script(provider.getTracer('concierge-telemetry', '0.1.0'), parent, error);
      assert.deepEqual(
        spans.map((s) => s.isRecording()),
        [false, false],
      );
      return exporter.getFinishedSpans().map(shape);
    };
    const sdkOut = new InMemorySpanExporter();
    const oursOut = new InMemorySpanExporter();
    const sdk = run(
      new BasicTracerProvider({ resource, spanProcessors: [new SimpleSpanProcessor(sdkOut)] }),
      sdkOut,
    );
    const ours = run(
      new HeadSamplingTracerProvider({
        ratio: 0,
        resource,
        spanProcessors: [new SimpleSpanProcessor(oursOut)],
      }),
      oursOut,
    );
    assert.equal(sdk.length, 2);
    assert.equal(sdk[0]!.events.length, 128, 'the script reaches the limits');
    assert.equal(sdk[0]!.dropped[0], 7);
    assert.deepEqual(ours, sdk);
    // Redaction keeps what the limits dropped (a link's own count included).
    const copy = new RedactingSpanExporter(sdkOut, new Redactor()).span(sdkOut.getFinishedSpans()[0]!);
    assert.deepEqual(
      copy.links.map((l) => l.droppedAttributesCount ?? 0),
      [0, 0, 2],
    );
    assert.deepEqual(
      [copy.droppedAttributesCount, copy.droppedEventsCount, copy.droppedLinksCount],
      sdk[0]!.dropped,
    );
  });

  it('take their times from the clock as the SDK does (wall-clock start, monotonic duration), and ids when read', async () => {
    const out = new InMemorySpanExporter();
    const tracer = new HeadSamplingTracerProvider({
      ratio: 1,
      spanProcessors: [new SimpleSpanProcessor(out)],
    }).getTracer('test');
    const before = Date.now();
    const span = tracer.startSpan('wait');
    const child = tracer.startSpan('child', {}, trace.setSpan(ROOT_CONTEXT, span));
    await new Promise((r) => setTimeout(r, 30));
    child.end();
    span.end();
    const after = Date.now();
    // Ids are drawn when first read; read from the child up, a kept trace still has one trace id.
    assert.equal(child.spanContext().traceId, span.spanContext().traceId);
    assert.match(span.spanContext().traceId, /^[0-9a-f]{32}$/);
    assert.deepEqual(JSON.parse(JSON.stringify(child.spanContext())), {
      traceId: span.spanContext().traceId,
      spanId: child.spanContext().spanId,
      traceFlags: TraceFlags.SAMPLED,
    });
    const [c, s] = out.getFinishedSpans();
    const ms = (t: [number, number]) => t[0] * 1000 + t[1] / 1e6;
    assert.ok(ms(s!.startTime) >= before && ms(s!.startTime) <= after);
    assert.ok(ms(s!.duration) >= 29 && ms(s!.duration) <= after - before + 1, `${ms(s!.duration)} ms`);
    assert.ok(Math.abs(ms(s!.endTime) - ms(s!.startTime) - ms(s!.duration)) < 0.001);
    assert.equal(c!.spanContext().traceId, s!.spanContext().traceId);
    assert.equal(c!.parentSpanContext?.spanId, s!.spanContext().spanId);
    assert.match(s!.spanContext().spanId, /^[0-9a-f]{16}$/);
    assert.equal(s!.resource.attributes['service.name'] !== undefined, true);
  });
});

describe('concierge-telemetry: log records handed over in batches', () => {
  it('keeps what emit was given at that moment: time, trace context, attributes; and delivers them within the delay', async () => {
    const exporter = new InMemoryLogRecordExporter();
    const sdk = new LoggerProvider({ processors: [new SimpleLogRecordProcessor({ exporter })] });
    const provider = new DeferredLoggerProvider(sdk, 200);
    const logger = provider.getLogger('test');
    const parent: SpanContext = {
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      spanId: '00f067aa0ba902b7',
      traceFlags: TraceFlags.SAMPLED,
    };
    const attributes: Record<string, string> = { channel: 'sms' };
    const before = Date.now();
    logger.emit({
      body: 'concierge.turn.done',
      attributes,
      context: trace.setSpanContext(ROOT_CONTEXT, parent),
    });
    attributes.channel = 'voice'; // changed after emit: the record keeps what it was given
    assert.equal(exporter.getFinishedLogRecords().length, 0, 'not built at emit');
    await new Promise((r) => setTimeout(r, 150));
    const afterWait = Date.now();
    await new Promise((r) => setTimeout(r, 250));
    const [rec, ...more] = exporter.getFinishedLogRecords();
    assert.equal(more.length, 0);
    assert.equal(rec!.body, 'concierge.turn.done');
    assert.equal(rec!.attributes.channel, 'sms');
    assert.equal(rec!.spanContext?.traceId, parent.traceId);
    const ms = rec!.hrTime[0] * 1000 + rec!.hrTime[1] / 1e6;
    assert.ok(ms >= before - 1 && ms < afterWait, `stamped at emit (${ms - before} ms after it)`);
    await provider.shutdown();
  });

  it('hands the queue over on forceFlush, drops beyond 2048 waiting records, and takes nothing after shutdown', async () => {
    const bodies: unknown[] = [];
    const provider = new DeferredLoggerProvider(
      new LoggerProvider({
        processors: [
          {
            onEmit: (r) => void bodies.push(r.body),
            forceFlush: () => Promise.resolve(),
            shutdown: () => Promise.resolve(),
          },
        ],
      }),
      60_000,
    );
    const logger = provider.getLogger('test');
    for (let i = 0; i < 2100; i++) logger.emit({ body: `record.${i}` });
    assert.equal(provider.dropped, 52);
    await provider.forceFlush();
    assert.equal(bodies.length, 2048);
    assert.equal(bodies[2047], 'record.2047');
    await provider.shutdown();
    logger.emit({ body: 'late' });
    assert.equal(logger.enabled(), false);
    assert.equal(bodies.length, 2048);
  });
});
