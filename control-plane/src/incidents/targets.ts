import { CLASSES, type IncidentClass, type Severity } from './store.ts';

/** How soon an incident must be acknowledged and resolved, from its opening (when the control plane confirmed it). */
export interface Target {
  readonly ackSeconds: number;
  readonly resolveSeconds: number;
}

/** Targets per severity, and per class where a class asks for sooner (its entry wins over the severity's). */
export interface ResponseTargets {
  readonly severities: Readonly<Record<Severity, Target>>;
  readonly classes: Readonly<Partial<Record<IncidentClass, Partial<Target>>>>;
}

/**
 * The Prometheus alert raised while an incident is past its acknowledge target (prometheus/rules/
 * response-targets.yml). The incident it opens is left out of the count, so the alert cannot keep itself firing.
 */
export const BREACH_ALERT = 'IncidentAckTargetMissed';

export type TargetKind = 'ack' | 'resolve';
export const TARGET_KINDS: readonly TargetKind[] = ['ack', 'resolve'];
const TARGET_SEVERITIES: readonly Severity[] = ['critical', 'warning', 'info'];
const MINUTE = 60;
const HOUR = 3600;

/**
 * The defaults (docs/incident-targets.md says why): a 99.9% month allows 43 minutes of downtime, so a critical
 * failure must be in someone's hands within 5 minutes and over within 4 hours; a warning within a working half
 * hour and a day; info is a ticket. A crisis-line failure leaves patients in crisis without an answer: it is
 * acknowledged within 5 minutes whatever its severity (the seeds' crisis response) and resolved within 1 hour.
 */
export const DEFAULT_TARGETS: ResponseTargets = Object.freeze({
  severities: Object.freeze({
    critical: { ackSeconds: 5 * MINUTE, resolveSeconds: 4 * HOUR },
    warning: { ackSeconds: 30 * MINUTE, resolveSeconds: 24 * HOUR },
    info: { ackSeconds: 4 * HOUR, resolveSeconds: 72 * HOUR },
  }),
  classes: Object.freeze({ crisis: { ackSeconds: 5 * MINUTE, resolveSeconds: 1 * HOUR } }),
});

/** Minutes a target may be set to: one minute to 30 days. */
const MAX_MINUTES = 30 * 24 * 60;
const FIELDS = { ackMinutes: 'ackSeconds', resolveMinutes: 'resolveSeconds' } as const;

