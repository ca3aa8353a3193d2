/**
 * What concierge-telemetry costs the runtime: added CPU per request, as a ratio.
 *
 * A concierge request handler runs in a child process behind node:http, doing what the runtime does for an
 * incoming SMS webhook: check the X-Twilio-Signature (HMAC-SHA1), parse the form body, classify intent and
 * crisis, ask the voice AI for the reply and, for bookings, ask OpenEMR for free slots (both over loopback
 * HTTP to stand-ins in the parent), and answer with TwiML. The parent drives it open-loop at BENCH_RPS (1000) requests per second over keep-alive
 * connections and reads the child's process.cpuUsage() over a BENCH_SECONDS (10) window after a warm-up.
 * The same handler code runs in two modes:
 *   without: initTelemetry is never called, so `@opentelemetry/api` is the no-op it is in an uninstrumented
 *            runtime;
 *   with:    initTelemetry with redaction (always on), the Prometheus pull endpoint (scraped every second by
 *            the parent) and OTLP over HTTP for metrics, traces and logs (to a receiver in the parent, so
 *            the receiver's CPU is not counted but the child's serialisation and sending are). Every request
 *            makes a turn span and one per dependency call, four to six metric records, every tenth a log.
 *            Traces are sampled as the library's default (traceSampleRatio 0.1). The handler hands each
 *            span's parent on itself, as the concierge runtime does, so it runs with contextPropagation
 *            'explicit' (no AsyncLocalStorage context manager). Printed before the headline, each from its
 *            own comparison: every trace kept, and the library's default context manager on (async).
 *            BENCH_TRACE_RATIO=x or BENCH_CONTEXT=async|explicit runs only that one comparison.
 * Modes alternate BENCH_ROUNDS (5) times; cpu_ratio is the median of the per-round ratios
 * (CPU per request with / without). Target: below 1.05.
 */
import { fork, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { createHmac } from 'node:crypto';
import { metrics, trace, context, SpanStatusCode, type Context } from '@opentelemetry/api';
import { logs, SeverityNumber } from '@opentelemetry/api-logs';
import {
  ConciergeMetrics,
  DEFAULT_TRACE_SAMPLE_RATIO,
  initTelemetry,
  type Channel,
  type Dependency,
} from '../exporters/concierge-telemetry/src/index.ts';

const RPS = Number(process.env.BENCH_RPS ?? 1000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 3);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);

// ---------------------------------------------------------------- the handler (child process)

