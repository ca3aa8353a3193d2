/**
 * The concierge's instruments: through `@opentelemetry/api` on any Meter (the global one after initTelemetry,
 * or a test's), or aggregated in place (the instance initTelemetry returns). Methods take the bounded label
 * values as typed arguments, so a call site cannot put a phone number in a label; the redaction View (API
 * instruments) or the cells' own allowlist (aggregated) is the safety net.
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
import { AggregatedInstruments, type Record2 } from './aggregated.ts';

/** A Record2 over an instrument of the API: the label values become its attribute object. */
function viaApi(meter: Meter, spec: MetricSpec): Record2 {
  const [la, lb] = spec.labels;
  let instrument: Counter | UpDownCounter | Histogram;
  if (spec.kind === 'histogram')
    instrument = meter.createHistogram(spec.name, {
      unit: spec.unit,
      description: spec.description,
      advice: { explicitBucketBoundaries: [...(spec.buckets ?? [])] },
    });
  else if (spec.kind === 'updowncounter')
    instrument = meter.createUpDownCounter(spec.name, { unit: spec.unit, description: spec.description });
  else instrument = meter.createCounter(spec.name, { unit: spec.unit, description: spec.description });
  const attrs = (a: string, b?: string) => (lb === undefined ? { [la!]: a } : { [la!]: a, [lb]: b });
  if ('record' in instrument) {
    const h = instrument;
    return (v, a, b) => h.record(v, attrs(a, b));
  }
  const c = instrument;
  return (v, a, b) => c.add(v, attrs(a, b));
}

type Recorder = Record2;

/**
 * The concierge's instruments. On a Meter (any: the global one, a test's) they are API instruments; the
 * instance initTelemetry returns records into AggregatedInstruments instead (aggregated.ts), which its
 * readers collect: the same series, for a fraction of the CPU per record.
 */
export class ConciergeMetrics {
  private readonly requests: Recorder;
  private readonly conversations: Recorder;
  private readonly callDuration: Recorder;
  private readonly activeCalls: Recorder;
  private readonly turnDuration: Recorder;
  private readonly apiResponse: Recorder;
  private readonly crisisResponse: Recorder;
  private readonly escalations: Recorder;
  private readonly dependencyDuration: Recorder;
  private readonly appointmentActions: Recorder;

  constructor(source: Meter | AggregatedInstruments) {
    const make = (spec: MetricSpec) =>
      source instanceof AggregatedInstruments ? source.recorder(spec) : viaApi(source, spec);
    this.requests = make(METRICS.requests);
    this.conversations = make(METRICS.conversations);
    this.callDuration = make(METRICS.callDuration);
    this.activeCalls = make(METRICS.activeCalls);
    this.turnDuration = make(METRICS.turnDuration);
    this.apiResponse = make(METRICS.apiResponse);
    this.crisisResponse = make(METRICS.crisisResponse);
    this.escalations = make(METRICS.escalations);
    this.dependencyDuration = make(METRICS.dependencyDuration);
    this.appointmentActions = make(METRICS.appointmentActions);
  }

  /** One patient-facing request handled (a message answered, a spoken turn). */
  request(channel: Channel, outcome: RequestOutcome): void {
    this.requests(1, channel, outcome);
  }

  /** A conversation began: counts as active until `conversationEnded`. */
  conversationStarted(channel: Channel): void {
    this.activeCalls(1, channel);
  }

  /** A conversation ended; for phone calls `durationSeconds` goes into the call-duration histogram. */
  conversationEnded(channel: Channel, outcome: ConversationOutcome, durationSeconds?: number): void {
    this.activeCalls(-1, channel);
    this.conversations(1, channel, outcome);
    if (channel === 'voice' && durationSeconds !== undefined) {
      this.callDuration(durationSeconds, outcome);
    }
  }

  aiTurn(channel: Channel, outcome: RequestOutcome, seconds: number): void {
    this.turnDuration(seconds, channel, outcome);
  }

  /** The concierge's API answered a request (a web chat message, a Twilio webhook) after `seconds`. */
  apiResponded(channel: Channel, outcome: RequestOutcome, seconds: number): void {
    this.apiResponse(seconds, channel, outcome);
  }

  crisisResponded(channel: Channel, seconds: number): void {
    this.crisisResponse(seconds, channel);
  }

  escalated(channel: Channel, reason: EscalationReason): void {
    this.escalations(1, channel, reason);
  }

  dependencyRequest(dependency: Dependency, outcome: DependencyOutcome, seconds: number): void {
    this.dependencyDuration(seconds, dependency, outcome);
  }

  appointment(action: AppointmentAction, channel: Channel): void {
    this.appointmentActions(1, action, channel);
  }
}
