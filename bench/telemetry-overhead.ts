/**
 * What concierge-telemetry costs the runtime: added CPU per request, as a ratio.
 *
 * A concierge request handler runs in a child process behind node:http, doing what the runtime does for an
 * incoming SMS webhook: check the X-Twilio-Signature (HMAC-SHA1), parse the form body, classify intent and
 * crisis, ask the voice AI for the reply and, for bookings, ask OpenEMR for free slots (both over loopback
 * HTTP to stand-ins in the parent), and answer with TwiML. The same handler code runs in two modes:
 *   without: initTelemetry is never called, so `@opentelemetry/api` is the no-op it is in an uninstrumented
 *            runtime;
 *   with:    initTelemetry with redaction (always on), the Prometheus pull endpoint (scraped every
 *            BENCH_SCRAPE_S, default 15 s: prometheus/prometheus.yml's scrape_interval) and OTLP over HTTP for
 *            metrics, traces and logs at the library's default intervals (to a receiver in the parent, so the
 *            receiver's CPU is not counted but the child's serialisation and sending are). Every request makes
 *            a turn span and one per dependency call, four to six metric records, every tenth a log. Traces
 *            are sampled as the library's defaults (traceSampleRatio 0.1, at most traceRateLimit 10 new
 *            traces a second: at 1000 requests/s, one in a hundred). The handler hands each span's parent
 *            on itself, as the concierge runtime does, so it runs with contextPropagation 'explicit' (no
 *            AsyncLocalStorage context manager).
 * Each round starts one child of each mode and drives both at the same time, open-loop at BENCH_RPS (1000)
 * requests per second each over keep-alive connections, their requests interleaved, with both children on
 * one CPU and this process (the load and the stand-ins) on another (BENCH_PIN, default 0:1; off leaves
 * placement to the kernel), so that whatever else the machine does in the window falls on both alike. On
 * this VM one child's CPU per request moves by ±15 % from one 3-second slice to the next with the host's
 * load; two children on different CPUs moved apart by as much, and a round's ratio by ±8 %. On one CPU, fed
 * in turns, two children without telemetry stay within 1-2 % of each other (BENCH_AA=1: the "with" child
 * never calls initTelemetry, the method's own noise). The first BENCH_WARMUP_SECONDS (60) of a round are the
 * runtime's start: the library's periodic work (a span or log batch every few seconds, the OTLP metric push and
 * the scrape every 15 s) runs through code that V8 compiles over its first few runs, and deoptimises shared code
 * (node's streams and http) that the handler's hot path had been optimised for. In one round read in 15-second
 * blocks, the with child used 16 % and 13 % more CPU per request over the first two blocks and -6 to +6 % in
 * the seven after. cpu_ratio is the steady state the target is about: process.cpuUsage() of each child (all its
 * threads) read over the BENCH_SECONDS (20) after the start; the round's ratio is CPU per request with /
 * without, and cpu_ratio the median of BENCH_ROUNDS (5) rounds. Target: below 1.05. startup_ratio is the same
 * ratio over the start (the first BENCH_WARMUP_SECONDS, median of the rounds), printed so that what starting
 * costs is not hidden.
 * Printed before the headline, each the median of BENCH_SIDE_ROUNDS (2) rounds of its own: every trace kept
 * (no rate limit), the sample ratio alone (traceRateLimit Infinity: what the limit saves), and the library's
 * default context manager on (async). BENCH_TRACE_RATIO=x, BENCH_RATE_LIMIT=n|Infinity or
 * BENCH_CONTEXT=async|explicit runs only that one comparison.
 * Diagnostics: BENCH_DEBUG=1 prints each child's CPU by thread (main, V8/libuv workers) and its GCs;
 * BENCH_SKIP=spans,metrics,logs leaves those calls as no-ops in the instrumented child (what each costs in
 * place); BENCH_PRESENCE_ONLY=1 initialises the library but makes no call (what its presence costs);
 * BENCH_NODE_ARGS_WITH / BENCH_NODE_ARGS_WITHOUT / BENCH_CHILD_NODE_ARGS add node flags (--cpu-prof,
 * --trace-deopt; "MARK" is printed where the window starts) to one or both children; BENCH_OTLP_SIGNALS
 * (e.g. metrics), BENCH_OTLP_METRICS_MS and BENCH_BATCH_MS change what is pushed and how often.
 */
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance, PerformanceObserver } from 'node:perf_hooks';
import { createHmac } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import {
  metrics,
  trace,
  context,
  SpanStatusCode,
  INVALID_SPAN_CONTEXT,
  createNoopMeter,
  type Context,
} from '@opentelemetry/api';
import { logs, SeverityNumber } from '@opentelemetry/api-logs';
import {
  ConciergeMetrics,
  DEFAULT_TRACE_RATE_LIMIT,
  DEFAULT_TRACE_SAMPLE_RATIO,
  initTelemetry,
  type Channel,
  type Dependency,
  type Signal,
} from '../exporters/concierge-telemetry/src/index.ts';