const CRISIS = /\b(chest pain|suicid\w*|kill myself|can'?t breathe|overdose|bleeding heavily)\b/i;
const INTENTS: Array<[string, RegExp]> = [
  ['book', /\b(book|schedule|make) (an )?appointment\b/i],
  ['cancel', /\bcancel\b/i],
  ['change', /\b(reschedule|move|change) (my )?appointment\b/i],
  ['refill', /\brefill|prescription\b/i],
  ['billing', /\b(bill|invoice|payment|insurance)\b/i],
];
const AUTH_TOKEN = 'bench-auth-token';
const WEBHOOK_URL = 'https://concierge.example.test/twilio/sms';

/** X-Twilio-Signature: base64 HMAC-SHA1 over the URL and the POST parameters sorted by name. */
function twilioSignature(params: URLSearchParams): string {
  const data = [...params.keys()].sort().reduce((acc, k) => acc + k + params.get(k), WEBHOOK_URL);
  return createHmac('sha1', AUTH_TOKEN).update(data).digest('base64');
}

function escapeXml(s: string): string {
  return s.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

function serve(instrumented: boolean) {
  let tracer = trace.getTracer('concierge');
  let logger = logs.getLogger('concierge');
  let m: ConciergeMetrics = new ConciergeMetrics(metrics.getMeter('concierge'));
  let requests = 0;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const deps = JSON.parse(process.env.DEPS!) as { voiceAi: string; openemr: string };
  const ready = instrumented
    ? initTelemetry({
        client: 'bench',
        instance: 'bench-1',
        prometheus: { port: 0, host: '127.0.0.1' },
        otlp: { endpoint: process.env.OTLP_URL!, metricsIntervalMs: 5000, batchDelayMs: 1000 },
        traceSampleRatio: Number(process.env.TRACE_RATIO),
        contextPropagation: process.env.CONTEXT as 'async' | 'explicit',
      }).then((t) => {
        m = t.metrics;
        tracer = t.tracer;
        logger = t.logger;
        return t.metricsUrl;
      })
    : Promise.resolve(undefined);

  /** One call to a dependency stand-in, with its span and its latency. */
  function call(dependency: Dependency, url: string, body: string, parent: Context): Promise<string> {
    const span = tracer.startSpan(`${dependency}.request`, { attributes: { dependency } }, parent);
    const t0 = performance.now();
    return new Promise<string>((resolve, reject) => {
      const req = http.request(
        url,
        { method: 'POST', agent, headers: { 'content-type': 'application/json' } },
        (res) => {
          let out = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => (out += d));
          res.on('end', () =>
            res.statusCode === 200 ? resolve(out) : reject(new Error(`HTTP ${res.statusCode}`)),
          );
        },
      );
      req.on('error', reject);
      req.end(body);
    }).then(
      (out) => {
        m.dependencyRequest(dependency, 'ok', (performance.now() - t0) / 1000);
        span.end();
        return out;
      },
      (err: unknown) => {
        m.dependencyRequest(dependency, 'error', (performance.now() - t0) / 1000);
        span.setStatus({ code: SpanStatusCode.ERROR });
        span.end();
        throw err;
      },
    );
  }

  async function handle(raw: string, signature: string | undefined): Promise<string> {
    const started = performance.now();
    const params = new URLSearchParams(raw);
    if (signature !== twilioSignature(params)) throw new Error('bad signature');
    const text = params.get('Body') ?? '';
    const channel: Channel = 'sms';
    const span = tracer.startSpan('concierge.turn', {
      attributes: { channel, 'concierge.conversation.id': params.get('From') ?? '' },
    });
    const ctx = trace.setSpan(context.active(), span);
    const crisis = CRISIS.test(text);
    const intent = INTENTS.find(([, re]) => re.test(text))?.[0] ?? 'other';
    span.setAttribute('concierge.intent', intent);
    let reply: string;
    try {
      if (crisis) {
        reply = 'If this is an emergency, call 911 now. I am connecting you to the practice.';
        m.crisisResponded(channel, (performance.now() - started) / 1000);
        m.escalated(channel, 'crisis');
      } else {
        let slots: number[] = [];
        if (intent === 'book' || intent === 'change') {
          slots = (
            JSON.parse(await call('openemr', deps.openemr, JSON.stringify({ provider: 'p1' }), ctx)) as {
              slots: number[];
            }
          ).slots;
          m.appointment(intent === 'book' ? 'booked' : 'changed', channel);
        }
        const ai = JSON.parse(
          await call('voice_ai', deps.voiceAi, JSON.stringify({ intent, text, slots }), ctx),
        ) as {
          reply: string;
        };
        reply = ai.reply;
      }
      m.request(channel, 'ok');
      m.aiTurn(channel, 'ok', (performance.now() - started) / 1000);
    } catch (err) {
      m.request(channel, 'error');
      throw err;
    } finally {
      if (++requests % 10 === 0)
        logger.emit({ severityNumber: SeverityNumber.INFO, body: 'concierge.turn.done' });
      span.end();
    }
    return `<?xml version="1.0" encoding="UTF-8"?><Response><Message>${escapeXml(reply)}</Message></Response>`;
  }

  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => (body += d));
    req.on('end', () => {
      handle(body, req.headers['x-twilio-signature'] as string | undefined).then(
        (out) => res.writeHead(200, { 'content-type': 'text/xml' }).end(out),
        (err: Error) => {
          if (process.env.BENCH_DEBUG) console.error(err);
          res.writeHead(500).end();
        },
      );
    });
  });
  server.keepAliveTimeout = 60_000;
  void ready.then((metricsUrl) =>
    server.listen(0, '127.0.0.1', () => {
      process.send!({ port: (server.address() as AddressInfo).port, metricsUrl });
    }),
  );
  let mark = { cpu: process.cpuUsage(), requests: 0 };
  process.on('message', (cmd: string) => {
    if (cmd === 'mark') {
      mark = { cpu: process.cpuUsage(), requests };
      process.send!({ marked: true });
    }
    if (cmd === 'read') {
      const cpu = process.cpuUsage(mark.cpu);
      process.send!({ cpuUs: cpu.user + cpu.system, requests: requests - mark.requests });
    }
    if (cmd === 'exit') process.exit(0);
  });
}

