/**
 * Keeps patient data out of every exported byte. Three rules, applied to metrics, spans and logs alike:
 * 1. An attribute passes only if its key is on the allowlist, and then only if its value fits that key's
 *    rule (a fixed set of values, a narrow pattern, a number); otherwise it is dropped (or, for keys that
 *    identify something, replaced by a keyed hash so traces can still be correlated).
 * 2. Whatever free text is left (span and event names, log bodies, status and exception messages) passes
 *    only if it looks like an identifier (`concierge.turn`, `GET /health`) and holds nothing that looks like
 *    a phone number, an e-mail address or a date; otherwise it is replaced by a keyed hash.
 * 3. Metric labels are bounded as well: a value outside a label's set becomes `other`.
 * Names cannot be recognised by a pattern, which is why everything is allowlisted rather than scanned.
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { Attributes, AttributeValue } from '@opentelemetry/api';
import { METRIC_LABEL_VALUES } from './catalog.ts';

export type AttributeRule =
  | { readonly values: readonly string[] }
  | { readonly pattern: RegExp }
  | { readonly type: 'number' | 'boolean' }
  /** Identifies something (a conversation, a caller): exported only as a keyed hash. */
  | { readonly hash: true };

const IDENTIFIER = /^[a-z][a-z0-9_]*(?:\.[a-z0-9_]+)*$/;
const ROUTE = /^(?:GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS) \/[a-z0-9/_{}:.-]*$/;
const TYPE_NAME = /^[A-Za-z][A-Za-z0-9_.]{0,63}$/;

/** Attributes spans and logs may carry (metric labels are the narrower METRIC_LABEL_VALUES). */
export const DEFAULT_ATTRIBUTE_RULES: Readonly<Record<string, AttributeRule>> = {
  ...Object.fromEntries(Object.entries(METRIC_LABEL_VALUES).map(([k, values]) => [k, { values }])),
  'concierge.conversation.id': { hash: true },
  'concierge.turn.index': { type: 'number' },
  'concierge.crisis': { type: 'boolean' },
  'concierge.language': { pattern: /^[a-z]{2}(?:-[A-Z]{2})?$/ },
  'concierge.intent': { pattern: IDENTIFIER },
  'enduser.id': { hash: true },
  'http.request.method': { values: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] },
  'http.response.status_code': { type: 'number' },
  'http.route': { pattern: /^\/[a-z0-9/_{}:.-]{0,120}$/ },
  'error.type': { pattern: TYPE_NAME },
  'exception.type': { pattern: TYPE_NAME },
  // The message of an exception is free text (it may quote the patient): hashed, never sent as is.
  'exception.message': { hash: true },
  'gen_ai.operation.name': { pattern: IDENTIFIER },
  'gen_ai.provider.name': { pattern: IDENTIFIER },
  'gen_ai.usage.input_tokens': { type: 'number' },
  'gen_ai.usage.output_tokens': { type: 'number' },
};

const EMAIL = /[^\s@]+@[^\s@]+\.[^\s@]+/;
// Seven or more digits, however separated: phone numbers, record numbers.
const PHONE = /(?:\+?\d[\s().-]{0,3}){7,}/;
const DATE = /\b\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}\b/;
const WRITTEN_DATE =
  /\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?\s+\d{1,2}(?:st|nd|rd|th)?,?\s+\d{2,4}\b/i;

/** True if the text holds something that looks like a phone number, an e-mail address or a date. */
export function looksPersonal(text: string): boolean {
  // Cheap guards first: the patterns backtrack, and most values hold neither '@' nor a digit.
  if (text.includes('@') && EMAIL.test(text)) return true;
  if (!/\d/.test(text)) return false;
  return PHONE.test(text) || DATE.test(text) || WRITTEN_DATE.test(text);
}

export interface RedactorOptions {
  /** HMAC key for hashed values. Default: random per process (hashes then correlate within one run only). */
  hashKey?: string | Buffer;
  /** More attribute keys the runtime may send on spans and logs, with their rules. */
  extraAttributes?: Readonly<Record<string, AttributeRule>>;
}