const RPS = Number(process.env.BENCH_RPS ?? 1000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 60);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const SIDE_ROUNDS = Number(process.env.BENCH_SIDE_ROUNDS ?? 2);
const SCRAPE_S = Number(process.env.BENCH_SCRAPE_S ?? 15);
/** The driver (this process) on one CPU, both children together on another; BENCH_PIN=off leaves it to the kernel. */
const PIN = ((): { driver: string; children: string } | undefined => {
  const setting = process.env.BENCH_PIN ?? (availableParallelism() >= 2 ? '0:1' : 'off');
  if (setting === 'off') return undefined;
  const [driver, children] = setting.split(':');
  return { driver: driver!, children: children! };
})();

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

/** BENCH_DEBUG: CPU ticks (1/100 s) of this process's main thread and of its other threads (V8, libuv). */
function threadTicks(): Map<string, number> {
  const out = new Map<string, number>();
  for (const t of readdirSync('/proc/self/task')) {
    const stat = readFileSync(`/proc/self/task/${t}/stat`, 'utf8');
    const name = t === String(process.pid) ? 'main' : `+${Number(t) - process.pid}`;
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    out.set(name, (out.get(name) ?? 0) + Number(f[11]) + Number(f[12]));
  }
  return out;
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
        otlp: {
          endpoint: process.env.OTLP_URL!,
          signals: process.env.BENCH_OTLP_SIGNALS?.split(',') as Signal[] | undefined,
          metricsIntervalMs: process.env.BENCH_OTLP_METRICS_MS
            ? Number(process.env.BENCH_OTLP_METRICS_MS)
            : undefined,
          batchDelayMs: process.env.BENCH_BATCH_MS ? Number(process.env.BENCH_BATCH_MS) : undefined,
        },
        traceSampleRatio: Number(process.env.TRACE_RATIO),
        traceRateLimit: process.env.RATE_LIMIT ? Number(process.env.RATE_LIMIT) : undefined,
        contextPropagation: process.env.CONTEXT as 'async' | 'explicit',
        registerGlobal: !process.env.BENCH_PRESENCE_ONLY,
      }).then((t) => {
        if (process.env.BENCH_PRESENCE_ONLY) return t.metricsUrl;
        const skip = process.env.BENCH_SKIP ?? '';
        if (!skip.includes('metrics')) m = t.metrics;
        else m = new ConciergeMetrics(createNoopMeter());
        if (!skip.includes('spans')) tracer = t.tracer;
        else
          tracer = {
            startSpan: () => trace.wrapSpanContext(INVALID_SPAN_CONTEXT),
            startActiveSpan: () => undefined,
          } as never;
        if (!skip.includes('logs')) logger = t.logger;
        else logger = { emit() {} } as never;
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
  // Per-thread CPU only for BENCH_DEBUG: reading /proc inside the window would be charged to the child.
  const threads = () => (process.env.BENCH_DEBUG ? threadTicks() : new Map<string, number>());
  let mark = { cpu: process.cpuUsage(), requests: 0, threads: threads() };
  const gc = new Map<number, { n: number; ms: number }>();
  if (process.env.BENCH_DEBUG)
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        const kind = (e as unknown as { detail: { kind: number } }).detail.kind;
        const g = gc.get(kind) ?? { n: 0, ms: 0 };
        g.n++;
        g.ms += e.duration;
        gc.set(kind, g);
      }
    }).observe({ entryTypes: ['gc'] });
  // The bench gone (finished or failed): nothing left to serve.
  process.on('disconnect', () => process.exit(0));
  process.on('message', (cmd: string) => {
    if (cmd === 'mark') {
      mark = { cpu: process.cpuUsage(), requests, threads: threads() };
      gc.clear();
      if (process.env.BENCH_DEBUG) console.log(`MARK ${instrumented ? 'with' : 'without'}`);
      process.send!({ marked: true });
    }
    if (cmd === 'read') {
      const cpu = process.cpuUsage(mark.cpu);
      if (process.env.BENCH_DEBUG) {
        const now = threadTicks();
        const by = [...now]
          .map(([k, v]) => [k, (v - (mark.threads.get(k) ?? 0)) * 10] as const)
          .filter(([, ms]) => ms > 0)
          .map(([k, ms]) => `${k}=${ms}ms`);
        const gcs = [...gc].map(([k, g]) => `kind${k}: ${g.n}x ${g.ms.toFixed(0)}ms`);
        console.error(`${instrumented ? 'with' : 'without'} threads: ${by.join(' ')} gc ${gcs.join(', ')}`);
      }
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

/** A child serving `mode`, ready for load. */
async function spawn(
  mode: 'with' | 'without',
  env: Record<string, string>,
  traceRatio: number,
  propagation: Propagation,
): Promise<{ child: ChildProcess; port: number; metricsUrl?: string }> {
  const child = fork(import.meta.filename, ['--serve', mode], {
    execArgv: [
      '--import',
      'tsx',
      ...(process.env.BENCH_CHILD_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
      ...(process.env[`BENCH_NODE_ARGS_${mode.toUpperCase()}`]?.split(' ').filter(Boolean) ?? []),
    ],
    env: { ...process.env, ...env, TRACE_RATIO: String(traceRatio), CONTEXT: propagation },
  });
  const { port, metricsUrl } = await new Promise<{ port: number; metricsUrl?: string }>((resolve) =>
    child.once('message', (m) => resolve(m as { port: number; metricsUrl?: string })),
  );
  if (PIN) pin(child.pid!, PIN.children);
  return { child, port, metricsUrl };
}

/**
 * Open-loop load on both children at RPS each, a batch every 10 ms, their requests interleaved (one to each
 * in turn; which child comes first alternates from batch to batch). On a shared CPU the child whose requests
 * come first is woken for each one while the other finds several waiting and serves them in one go: sent one
 * child's batch after the other's, two children without telemetry differed by up to 7 % in CPU per request,
 * steadily; interleaved, by under 1 % (BENCH_AA=1).
 */
function load(a: { send(): void }, b: { send(): void }): () => void {
  const perTick = RPS / 100;
  let owed = 0;
  let flip = false;
  const timer = setInterval(() => {
    owed += perTick;
    flip = !flip;
    const [first, second] = flip ? [a, b] : [b, a];
    for (; owed >= 1; owed--) {
      first.send();
      second.send();
    }
  }, 10);
  return () => clearInterval(timer);
}

/** Requests to one child (sent by `load`), and its Prometheus scrape every SCRAPE_S. */
function drive(port: number, metricsUrl: string | undefined) {
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
  const scrape = metricsUrl
    ? setInterval(
        () =>
          void fetch(metricsUrl).then(
            (r) => r.text(),
            () => '',
          ),
        SCRAPE_S * 1000,
      )
    : undefined;
  return {
    send,
    failed: () => failed,
    reasons: () => JSON.stringify([...reasons]),
    stop() {
      if (scrape) clearInterval(scrape);
      agent.destroy();
    },
  };
}

interface Measured {
  cpuPerRequestUs: number;
  rps: number;
}

type Reading = { cpuUs: number; requests: number };

/**
 * One round: a child without and a child with telemetry, started afresh and loaded at the same time, each
 * at RPS, so that whatever else the machine does in the window (CPU steal of the VM, the load generator's
 * own pauses) falls on both alike. Their CPU per request is read over the same two windows: the start (the
 * first WARMUP_SECONDS of load) and the steady state (the SECONDS after).
 */
async function round(
  env: Record<string, string>,
  traceRatio: number,
  propagation: Propagation,
  withFirst: boolean,
): Promise<{ start: { without: Measured; with: Measured }; steady: { without: Measured; with: Measured } }> {
  // Which child is started first alternates from round to round, so that whatever starting first or second
  // does falls on both alike. BENCH_AA=1: eight rounds with the same child always first, 0.968-1.005 (median
  // 0.990); six rounds alternating, 0.985-1.016 (median 1.005).
  const first = withFirst ? 'with' : 'without';
  const second = withFirst ? 'without' : 'with';
  const started = { [first]: await spawn(first, env, traceRatio, propagation) };
  started[second] = await spawn(second, env, traceRatio, propagation);
  const children = { without: started.without!, with: started.with! };
  const loads = {
    without: drive(children.without.port, undefined),
    with: drive(children.with.port, children.with.metricsUrl),
  };
  const both = <T>(cmd: string) =>
    Promise.all([ask<T>(children.without.child, cmd), ask<T>(children.with.child, cmd)]);
  const window = async (seconds: number) => {
    await both<{ marked: true }>('mark');
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const read = await both<Reading>('read');
    return { read, elapsed: (performance.now() - t0) / 1000 };
  };
  const stopLoad = load(loads.without, loads.with);
  const start = await window(WARMUP_SECONDS);
  const steady = await window(SECONDS);
  stopLoad();
  const out = { start: {}, steady: {} } as Awaited<ReturnType<typeof round>>;
  for (const [i, mode] of (['without', 'with'] as const).entries()) {
    // Requests still in flight when the child exits are reset: only failures up to now count.
    const failedInRun = loads[mode].failed();
    loads[mode].stop();
    children[mode].child.send('exit');
    await new Promise((r) => children[mode].child.once('exit', r));
    const requests = start.read[i]!.requests + steady.read[i]!.requests;
    // A few resets of keep-alive sockets under an overloaded machine are noise; more is a broken handler.
    if (failedInRun > requests * 0.01)
      throw new Error(`${failedInRun} requests failed in mode ${mode}: ${loads[mode].reasons()}`);
    for (const [w, { read, elapsed }] of [
      ['start', start],
      ['steady', steady],
    ] as const) {
      const { cpuUs, requests: n } = read[i]!;
      out[w][mode] = { cpuPerRequestUs: cpuUs / n, rps: n / elapsed };
    }
  }
  return out;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function compare(
  env: Record<string, string>,
  traceRatio: number,
  propagation: Propagation,
  rounds: number,
): Promise<{ ratio: number; startRatio: number; rps: number }> {
  const ratios: number[] = [];
  const startRatios: number[] = [];
  const rates: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const { start, steady } = await round(env, traceRatio, propagation, i % 2 === 1);
    const { without, with: withTel } = steady;
    const ratio = withTel.cpuPerRequestUs / without.cpuPerRequestUs;
    const startRatio = start.with.cpuPerRequestUs / start.without.cpuPerRequestUs;
    ratios.push(ratio);
    startRatios.push(startRatio);
    rates.push(without.rps, withTel.rps);
    console.log(
      `traces ${traceRatio * 100}% (at most ${env.RATE_LIMIT ?? DEFAULT_TRACE_RATE_LIMIT}/s), context ${propagation}, round ${i + 1}: without ${without.cpuPerRequestUs.toFixed(1)} us/req at ` +
        `${without.rps.toFixed(0)} rps, ${process.env.BENCH_AA ? 'twin' : 'with'} ${withTel.cpuPerRequestUs.toFixed(1)} us/req at ` +
        `${withTel.rps.toFixed(0)} rps, ratio ${ratio.toFixed(3)} (first ${WARMUP_SECONDS} s: ${startRatio.toFixed(3)})`,
    );
  }
  return { ratio: median(ratios), startRatio: median(startRatios), rps: median(rates) };
}

/** Every thread of `pid` onto `cpus` (a taskset list). */
function pin(pid: number, cpus: string) {
  try {
    execFileSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { stdio: 'ignore' });
  } catch (err) {
    // Without taskset (util-linux) the figures are the kernel's placement: far noisier on a small VM.
    throw new Error(
      `BENCH_PIN: taskset -c ${cpus} failed (${(err as Error).message}); BENCH_PIN=off runs unpinned`,
      { cause: err },
    );
  }
}

async function main() {
  if (process.argv[2] === '--serve') {
    serve(process.argv[3] === 'with' && !process.env.BENCH_AA);
    return;
  }
  if (PIN) pin(process.pid, PIN.driver);
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
  const alone = ['BENCH_TRACE_RATIO', 'BENCH_CONTEXT', 'BENCH_RATE_LIMIT'].some((v) => process.env[v]);
  const unlimited = { ...env, RATE_LIMIT: 'Infinity' };
  const everyTrace = alone ? undefined : await compare(unlimited, 1, propagation, SIDE_ROUNDS);
  const ratioAlone = alone ? undefined : await compare(unlimited, ratioSetting, propagation, SIDE_ROUNDS);
  const asyncContext = alone ? undefined : await compare(env, ratioSetting, 'async', SIDE_ROUNDS);
  const limit = process.env.BENCH_RATE_LIMIT;
  const main = await compare(limit ? { ...env, RATE_LIMIT: limit } : env, ratioSetting, propagation, ROUNDS);
  for (const s of [otlp, voiceAi, openemr]) s.close();
  if (everyTrace) console.log(`every trace kept: cpu_ratio=${everyTrace.ratio.toFixed(3)}`);
  if (ratioAlone)
    console.log(
      `traceSampleRatio ${ratioSetting} without the rate limit (traceRateLimit Infinity): cpu_ratio=${ratioAlone.ratio.toFixed(3)}`,
    );
  if (asyncContext)
    console.log(`context manager on (contextPropagation async): cpu_ratio=${asyncContext.ratio.toFixed(3)}`);
  console.log(
    `bench telemetry-overhead: rps=${Math.round(main.rps)} cpu_ratio=${main.ratio.toFixed(3)} ` +
      `startup_ratio=${main.startRatio.toFixed(3)} trace_ratio=${ratioSetting} ` +
      `trace_limit=${limit ?? DEFAULT_TRACE_RATE_LIMIT} context=${propagation}`,
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