// ---------------------------------------------------------------- the load (parent process)

const TEXTS = [
  'Hi, I would like to book an appointment with Dr. Patel next week please',
  'Can I reschedule my appointment on Thursday?',
  'I need a refill of my prescription',
  'I have a question about my bill from last month',
  'What time do you open on Saturday?',
  'I have chest pain and feel dizzy',
];

function ask<T>(child: ChildProcess, cmd: string): Promise<T> {
  return new Promise((resolve) => {
    child.once('message', (m) => resolve(m as T));
    child.send(cmd);
  });
}

/** A loopback HTTP server in this (unmeasured) process. */
async function standIn(answer: (body: string) => string): Promise<{ url: string; close(): void }> {
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => (body += d));
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(answer(body)));
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => server.close() };
}

const SLOTS = JSON.stringify({ slots: [1767603600000, 1767604500000, 1767606300000] });

type Propagation = 'async' | 'explicit';

async function round(
  mode: 'with' | 'without',
  env: Record<string, string>,
  traceRatio: number,
  propagation: Propagation,
): Promise<{ cpuPerRequestUs: number; rps: number }> {
  const child = fork(import.meta.filename, ['--serve', mode], {
    execArgv: ['--import', 'tsx', ...(process.env.BENCH_CHILD_NODE_ARGS?.split(' ').filter(Boolean) ?? [])],
    env: { ...process.env, ...env, TRACE_RATIO: String(traceRatio), CONTEXT: propagation },
  });
  const { port, metricsUrl } = await new Promise<{ port: number; metricsUrl?: string }>((resolve) =>
    child.once('message', (m) => resolve(m as { port: number; metricsUrl?: string })),
  );
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  let seq = 0;
  let failed = 0;
  const reasons = new Map<string, number>();
  const fail = (why: string) => {
    failed++;
    reasons.set(why, (reasons.get(why) ?? 0) + 1);
  };
  const send = () => {
    const i = seq++;
    const params = new URLSearchParams({
      MessageSid: `SM${String(i).padStart(32, '0')}`,
      AccountSid: 'AC00000000000000000000000000000000',
      From: `+1617555${String(i % 500).padStart(4, '0')}`,
      To: '+16175550100',
      Body: TEXTS[i % TEXTS.length]!,
      NumMedia: '0',
    });
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path: '/twilio/sms',
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'x-twilio-signature': twilioSignature(params),
        },
      },
      (res) => {
        res.resume();
        if (res.statusCode !== 200) fail(`HTTP ${res.statusCode}`);
      },
    );
    req.on('error', (e: NodeJS.ErrnoException) => fail(e.code ?? e.message));
    req.end(params.toString());
  };
  // Open loop: a batch every 10 ms keeps the rate whatever the latency.
  const perTick = RPS / 100;
  let owed = 0;
  const load = setInterval(() => {
    owed += perTick;
    for (; owed >= 1; owed--) send();
  }, 10);
  const scrape = metricsUrl
    ? setInterval(
        () =>
          void fetch(metricsUrl).then(
            (r) => r.text(),
            () => '',
          ),
        1000,
      )
    : undefined;
  await new Promise((r) => setTimeout(r, WARMUP_SECONDS * 1000));
  await ask(child, 'mark');
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  const { cpuUs, requests } = await ask<{ cpuUs: number; requests: number }>(child, 'read');
  const elapsed = (performance.now() - t0) / 1000;
  // Requests still in flight when the child exits are reset: only failures up to now count.
  const failedInRun = failed;
  clearInterval(load);
  if (scrape) clearInterval(scrape);
  child.send('exit');
  await new Promise((r) => child.once('exit', r));
  agent.destroy();
  // A few resets of keep-alive sockets under an overloaded machine are noise; more is a broken handler.
  if (failedInRun > requests * 0.01)
    throw new Error(`${failedInRun} requests failed in mode ${mode}: ${JSON.stringify([...reasons])}`);
  return { cpuPerRequestUs: cpuUs / requests, rps: requests / elapsed };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function compare(
  env: Record<string, string>,
  traceRatio: number,
  propagation: Propagation,
): Promise<{ ratio: number; rps: number }> {
  const ratios: number[] = [];
  const rates: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const without = await round('without', env, traceRatio, propagation);
    const withTel = await round('with', env, traceRatio, propagation);
    const ratio = withTel.cpuPerRequestUs / without.cpuPerRequestUs;
    ratios.push(ratio);
    rates.push(without.rps, withTel.rps);
    console.log(
      `traces ${traceRatio * 100}%, context ${propagation}, round ${i + 1}: without ${without.cpuPerRequestUs.toFixed(1)} us/req at ` +
        `${without.rps.toFixed(0)} rps, with ${withTel.cpuPerRequestUs.toFixed(1)} us/req at ` +
        `${withTel.rps.toFixed(0)} rps, ratio ${ratio.toFixed(3)}`,
    );
  }
  return { ratio: median(ratios), rps: median(rates) };
}

