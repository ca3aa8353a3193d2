/**
 * Simulated patient traffic for one instance, recorded through concierge-telemetry exactly as the runtime
 * would: turns on three channels, AI latency, dependency calls, crisis answers, escalations, appointments,
 * conversations that start and end. What is broken changes what gets recorded: a broken backend fails every
 * request; a broken dependency times out or errors, and the turns that need it fail or are escalated.
 */
import { SpanStatusCode, context, trace } from '@opentelemetry/api';
import { SeverityNumber } from '@opentelemetry/api-logs';
import type { Channel, Dependency, Telemetry } from '@concierge-ops/telemetry';

/** mulberry32: the same seed gives the same traffic. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Conversation {
  channel: Channel;
  turnsLeft: number;
  startedAt: number;
  escalated: boolean;
  failed: boolean;
}

export interface TrafficState {
  isBroken(target: string): boolean;
}

export class Traffic {
  private readonly random: () => number;
  private readonly open: Conversation[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** Simulated clock for call durations: each tick stands for about ten seconds of a real practice. */
  private clock = 0;

  constructor(
    private readonly telemetry: Telemetry,
    private readonly state: TrafficState,
    seed: number,
  ) {
    this.random = rng(seed);
  }

  start(rps: number): void {
    this.timer = setInterval(() => this.tick(), Math.max(2, 1000 / rps));
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  private pick<T>(items: readonly T[], weights: readonly number[]): T {
    let r = this.random() * weights.reduce((a, b) => a + b, 0);
    for (let i = 0; i < items.length; i++) if ((r -= weights[i]!) < 0) return items[i]!;
    return items[items.length - 1]!;
  }

  /** Seconds, log-normal-ish around `median`. */
  private latency(median: number): number {
    return median * Math.exp((this.random() + this.random() + this.random() - 1.5) * 0.8);
  }

  /** One patient turn: a new conversation now and then, otherwise the next turn of an open one. */
  tick(): void {
    this.clock += 10;
    const m = this.telemetry.metrics;
    if (this.open.length < 3 || this.random() < 0.15) {
      const channel = this.pick<Channel>(['voice', 'sms', 'web'], [4, 3.5, 2.5]);
      this.open.push({
        channel,
        turnsLeft: 2 + Math.floor(this.random() * 6),
        startedAt: this.clock,
        escalated: false,
        failed: false,
      });
      m.conversationStarted(channel);
    }
    const conv = this.open[Math.floor(this.random() * this.open.length)]!;
    this.turn(conv);
    if (--conv.turnsLeft <= 0 || conv.escalated || (conv.failed && this.random() < 0.5)) {
      this.open.splice(this.open.indexOf(conv), 1);
      const outcome = conv.escalated
        ? 'escalated'
        : conv.failed
          ? 'failed'
          : this.random() < 0.08
            ? 'abandoned'
            : 'resolved';
      m.conversationEnded(conv.channel, outcome, this.clock - conv.startedAt + this.random() * 30);
    }
  }

  private turn(conv: Conversation): void {
    const { metrics: m, tracer, logger } = this.telemetry;
    const channel = conv.channel;
    const span = tracer.startSpan('concierge.turn', { attributes: { channel } });
    const ctx = trace.setSpan(context.active(), span);
    try {
      // The API answers first (Twilio's webhook, the web chat's POST); the reply follows on its own. A broken
      // backend fails fast at the proxy, as a 502 would.
      if (this.state.isBroken('backend')) {
        m.apiResponded(channel, 'error', this.latency(0.01));
        m.request(channel, 'error');
        span.setStatus({ code: SpanStatusCode.ERROR });
        conv.failed = true;
        return;
      }
      m.apiResponded(channel, 'ok', this.latency(0.06));
      if (this.random() < 0.02) {
        // A crisis message is answered from a fixed script before any model call: fast, on every channel.
        const seconds = this.latency(0.02);
        m.crisisResponded(channel, seconds);
        m.escalated(channel, 'crisis');
        m.request(channel, 'ok');
        logger.emit({
          severityNumber: SeverityNumber.WARN,
          body: 'concierge.crisis.escalated',
          attributes: { channel },
        });
        conv.escalated = true;
        return;
      }
      const ai = this.call('voice_ai', ctx, 0.35);
      if (!ai) {
        m.aiTurn(channel, 'error', this.latency(2));
        m.request(channel, 'error');
        m.escalated(channel, 'dependency_failure');
        conv.escalated = true;
        span.setStatus({ code: SpanStatusCode.ERROR });
        return;
      }
      m.aiTurn(channel, 'ok', ai + this.latency(0.15));
      let ok = true;
      if (this.random() < 0.12) {
        if (this.call('openemr', ctx, 0.12)) {
          m.appointment(this.pick(['booked', 'changed', 'cancelled'] as const, [6, 2, 2]), channel);
        } else {
          ok = false;
          m.escalated(channel, 'dependency_failure');
          conv.escalated = true;
        }
      }
      if (channel === 'sms' && !this.call('twilio', ctx, 0.08)) ok = false;
      if (this.random() < 0.03) {
        m.escalated(
          channel,
          this.pick(
            ['patient_request', 'clinical_question', 'billing', 'low_confidence'] as const,
            [4, 3, 2, 1],
          ),
        );
        conv.escalated = true;
      }
      m.request(channel, ok ? 'ok' : 'error');
      if (!ok) span.setStatus({ code: SpanStatusCode.ERROR });
    } finally {
      span.end();
    }
  }

  /** A dependency call: its latency in seconds, or undefined when it failed. */
  private call(
    dependency: Dependency,
    ctx: ReturnType<typeof context.active>,
    median: number,
  ): number | undefined {
    const { metrics: m, tracer } = this.telemetry;
    const span = tracer.startSpan(`${dependency}.request`, { attributes: { dependency } }, ctx);
    try {
      if (this.state.isBroken(dependency)) {
        const timeout = this.random() < 0.5;
        const seconds = timeout ? 5 : this.latency(0.05);
        m.dependencyRequest(dependency, timeout ? 'timeout' : 'error', seconds);
        span.setStatus({ code: SpanStatusCode.ERROR });
        span.setAttribute('outcome', timeout ? 'timeout' : 'error');
        return undefined;
      }
      const seconds = this.latency(median);
      m.dependencyRequest(dependency, 'ok', seconds);
      return seconds;
    } finally {
      span.end();
    }
  }
}
