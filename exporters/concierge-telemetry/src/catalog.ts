/**
 * Every metric the concierge runtime reports: OpenTelemetry name, unit, label set with its bounded values,
 * and the name Prometheus shows (the same translation Prometheus's own OTLP receiver applies: dots become
 * underscores, the unit becomes a suffix, counters end in `_total`). The README's table is checked against
 * this list by the tests, and the redaction step only lets these labels and values through.
 */

export const CHANNELS = ['voice', 'sms', 'web'] as const;
export type Channel = (typeof CHANNELS)[number];

/** A patient-facing request (one message or one spoken turn handled end to end). */
export const REQUEST_OUTCOMES = ['ok', 'error'] as const;
export type RequestOutcome = (typeof REQUEST_OUTCOMES)[number];

/** How a conversation (a phone call, an SMS thread, a web chat) ended. */
export const CONVERSATION_OUTCOMES = ['resolved', 'escalated', 'abandoned', 'failed'] as const;
export type ConversationOutcome = (typeof CONVERSATION_OUTCOMES)[number];

export const ESCALATION_REASONS = [
  'crisis',
  'patient_request',
  'clinical_question',
  'billing',
  'low_confidence',
  'dependency_failure',
  'other',
] as const;
export type EscalationReason = (typeof ESCALATION_REASONS)[number];

export const DEPENDENCIES = ['openemr', 'twilio', 'voice_ai'] as const;
export type Dependency = (typeof DEPENDENCIES)[number];

export const DEPENDENCY_OUTCOMES = ['ok', 'error', 'timeout'] as const;
export type DependencyOutcome = (typeof DEPENDENCY_OUTCOMES)[number];

export const APPOINTMENT_ACTIONS = ['booked', 'changed', 'cancelled'] as const;
export type AppointmentAction = (typeof APPOINTMENT_ACTIONS)[number];

/** The only metric labels that exist, each with every value it may take. Anything else becomes `other`. */
export const METRIC_LABEL_VALUES: Readonly<Record<string, readonly string[]>> = {
  channel: CHANNELS,
  outcome: [...new Set([...REQUEST_OUTCOMES, ...CONVERSATION_OUTCOMES, ...DEPENDENCY_OUTCOMES])],
  reason: ESCALATION_REASONS,
  dependency: DEPENDENCIES,
  action: APPOINTMENT_ACTIONS,
};

/**
 * Crisis answers must be immediate: the provider's thresholds are 50 ms (warning), 100 ms (critical) and
 * 200 ms (emergency). Each is a bucket bound, so an alert on the p99 compares against an edge, not an
 * interpolation (prometheus/rules/concierge.yml relies on exactly these three bounds).
 */
export const CRISIS_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2.5];
/**
 * One AI turn: model plus retrieval; patients notice above about a second on the phone. 2 s is a bound on
 * purpose: the AI-turn objective (prometheus/rules/slo-latency.yml) counts turns answered within 2 s.
 */
export const TURN_BUCKETS = [0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10];
/**
 * The concierge API's answer to one request (a web chat message, a Twilio SMS or voice webhook). 0.5 s is a
 * bound on purpose: the API response-time objective (prometheus/rules/slo-latency.yml) counts answers
 * within 500 ms, and Twilio gives a webhook 15 s before it gives up (the 10 s bucket sees it coming).
 */