export class Redactor {
  private readonly key: Buffer;
  private readonly rules: ReadonlyMap<string, AttributeRule>;
  private readonly metricValues: ReadonlyMap<string, ReadonlySet<string>>;

  constructor(options: RedactorOptions = {}) {
    this.key =
      options.hashKey === undefined
        ? randomBytes(32)
        : Buffer.isBuffer(options.hashKey)
          ? options.hashKey
          : Buffer.from(options.hashKey);
    this.rules = new Map(Object.entries({ ...DEFAULT_ATTRIBUTE_RULES, ...(options.extraAttributes ?? {}) }));
    this.metricValues = new Map(Object.entries(METRIC_LABEL_VALUES).map(([k, v]) => [k, new Set(v)]));
  }

  /** Recent hashes: the same conversation id is hashed on every span of the conversation. */
  private readonly hashes = new Map<string, string>();

  /** `hmac:` and 16 hex digits of HMAC-SHA256: stable for one key, useless without it. */
  hash(value: string): string {
    let h = this.hashes.get(value);
    if (h === undefined) {
      h = 'hmac:' + createHmac('sha256', this.key).update(value).digest('hex').slice(0, 16);
      // A bounded cache (cleared, not evicted one by one: cheap, and a miss only costs one HMAC).
      if (this.hashes.size >= 10_000) this.hashes.clear();
      this.hashes.set(value, h);
    }
    return h;
  }

  /** Span and log attributes: allowlisted keys whose values fit their rule; the rest are dropped. */
  attributes(input: Attributes | undefined): Attributes {
    const out: Attributes = {};
    if (!input) return out;
    for (const key of Object.keys(input)) {
      const rule = this.rules.get(key);
      const value = input[key];
      if (rule === undefined || value === undefined || value === null) continue;
      const clean = this.value(rule, value);
      if (clean !== undefined) out[key] = clean;
    }
    return out;
  }

  private value(rule: AttributeRule, value: AttributeValue): AttributeValue | undefined {
    if ('hash' in rule) return this.hash(Array.isArray(value) ? value.join(',') : String(value));
    if (Array.isArray(value)) return undefined;
    if ('type' in rule) return typeof value === rule.type ? value : undefined;
    if (typeof value !== 'string') return undefined;
    if ('values' in rule) return rule.values.includes(value) ? value : undefined;
    return rule.pattern.test(value) && !looksPersonal(value) ? value : undefined;
  }

  /** Metric labels: only known label keys, each value inside its bounded set (else `other`). */
  metricAttributes(input: Attributes): Attributes {
    if (this.metricAttributesClean(input)) return input; // the usual case: no copy on the hot path
    const out: Attributes = {};
    for (const key of Object.keys(input)) {
      const allowed = this.metricValues.get(key);
      if (allowed === undefined) continue;
      const v = input[key];
      out[key] = typeof v === 'string' && allowed.has(v) ? v : 'other';
    }
    return out;
  }

  private metricAttributesClean(input: Attributes): boolean {
    for (const key in input) {
      const v = input[key];
      if (typeof v !== 'string' || this.metricValues.get(key)?.has(v) !== true) return false;
    }
    return true;
  }

  /** Span names, event names, log event names: identifiers or `METHOD /route` templates pass. */
  name(text: string): string {
    if (text.length <= 100 && (IDENTIFIER.test(text) || ROUTE.test(text)) && !looksPersonal(text))
      return text;
    return 'redacted';
  }

  /** Free text (log bodies, status messages): kept only when it is an identifier, else hashed. */
  text(text: string): string {
    if (text.length <= 100 && IDENTIFIER.test(text) && !looksPersonal(text)) return text;
    return this.hash(text);
  }

  /** A stack trace without its first line(s), which repeat the (free text) message: frames only. */
  stack(stack: string): string {
    return stack
      .split('\n')
      .filter((l) => /^\s+at [\w$.<>\s[\]]*(?:\(|$)/.test(l))
      .map((l) => l.replace(/\(.*\)$/, (m) => (looksPersonal(m) ? '(redacted)' : m)))
      .join('\n');
  }
}