/** A key as a JSON pointer token (RFC 6901), with anything unprintable shown as JSON would. */
const token = (k: string) => JSON.stringify(k).slice(1, -1).replace(/~/g, '~0').replace(/\//g, '~1');

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * RESPONSE_TARGETS: JSON such as `{"critical": {"ackMinutes": 5, "resolveMinutes": 240}, "classes": {"crisis":
 * {"ackMinutes": 2}}}`, laid over the defaults (what it leaves out keeps its default). Each problem names the
 * JSON pointer of the bad key; with any, the defaults stand in (the caller refuses to start).
 */
export function parseResponseTargets(raw: string | undefined, problems: string[]): ResponseTargets {
  if (raw === undefined || raw.trim() === '') return DEFAULT_TARGETS;
  const bad = (pointer: string, message: string) => problems.push(`RESPONSE_TARGETS ${pointer} ${message}`);
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    problems.push(
      'RESPONSE_TARGETS must be JSON, e.g. {"critical": {"ackMinutes": 5, "resolveMinutes": 240}}',
    );
    return DEFAULT_TARGETS;
  }
  if (!isObject(json)) {
    bad('(the whole value)', 'must be a JSON object');
    return DEFAULT_TARGETS;
  }
  const before = problems.length;
  const entry = (v: unknown, pointer: string): Partial<Record<keyof Target, number>> => {
    const out: Partial<Record<keyof Target, number>> = {};
    if (!isObject(v)) {
      bad(pointer, 'must be an object with ackMinutes and/or resolveMinutes');
      return out;
    }
    for (const [k, n] of Object.entries(v)) {
      const field = FIELDS[k as keyof typeof FIELDS] as keyof Target | undefined;
      if (!Object.hasOwn(FIELDS, k) || field === undefined)
        bad(`${pointer}/${token(k)}`, 'is not a known key (ackMinutes, resolveMinutes)');
      else if (!Number.isInteger(n) || (n as number) < 1 || (n as number) > MAX_MINUTES)
        bad(`${pointer}/${token(k)}`, `must be an integer number of minutes from 1 to ${MAX_MINUTES}`);
      else out[field] = (n as number) * MINUTE;
    }
    return out;
  };
  const severities = { ...DEFAULT_TARGETS.severities };
  const classes: Partial<Record<IncidentClass, Partial<Target>>> = { ...DEFAULT_TARGETS.classes };
  for (const [key, value] of Object.entries(json)) {
    if ((TARGET_SEVERITIES as readonly string[]).includes(key)) {
      const s = key as Severity;
      severities[s] = { ...severities[s], ...entry(value, `/${key}`) };
    } else if (key === 'classes') {
      if (!isObject(value)) {
        bad('/classes', `must be an object keyed by class (${CLASSES.join(', ')})`);
        continue;
      }
      for (const [cls, v] of Object.entries(value)) {
        if (!(CLASSES as readonly string[]).includes(cls))
          bad(`/classes/${token(cls)}`, `is not a class (${CLASSES.join(', ')})`);
        else
          classes[cls as IncidentClass] = {
            ...classes[cls as IncidentClass],
            ...entry(v, `/classes/${token(cls)}`),
          };
      }
    } else bad(`/${token(key)}`, 'is not a known key (critical, warning, info, classes)');
  }
  if (problems.length > before) return DEFAULT_TARGETS;
  return Object.freeze({ severities: Object.freeze(severities), classes: Object.freeze(classes) });
}

/** The target an incident of this severity and class is held to. */
export function targetFor(t: ResponseTargets, severity: Severity, cls: IncidentClass | null): Target {
  return { ...t.severities[severity], ...(cls ? t.classes[cls] : undefined) };
}

/**
 * Every (severity, class) pair with its target in seconds, class null for an incident without one: the table
 * the database joins incidents to when it counts breaches, so SQL and the API apply the same targets.
 */
export function targetTable(t: ResponseTargets) {
  return TARGET_SEVERITIES.flatMap((severity) =>
    [null, ...CLASSES].map((cls) => {
      const x = targetFor(t, severity, cls);
      return { severity, class: cls, ack_seconds: x.ackSeconds, resolve_seconds: x.resolveSeconds };
    }),
  );
}

export interface TargetState {
  withinSeconds: number;
  dueAt: string;
  /** true once the target passed before the acknowledgement (or resolution) came; also while it is still awaited. */
  missed: boolean;
  /** when it was missed (its due time), or null. */
  missedAt: string | null;
}

export interface IncidentTargets {
  acknowledge: TargetState;
  resolve: TargetState;
}

/**
 * Where an incident stands against its targets at `now`. Acknowledgement is met by an acknowledgement or a
 * resolution before it is due (a failure that ended before anyone had to act missed nothing). Drills never count.
 */
export function incidentTargets(
  t: ResponseTargets,
  i: {
    severity: Severity;
    class: IncidentClass | null;
    openedAt: Date;
    acknowledgedAt: Date | null;
    resolvedAt: Date | null;
    drill: boolean;
  },
  now: Date,
): IncidentTargets | null {
  if (i.drill) return null;
  const target = targetFor(t, i.severity, i.class);
  const state = (seconds: number, doneAt: Date | null): TargetState => {
    const due = new Date(i.openedAt.getTime() + seconds * 1000);
    const missed = (doneAt ?? now).getTime() > due.getTime();
    return {
      withinSeconds: seconds,
      dueAt: due.toISOString(),
      missed,
      missedAt: missed ? due.toISOString() : null,
    };
  };
  return {
    acknowledge: state(target.ackSeconds, i.acknowledgedAt ?? i.resolvedAt),
    resolve: state(target.resolveSeconds, i.resolvedAt),
  };
}
