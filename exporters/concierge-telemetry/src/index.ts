/** concierge-telemetry: OpenTelemetry for the concierge runtime, with patient data kept out. */
export {
  initTelemetry,
  validateOptions,
  DEFAULT_TRACE_SAMPLE_RATIO,
  DEFAULT_TRACE_RATE_LIMIT,
} from './init.ts';
export type { Telemetry, TelemetryOptions, OtlpOptions, Signal } from './init.ts';
export { ConciergeMetrics } from './instruments.ts';
export * from './catalog.ts';
export { Redactor, looksPersonal, DEFAULT_ATTRIBUTE_RULES } from './redaction.ts';
export type { AttributeRule, RedactorOptions } from './redaction.ts';
export { PullEndpoint, prometheusBaseName } from './prometheus.ts';