async function main() {
  if (process.argv[2] === '--serve') {
    serve(process.argv[3] === 'with');
    return;
  }
  const otlp = await standIn(() => '{}');
  const voiceAi = await standIn((body) =>
    JSON.stringify({
      reply: `Thanks. About ${(JSON.parse(body) as { intent: string }).intent}: we will help.`,
    }),
  );
  const openemr = await standIn(() => SLOTS);
  const env = { OTLP_URL: otlp.url, DEPS: JSON.stringify({ voiceAi: voiceAi.url, openemr: openemr.url }) };
  const ratioSetting = Number(process.env.BENCH_TRACE_RATIO ?? DEFAULT_TRACE_SAMPLE_RATIO);
  // The handler hands each span's parent on itself, as the concierge runtime does: contextPropagation
  // 'explicit'. BENCH_CONTEXT=async measures the library's default instead.
  const propagation = (process.env.BENCH_CONTEXT ?? 'explicit') as Propagation;
  const alone = process.env.BENCH_TRACE_RATIO !== undefined || process.env.BENCH_CONTEXT !== undefined;
  const everyTrace = alone ? undefined : await compare(env, 1, propagation);
  const asyncContext = alone ? undefined : await compare(env, ratioSetting, 'async');
  const main = await compare(env, ratioSetting, propagation);
  for (const s of [otlp, voiceAi, openemr]) s.close();
  if (everyTrace) console.log(`every trace kept: cpu_ratio=${everyTrace.ratio.toFixed(3)}`);
  if (asyncContext)
    console.log(`context manager on (contextPropagation async): cpu_ratio=${asyncContext.ratio.toFixed(3)}`);
  console.log(
    `bench telemetry-overhead: rps=${Math.round(main.rps)} cpu_ratio=${main.ratio.toFixed(3)} ` +
      `trace_ratio=${ratioSetting} context=${propagation}`,
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
