import type { FieldError } from '../http/errors.ts';
import { dateTimeProblemOf } from '../http/formats.ts';
import { hasUnstorable, replaceUnstorable } from '../http/unstorable.ts';
import type { AlertmanagerPayload } from './schemas.ts';

/** Where an alert of the group was first stored, by fingerprint: a replaced start stays the same on every retry. */
export type KnownStarts = (groupKey: string, fingerprints: string[]) => Promise<Map<string, Date>>;

/**
 * Alertmanager resends a refused delivery at every group_interval, for as long as the alert fires, so a 400 for
 * one unstorable label or time would keep its whole group from ever opening an incident. What can be stored is
 * stored instead: NUL and lone surrogates become U+FFFD, a start time that JavaScript or PostgreSQL cannot read
 * becomes the time first stored for that alert (or now), an unreadable end time is dropped. `repairs` names each
 * field, for the incident's timeline.
 */
export async function repairDelivery(
  raw: AlertmanagerPayload,
  knownStarts: KnownStarts,
  now: Date,
): Promise<{ payload: AlertmanagerPayload; repairs: FieldError[] }> {
  // The full repair copies the whole body and names every field as it goes, a tenth of the webhook's CPU; a
  // body with nothing to replace (nearly every one) is only scanned, and copied at the top level, which the
  // rest of this function replaces (`alerts`) without touching the caller's objects.
  const { value: p, changed } = hasUnstorable(raw)
    ? replaceUnstorable(raw)
    : { value: { ...raw }, changed: [] as string[] };
  const repairs: FieldError[] = changed.map((field) => ({
    field,
    message: 'held NUL or a lone surrogate, replaced by U+FFFD',
  }));
  // Each time's problem once per alert (the webhook's hot path).
  const problems = p.alerts.map((a) => ({
    start: dateTimeProblemOf(a.startsAt),
    end: a.endsAt === undefined ? undefined : dateTimeProblemOf(a.endsAt),
  }));
  const badStart = p.alerts.filter((_, i) => problems[i]!.start !== undefined);
  const known = badStart.length
    ? await knownStarts(p.groupKey, [...new Set(badStart.map((a) => a.fingerprint))])
    : new Map<string, Date>();
  p.alerts = p.alerts.map((a, i) => {
    const { start: startProblem, end: endProblem } = problems[i]!;
    if (!startProblem && !endProblem) return a;
    const fixed = { ...a };
    if (startProblem) {
      fixed.startsAt = (known.get(a.fingerprint) ?? now).toISOString();
      repairs.push({
        field: `/alerts/${i}/startsAt`,
        message: `${JSON.stringify(a.startsAt)} ${startProblem}; taken as ${fixed.startsAt}`,
      });
    }
    if (endProblem) {
      delete fixed.endsAt;
      repairs.push({
        field: `/alerts/${i}/endsAt`,
        message: `${JSON.stringify(a.endsAt)} ${endProblem}; dropped`,
      });
    }
    return fixed;
  });
  return { payload: p, repairs };
}