export const API_BUCKETS = [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** External calls: OpenEMR's FHIR API, Twilio's REST API, the speech/LLM provider. */
export const DEPENDENCY_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Phone calls last from seconds (hang-ups) to half an hour. */
export const CALL_BUCKETS = [5, 15, 30, 60, 120, 180, 300, 600, 1200, 1800];

export type InstrumentKind = 'counter' | 'histogram' | 'updowncounter';

export interface MetricSpec {
  /** OpenTelemetry instrument name. */
  readonly name: string;
  readonly kind: InstrumentKind;
  /** UCUM unit (`s`) or an annotation (`{call}`), as OpenTelemetry's semantic conventions write them. */
  readonly unit: string;
  readonly description: string;
  readonly labels: readonly string[];
  readonly buckets?: readonly number[];
  /** The series name on a Prometheus (pull endpoint or OTLP receiver); histograms add _bucket/_sum/_count. */
  readonly prometheusName: string;
}

export const METRICS = {
  requests: {
    name: 'concierge.requests',
    kind: 'counter',
    unit: '{request}',
    description: 'Patient-facing requests (one message or spoken turn) handled, by channel and outcome.',
    labels: ['channel', 'outcome'],
    prometheusName: 'concierge_requests_total',
  },
  conversations: {
    name: 'concierge.conversations',
    kind: 'counter',
    unit: '{conversation}',
    description: 'Conversations ended (a phone call, an SMS thread, a web chat), by channel and outcome.',
    labels: ['channel', 'outcome'],
    prometheusName: 'concierge_conversations_total',
  },
  callDuration: {
    name: 'concierge.call.duration',
    kind: 'histogram',
    unit: 's',
    description: 'Length of phone calls from answer to hang-up, by outcome.',
    labels: ['outcome'],
    buckets: CALL_BUCKETS,
    prometheusName: 'concierge_call_duration_seconds',
  },
  activeCalls: {
    name: 'concierge.calls.active',
    kind: 'updowncounter',
    unit: '{call}',
    description: 'Conversations in progress right now, by channel (voice: phone calls on the line).',
    labels: ['channel'],
    prometheusName: 'concierge_calls_active',
  },
  turnDuration: {
    name: 'concierge.ai.turn.duration',
    kind: 'histogram',
    unit: 's',
    description: 'Time from a patient message to the AI reply being ready, by channel and outcome.',
    labels: ['channel', 'outcome'],
    buckets: TURN_BUCKETS,
    prometheusName: 'concierge_ai_turn_duration_seconds',
  },
  apiResponse: {
    name: 'concierge.api.response.duration',
    kind: 'histogram',
    unit: 's',
    description:
      "Time the concierge's API takes to answer a request (web chat message, Twilio SMS or voice webhook), by channel and outcome.",
    labels: ['channel', 'outcome'],
    buckets: API_BUCKETS,
    prometheusName: 'concierge_api_response_duration_seconds',
  },
  crisisResponse: {
    name: 'concierge.crisis_response.duration',
    kind: 'histogram',
    unit: 's',
    description:
      'Time to answer a message classified as a crisis (50 ms warning, 100 ms critical, 200 ms emergency).',
    labels: ['channel'],
    buckets: CRISIS_BUCKETS,
    prometheusName: 'concierge_crisis_response_duration_seconds',
  },
  escalations: {
    name: 'concierge.escalations',
    kind: 'counter',
    unit: '{escalation}',
    description: 'Conversations handed to practice staff, by channel and reason.',
    labels: ['channel', 'reason'],
    prometheusName: 'concierge_escalations_total',
  },
  dependencyDuration: {
    name: 'concierge.dependency.request.duration',
    kind: 'histogram',
    unit: 's',
    description:
      'Requests to external dependencies (OpenEMR, Twilio, voice AI), by dependency and outcome; _count is the request count.',
    labels: ['dependency', 'outcome'],
    buckets: DEPENDENCY_BUCKETS,
    prometheusName: 'concierge_dependency_request_duration_seconds',
  },
  appointmentActions: {
    name: 'concierge.appointment.actions',
    kind: 'counter',
    unit: '{action}',
    description:
      'Appointments booked, changed or cancelled by the concierge (counts only, nothing about whom).',
    labels: ['action', 'channel'],
    prometheusName: 'concierge_appointment_actions_total',
  },
} as const satisfies Record<string, MetricSpec>;

export const METRIC_SPECS: readonly MetricSpec[] = Object.values(METRICS);

/** Prometheus's OTLP translation of a unit into a name suffix (annotations in braces add none). */
export const UNIT_SUFFIXES: Readonly<Record<string, string>> = {
  s: 'seconds',
  ms: 'milliseconds',
  By: 'bytes',
  '1': 'ratio',
};
