import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { context, trace } from '@opentelemetry/api';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  CHANNELS,
  METRIC_SPECS,
  initTelemetry,
  type Telemetry,
} from '../../exporters/concierge-telemetry/src/index.ts';
import { REPO, query, startPrometheus, type Proc } from '../helpers/stack.ts';
import { requireTool } from '../helpers/tools.ts';

interface DocumentedMetric {
  name: string;
  otelName: string;
  type: string;
  unit: string;
  labels: string[];
}

/** The README's metric table, as a reader sees it. */
function documentedMetrics(): DocumentedMetric[] {
  const readme = readFileSync(path.join(REPO, 'exporters/concierge-telemetry/README.md'), 'utf8');
  const rows = [...readme.matchAll(/^\|\s*`(concierge_[a-z_]+)`\s*\|(.*)\|\s*$/gm)];
  return rows.map((m) => {
    const cells = m[2]!.split('|').map((c) => c.trim());
    const ticks = (c: string) => [...c.matchAll(/`([^`]+)`/g)].map((x) => x[1]!);
    return {
      name: m[1]!,
      otelName: ticks(cells[0]!)[0]!,
      type: cells[1]!.split(' ')[0]!,
      unit: ticks(cells[2]!)[0]!,
      labels: ticks(cells[3]!),
    };
  });
}

/** Records every instrument, with more than one value per label so that label sets show. */
function recordEverything(t: Telemetry) {
  const m = t.metrics;
  for (const channel of CHANNELS) {
    m.request(channel, 'ok');
    m.request(channel, 'ok');
    m.request(channel, 'error');
    m.conversationStarted(channel);
    m.aiTurn(channel, 'ok', 0.8);
    m.apiResponded(channel, 'ok', 0.07);
    m.crisisResponded(channel, 0.04);
    m.escalated(channel, 'crisis');
    m.appointment('booked', channel);
  }
  m.conversationStarted('voice');
  m.conversationEnded('voice', 'resolved', 95);
  m.conversationEnded('sms', 'escalated');
  m.crisisResponded('voice', 0.15);
  m.escalated('sms', 'billing');
  m.dependencyRequest('openemr', 'ok', 0.12);
  m.dependencyRequest('twilio', 'error', 0.3);
  m.dependencyRequest('voice_ai', 'timeout', 5);
  m.appointment('changed', 'voice');
  m.appointment('cancelled', 'web');
}

describe('concierge-telemetry: Prometheus pull endpoint', function () {
  this.timeout(90_000);
  let telemetry: Telemetry;
  let prom: Proc;
  let target: string;

  before(async () => {
    requireTool('prometheus');
    telemetry = await initTelemetry({
      client: 'acme',
      instance: 'acme-prod',
      environment: 'test',
      serviceVersion: '1.2.3',
      prometheus: { port: 0, host: '127.0.0.1' },
      registerGlobal: false,
    });
    recordEverything(telemetry);
    target = new URL(telemetry.metricsUrl!).host;
    prom = await startPrometheus(
      [
        'global:',
        '  scrape_interval: 1s',
        'scrape_configs:',
        '  - job_name: concierge',
        '    static_configs:',
        `      - targets: ['${target}']`,
        '        labels: {client: acme, instance: acme-prod}',
      ].join('\n'),
    );
  });

  after(async () => {
    await prom?.stop();
    await telemetry?.shutdown();
  });

  it('documents every metric the code defines, with the same names, units and labels', () => {
    const documented = documentedMetrics();
    assert.deepEqual(documented.map((d) => d.name).sort(), METRIC_SPECS.map((s) => s.prometheusName).sort());
    for (const spec of METRIC_SPECS) {
      const doc = documented.find((d) => d.name === spec.prometheusName)!;
      assert.equal(doc.otelName, spec.name, spec.prometheusName);
      assert.equal(doc.unit, spec.unit, spec.prometheusName);
      assert.deepEqual(doc.labels.sort(), [...spec.labels].sort(), spec.prometheusName);
      assert.equal(
        doc.type,
        { counter: 'counter', histogram: 'histogram', updowncounter: 'gauge' }[spec.kind],
      );
    }
  });

  it('is scraped by a real Prometheus: every documented metric, its type, its labels and seconds as unit', async () => {
    // Wait for a scrape that has the data.
    // Generous: on a loaded machine Prometheus's first scrape can take a while.
    const deadline = Date.now() + 45_000;
    while ((await query(prom, 'concierge_requests_total')).length === 0) {
      assert.ok(Date.now() < deadline, `no scrape of ${target}:\n${prom.output()}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    const up = await query(prom, 'up{job="concierge"}');
    assert.equal(up[0]?.value[1], '1');

    const meta = (await (await fetch(`${prom.url}/api/v1/metadata`)).json()) as {
      data: Record<string, Array<{ type: string; help: string }>>;
    };
    for (const doc of documentedMetrics()) {
      assert.equal(meta.data[doc.name]?.[0]?.type, doc.type, `${doc.name} type`);
      const series = doc.type === 'histogram' ? `${doc.name}_count` : doc.name;
      const result = await query(prom, series);
      assert.ok(result.length > 0, `${series} missing`);
      for (const r of result) {
        const labels = Object.keys(r.metric)
          .filter((k) => !['__name__', 'job', 'instance', 'client'].includes(k))
          .sort();
        assert.deepEqual(labels, [...doc.labels].sort(), `${series} labels`);
        assert.equal(r.metric.client, 'acme');
        assert.equal(r.metric.instance, 'acme-prod');
      }
      if (doc.unit === 's') assert.match(doc.name, /_seconds$/, `${doc.name} carries its unit`);
    }

    // Values arrive in base units: 0.04 s crisis answers are under the 50 ms warning bucket, 0.15 s is not
    // under the 100 ms critical one but is under the 200 ms emergency one.
    const le = async (bound: string) =>
      Number(
        (await query(prom, `sum(concierge_crisis_response_duration_seconds_bucket{le="${bound}"})`))[0]!
          .value[1],
      );
    assert.equal(await le('0.05'), 3);
    assert.equal(await le('0.1'), 3);
    assert.equal(await le('0.2'), 4);
    const calls = await query(prom, 'concierge_calls_active{channel="voice"}');
    assert.equal(calls[0]!.value[1], '1');
    const requests = await query(prom, 'sum by (outcome) (concierge_requests_total)');
    assert.deepEqual(Object.fromEntries(requests.map((r) => [r.metric.outcome, r.value[1]])), {
      ok: '6',
      error: '3',
    });
    const info = await query(prom, 'target_info');
    assert.equal(info[0]!.metric.service_name, 'concierge');
    assert.equal(info[0]!.metric.service_version, '1.2.3');
    assert.equal(info[0]!.metric.deployment_environment_name, 'test');
  });

  it('serves an exposition that promtool check metrics accepts', async () => {
    const text = await (await fetch(telemetry.metricsUrl!)).text();
    assert.match(text, /concierge_crisis_response_duration_seconds_bucket\{channel="voice",le="0.2"\} 2/);
    const check = spawnSync(requireTool('promtool'), ['check', 'metrics'], { input: text, encoding: 'utf8' });
    assert.equal(check.status, 0, check.stdout + check.stderr);
    assert.equal((check.stdout + check.stderr).trim(), '');
  });

  it('keeps label values bounded: an unknown value becomes other, an unknown label is dropped', async () => {
    telemetry.meter.createCounter('concierge.custom', { unit: '{thing}' }).add(1, {
      channel: 'fax',
      caller: 'someone',
    });
    telemetry.metrics.request('carrier-pigeon' as never, 'ok');
    const text = await telemetry.prometheusText();
    assert.match(text, /^concierge_custom_total\{channel="other"\} 1$/m);
    assert.match(text, /^concierge_requests_total\{channel="other",outcome="ok"\} 1$/m);
    assert.doesNotMatch(text, /caller|someone|fax|pigeon/);
  });

  it('carries the active span across an await by default, and leaves that to the caller with contextPropagation explicit', async () => {
    for (const [mode, carried] of [
      ['async', true],
      ['explicit', false],
    ] as const) {
      const t = await initTelemetry({
        client: 'acme',
        instance: 'acme-prod',
        prometheus: false,
        traceSampleRatio: 1,
        contextPropagation: mode,
      });
      try {
        const parent = t.tracer.startSpan('concierge.turn');
        const seen = await context.with(trace.setSpan(context.active(), parent), async () => {
          await new Promise((r) => setTimeout(r, 1));
          return trace.getSpan(context.active());
        });
        parent.end();
        assert.equal(seen === parent, carried, `contextPropagation ${mode}`);
        // Handed on explicitly, the parent reaches the child in either mode.
        const child = t.tracer.startSpan('openemr.request', {}, trace.setSpan(context.active(), parent));
        assert.equal(child.spanContext().traceId, parent.spanContext().traceId);
        child.end();
      } finally {
        await t.shutdown();
      }
    }
  });

  it('names every bad option at once and starts nothing', async () => {
    await assert.rejects(
      initTelemetry({
        client: 'Acme Practice',
        instance: '',
        prometheus: { port: 70000 },
        otlp: { endpoint: 'ftp://x' },
        registerGlobal: false,
        contextPropagation: 'implicit' as 'async',
        traceRateLimit: 0,
      }),
      (e: Error) =>
        e instanceof TypeError &&
        /client must be a slug/.test(e.message) &&
        /instance must be a slug/.test(e.message) &&
        /prometheus\.port/.test(e.message) &&
        /otlp\.endpoint must be an http\(s\) URL/.test(e.message) &&
        /contextPropagation must be async or explicit/.test(e.message) &&
        /traceRateLimit must be a number of traces per second above 0/.test(e.message),
    );
    for (const traceRateLimit of [-1, Number.NaN, '5' as never])
      await assert.rejects(
        initTelemetry({ client: 'acme', instance: 'acme-prod', prometheus: false, traceRateLimit }),
        /traceRateLimit must be a number of traces per second above 0 \(Infinity for no limit\)/,
      );
  });
});
