/* eslint-disable @typescript-eslint/no-explicit-any -- OTLP JSON bodies are read field by field */
import assert from 'node:assert/strict';
import http from 'node:http';
import { inspect } from 'node:util';
import type { AddressInfo } from 'node:net';
import { SpanStatusCode, context, diag, trace, DiagLogLevel } from '@opentelemetry/api';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { initTelemetry, type Telemetry } from '../../exporters/concierge-telemetry/src/index.ts';

interface Received {
  path: string;
  contentType: string;
  body: Buffer;
}

/** An OTLP/HTTP receiver on a loopback port that keeps every request it gets. */
async function startReceiver() {
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({
        path: req.url ?? '',
        contentType: req.headers['content-type'] ?? '',
        body: Buffer.concat(chunks),
      });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    received,
    /** Decoded JSON bodies sent to `path`. */
    json(path: string): any[] {
      return received
        .filter((r) => r.path === path)
        .map((r) => {
          assert.match(r.contentType, /application\/json/);
          return JSON.parse(r.body.toString('utf8'));
        });
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

type Kv = { key: string; value: Record<string, unknown> };
const attrs = (list: Kv[] | undefined): Record<string, unknown> =>
  Object.fromEntries((list ?? []).map((a) => [a.key, Object.values(a.value)[0]]));

describe('concierge-telemetry: OTLP over HTTP', function () {
  this.timeout(60_000);
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let telemetry: Telemetry;

  before(async () => {
    receiver = await startReceiver();
    telemetry = await initTelemetry({
      client: 'acme',
      instance: 'acme-prod',
      environment: 'test',
      prometheus: false,
      otlp: { endpoint: receiver.url, metricsIntervalMs: 60_000, batchDelayMs: 60_000 },
      registerGlobal: false,
      traceSampleRatio: 1,
    });
  });

  after(async () => {
    await telemetry?.shutdown();
    await receiver?.close();
  });

  it('pushes the metrics, spans and logs that were recorded, with the resource', async () => {
    telemetry.metrics.request('sms', 'ok');
    telemetry.metrics.request('sms', 'ok');
    telemetry.metrics.request('voice', 'error');
    telemetry.metrics.crisisResponded('voice', 0.12);
    telemetry.metrics.dependencyRequest('openemr', 'timeout', 2);
    const tracer = telemetry.tracer;
    // Without registerGlobal there is no global context manager: the parent is passed explicitly.
    const turn = tracer.startSpan('concierge.turn', {
      attributes: { channel: 'sms', 'concierge.turn.index': 3 },
    });
    const child = tracer.startSpan(
      'openemr.appointments.search',
      { attributes: { dependency: 'openemr' } },
      trace.setSpan(context.active(), turn),
    );
    child.setStatus({ code: SpanStatusCode.ERROR, message: 'timeout' });
    child.end();
    turn.end();
    telemetry.logger.emit({
      severityNumber: SeverityNumber.WARN,
      severityText: 'WARN',
      eventName: 'concierge.dependency.timeout',
      timestamp: new Date('2026-01-05T10:00:00Z'),
      body: 'dependency.timeout',
      attributes: { dependency: 'openemr' },
    });
    await telemetry.forceFlush();

    const metricBodies = receiver.json('/v1/metrics');
    assert.ok(metricBodies.length >= 1, 'metrics were pushed');
    const rm = metricBodies.at(-1).resourceMetrics[0];
    const resource = attrs(rm.resource.attributes);
    assert.equal(resource['service.name'], 'concierge');
    assert.equal(resource['service.instance.id'], 'acme-prod');
    assert.equal(resource['deployment.environment.name'], 'test');
    assert.equal(resource.client, 'acme');
    const metrics = new Map<string, any>(
      rm.scopeMetrics.flatMap((s: any) => s.metrics).map((m: any) => [m.name, m]),
    );

    const requests = metrics.get('concierge.requests');
    assert.equal(requests.unit, '{request}');
    assert.equal(requests.sum.isMonotonic, true);
    const points = Object.fromEntries(
      requests.sum.dataPoints.map((p: { attributes: Kv[]; asInt?: string | number; asDouble?: number }) => {
        const a = attrs(p.attributes);
        return [`${a.channel}/${a.outcome}`, Number(p.asInt ?? p.asDouble)];
      }),
    );
    assert.deepEqual(points, { 'sms/ok': 2, 'voice/error': 1 });

    const crisis = metrics.get('concierge.crisis_response.duration');
    assert.equal(crisis.unit, 's');
    const cp = crisis.histogram.dataPoints[0];
    assert.deepEqual(attrs(cp.attributes), { channel: 'voice' });
    assert.equal(Number(cp.count), 1);
    assert.equal(cp.sum, 0.12);
    assert.deepEqual(cp.explicitBounds, [0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2.5]);
    // 0.12 s falls in the (0.1, 0.2] bucket: the critical band.
    assert.equal(Number(cp.bucketCounts[4]), 1);
    const dep = metrics.get('concierge.dependency.request.duration').histogram.dataPoints[0];
    assert.deepEqual(attrs(dep.attributes), { dependency: 'openemr', outcome: 'timeout' });

    const spans = receiver
      .json('/v1/traces')
      .flatMap((b) => b.resourceSpans.flatMap((r: any) => r.scopeSpans.flatMap((s: any) => s.spans)));
    const turnSpan = spans.find((s) => s.name === 'concierge.turn');
    const childSpan = spans.find((s) => s.name === 'openemr.appointments.search');
    assert.ok(turnSpan && childSpan, `spans: ${spans.map((s) => s.name).join(', ')}`);
    assert.equal(childSpan.traceId, turnSpan.traceId);
    assert.equal(childSpan.parentSpanId, turnSpan.spanId);
    assert.deepEqual(attrs(turnSpan.attributes), { channel: 'sms', 'concierge.turn.index': 3 });
    assert.equal(childSpan.status.code, 2);
    assert.equal(childSpan.status.message, 'timeout');

    const records = receiver
      .json('/v1/logs')
      .flatMap((b) => b.resourceLogs.flatMap((r: any) => r.scopeLogs.flatMap((s: any) => s.logRecords)));
    assert.equal(records.length, 1);
    assert.equal(records[0].body.stringValue, 'dependency.timeout');
    assert.equal(records[0].severityNumber, SeverityNumber.WARN);
    // Every field of the emitted record reaches the export (the logger copies records field by field).
    assert.equal(records[0].severityText, 'WARN');
    assert.equal(records[0].eventName, 'concierge.dependency.timeout');
    assert.equal(String(records[0].timeUnixNano), String(Date.UTC(2026, 0, 5, 10) * 1e6));
    assert.ok(Number(records[0].observedTimeUnixNano) > Date.UTC(2026, 0, 5, 10) * 1e6);
    assert.deepEqual(attrs(records[0].attributes), { dependency: 'openemr' });
  });
});

/** Patient-like data, fed everywhere; none of it may appear in any exported byte. */
const PATIENT = {
  name: 'Maria Garcia',
  otherName: 'Jonathan Whitfield',
  phone: '+1 (617) 555-0143',
  phone2: '617.555.0199',
  email: 'maria.garcia@example.com',
  dob: '1961-03-14',
  dob2: '03/14/1961',
  dob3: 'March 14, 1961',
  text: 'I have chest pain and my husband Robert is not home',
};
/** Fragments that must not appear either (a partial leak is a leak). */
const NEEDLES = [
  ...Object.values(PATIENT),
  'Garcia',
  'Whitfield',
  'Robert',
  'chest pain',
  '555-0143',
  '5550143',
  '555.0199',
  'maria.garcia',
  'example.com',
  '1961',
];

/**
 * The needles found in `text`. A needle of digits only counts where it stands alone: trace ids, hashes and
 * nanosecond timestamps are long runs of hex digits that hold any 4-digit string by chance (CI once found
 * "1961" inside one).
 */
function leaksIn(text: string): string[] {
  return NEEDLES.filter((n) =>
    /^\d+$/.test(n)
      ? new RegExp(`(?<![0-9a-z])${n}(?![0-9a-z])`, 'i').test(text)
      : text.toLowerCase().includes(n.toLowerCase()),
  );
}

describe('concierge-telemetry: redaction', function () {
  this.timeout(60_000);
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let telemetry: Telemetry;
  const diagLines: string[] = [];

  before(async () => {
    receiver = await startReceiver();
    // The SDK's own diagnostics are a log too: capture them all and scan them.
    const keep = (...args: unknown[]) =>
      diagLines.push(args.map((a) => (typeof a === 'string' ? a : inspect(a, { depth: 6 }))).join(' '));
    diag.setLogger({ error: keep, warn: keep, info: keep, debug: keep, verbose: keep }, DiagLogLevel.ALL);
    telemetry = await initTelemetry({
      client: 'acme',
      instance: 'acme-prod',
      prometheus: { port: 0, host: '127.0.0.1' },
      otlp: { endpoint: receiver.url, metricsIntervalMs: 60_000, batchDelayMs: 60_000 },
      registerGlobal: false,
      traceSampleRatio: 1,
      redaction: { hashKey: 'test-key' },
    });
  });

  after(async () => {
    diag.disable();
    await telemetry?.shutdown();
    await receiver?.close();
  });

  it('lets no phone number, e-mail, name, date of birth or free text reach any export, and keeps the rest', async () => {
    const P = PATIENT;
    const everything = {
      'patient.name': P.name,
      'patient.phone': P.phone,
      'patient.email': P.email,
      'patient.dob': P.dob,
      'message.text': P.text,
      // Allowlisted keys given patient data as values.
      channel: P.phone2,
      'concierge.intent': P.name,
      'http.route': `/patients/${P.dob}`,
      'concierge.language': P.dob2,
      'error.type': P.email,
      'enduser.id': P.phone,
      'concierge.conversation.id': P.email,
    };
    // Metrics: through the typed API with forced values, and a counter the runtime made itself.
    telemetry.metrics.request(P.name as never, P.text as never);
    telemetry.metrics.escalated('voice', P.dob3 as never);
    telemetry.meter.createCounter('concierge.custom', { description: 'custom' }).add(1, everything);
    telemetry.meter
      .createHistogram('concierge.custom.latency', { unit: 's' })
      .record(0.1, { reason: P.otherName });

    // Spans: names, attributes, events, exceptions, status messages, links.
    const tracer = telemetry.tracer;
    const parent = tracer.startSpan(`call from ${P.phone}`, { attributes: everything });
    parent.setAttribute('caller', P.name);
    parent.setAttributes({ 'concierge.turn.index': 1, channel: 'voice' });
    parent.addEvent(`patient said: ${P.text}`, { 'patient.dob': P.dob2 });
    parent.addEvent('concierge.crisis.detected', { 'message.text': P.text, outcome: 'escalated' });
    parent.recordException(
      new Error(`could not find appointment for ${P.name} born ${P.dob3}, call ${P.phone2}`),
    );
    parent.setStatus({ code: SpanStatusCode.ERROR, message: `lookup failed for ${P.email}` });
    const ctx = trace.setSpan(context.active(), parent);
    const child = tracer.startSpan(
      P.otherName,
      { links: [{ context: parent.spanContext(), attributes: { 'patient.email': P.email } }] },
      ctx,
    );
    child.updateName(`POST /patients/${P.email}`);
    child.end();
    tracer
      .startSpan('openemr.patient.lookup', { attributes: { dependency: 'openemr', outcome: 'ok' } })
      .end();
    parent.end();

    // Logs: bodies, attributes, event names.
    const logger = telemetry.logger;
    logger.emit({ body: `Booked ${P.name} (${P.dob}) for Tuesday, will text ${P.phone}` });
    logger.emit({ body: { patient: P.name, email: P.email }, attributes: everything });
    logger.emit({ eventName: `sms.to.${P.phone2}`, body: P.text, attributes: { 'patient.phone': P.phone } });
    logger.emit({ body: 'appointment.booked', attributes: { action: 'booked', channel: 'sms' } });

    await telemetry.forceFlush();
    const metricsText = await telemetry.prometheusText();
    const scraped = await (await fetch(telemetry.metricsUrl!)).text();

    // Every exported byte: all OTLP request bodies, the pull endpoint, the SDK's diagnostics.
    const paths = new Set(receiver.received.map((r) => r.path));
    assert.deepEqual([...paths].sort(), ['/v1/logs', '/v1/metrics', '/v1/traces']);
    const exported = [
      ...receiver.received.map((r) => `${r.path}\n${r.body.toString('utf8')}`),
      metricsText,
      scraped,
      ...diagLines,
    ].join('\n');
    const leaks = leaksIn(exported);
    assert.deepEqual(leaks, [], 'patient data in exported bytes');

    // What is allowed still gets through, so the scan above is not vacuous.
    const spans = receiver
      .json('/v1/traces')
      .flatMap((b) => b.resourceSpans.flatMap((r: any) => r.scopeSpans.flatMap((s: any) => s.spans)));
    assert.deepEqual(spans.map((s) => s.name).sort(), ['openemr.patient.lookup', 'redacted', 'redacted']);
    const call = spans.find((s) => s.events?.length > 0);
    const callAttrs = attrs(call.attributes);
    assert.equal(callAttrs.channel, 'voice');
    assert.equal(callAttrs['concierge.turn.index'], 1);
    assert.match(String(callAttrs['enduser.id']), /^hmac:[0-9a-f]{16}$/);
    assert.equal(callAttrs['enduser.id'], telemetry.redactor.hash(P.phone));
    for (const gone of [
      'patient.name',
      'caller',
      'concierge.intent',
      'http.route',
      'concierge.language',
      'error.type',
    ])
      assert.equal(gone in callAttrs, false, gone);
    assert.deepEqual(
      call.events.map((e: { name: string }) => e.name),
      ['redacted', 'concierge.crisis.detected', 'exception'],
    );
    const exception = attrs(call.events[2].attributes);
    assert.equal(exception['exception.type'], 'Error');
    assert.match(String(exception['exception.message']), /^hmac:/);
    assert.match(String(exception['exception.stacktrace']), /^\s+at /);
    assert.match(call.status.message, /^hmac:/);

    const records = receiver
      .json('/v1/logs')
      .flatMap((b) => b.resourceLogs.flatMap((r: any) => r.scopeLogs.flatMap((s: any) => s.logRecords)));
    assert.equal(records.length, 4);
    assert.match(records[0].body.stringValue, /^hmac:/);
    assert.equal(records[3].body.stringValue, 'appointment.booked');
    assert.deepEqual(attrs(records[3].attributes), { action: 'booked', channel: 'sms' });

    assert.match(metricsText, /^concierge_requests_total\{channel="other",outcome="other"\} 1$/m);
    assert.match(metricsText, /^concierge_escalations_total\{channel="voice",reason="other"\} 1$/m);
    assert.match(metricsText, /^concierge_custom_total\{channel="other"\} 1$/m);
  });

  it('finds the needles when they are there (the scan can fail)', () => {
    const leaky = JSON.stringify({
      attributes: [{ key: 'x', value: { stringValue: `hi ${PATIENT.name}` } }],
    });
    assert.deepEqual(leaksIn(leaky), ['Maria Garcia', 'Garcia']);
    assert.deepEqual(leaksIn('{"born":1961,"t":"17641961000","id":"ab1961cd"}'), ['1961']);
  });
});
