/**
 * The concierge's instruments, created through `@opentelemetry/api` only: the runtime can build them on any
 * Meter (the global one after initTelemetry, or a test's). Methods take the bounded label values as typed
 * arguments, so a call site cannot put a phone number in a label; the redaction View is the safety net.
 */
import type { Counter, Histogram, Meter, UpDownCounter } from '@opentelemetry/api';
import {
  METRICS,
  type AppointmentAction,
  type Channel,
  type ConversationOutcome,
  type Dependency,
  type DependencyOutcome,
  type EscalationReason,
  type MetricSpec,
  type RequestOutcome,
} from './catalog.ts';

function histogram(meter: Meter, spec: MetricSpec): Histogram {
  return meter.createHistogram(spec.name, {
    unit: spec.unit,
    description: spec.description,
    advice: { explicitBucketBoundaries: [...(spec.buckets ?? [])] },
  });
}

function counter(meter: Meter, spec: MetricSpec): Counter {
  return meter.createCounter(spec.name, { unit: spec.unit, description: spec.description });
}

export class ConciergeMetrics {
  private readonly requests: Counter;
  private readonly conversations: Counter;
  private readonly callDuration: Histogram;
  private readonly activeCalls: UpDownCounter;
  private readonly turnDuration: Histogram;
  private readonly crisisResponse: Histogram;
  private readonly escalations: Counter;
  private readonly dependencyDuration: Histogram;
  private readonly appointmentActions: Counter;

  constructor(meter: Meter) {
    this.requests = counter(meter, METRICS.requests);
    this.conversations = counter(meter, METRICS.conversations);
    this.callDuration = histogram(meter, METRICS.callDuration);
    this.activeCalls = meter.createUpDownCounter(METRICS.activeCalls.name, {
      unit: METRICS.activeCalls.unit,
      description: METRICS.activeCalls.description,
    });
    this.turnDuration = histogram(meter, METRICS.turnDuration);
    this.crisisResponse = histogram(meter, METRICS.crisisResponse);
    this.escalations = counter(meter, METRICS.escalations);
    this.dependencyDuration = histogram(meter, METRICS.dependencyDuration);
    this.appointmentActions = counter(meter, METRICS.appointmentActions);
  }

  /** One patient-facing request handled (a message answered, a spoken turn). */
  request(channel: Channel, outcome: RequestOutcome): void {
    this.requests.add(1, { channel, outcome });
  }

  /** A conversation began: counts as active until `conversationEnded`. */
  conversationStarted(channel: Channel): void {
    this.activeCalls.add(1, { channel });
  }

  /** A conversation ended; for phone calls `durationSeconds` goes into the call-duration histogram. */
  conversationEnded(channel: Channel, outcome: ConversationOutcome, durationSeconds?: number): void {
    this.activeCalls.add(-1, { channel });
    this.conversations.add(1, { channel, outcome });
    if (channel === 'voice' && durationSeconds !== undefined) {
      this.callDuration.record(durationSeconds, { outcome });
    }
  }

  aiTurn(channel: Channel, outcome: RequestOutcome, seconds: number): void {
    this.turnDuration.record(seconds, { channel, outcome });
  }

  crisisResponded(channel: Channel, seconds: number): void {
    this.crisisResponse.record(seconds, { channel });
  }

  escalated(channel: Channel, reason: EscalationReason): void {
    this.escalations.add(1, { channel, reason });
  }

  dependencyRequest(dependency: Dependency, outcome: DependencyOutcome, seconds: number): void {
    this.dependencyDuration.record(seconds, { dependency, outcome });
  }

  appointment(action: AppointmentAction, channel: Channel): void {
    this.appointmentActions.add(1, { action, channel });
  }
}
