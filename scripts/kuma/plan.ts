/** Turns Uptime Kuma's monitors and heartbeats into this stack's history, per the operator's mapping. */
import type { KumaBeat, KumaData, KumaMonitor } from './read.ts';

/** Monitor types that become services (a group, push or DNS monitor does not watch one service). */
export const IMPORTED_TYPES = ['http', 'keyword', 'json-query', 'port'];

/** Which client, instance and service each monitor becomes; `null` leaves a monitor out. */
export interface Mapping {
  monitors: Record<string, { client: string; instance: string; service: string } | null>;
}

const slugify = (s: string) =>
  s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 60) || 'x';

/**
 * A first mapping to edit: the client from the monitor's `customer` tag (else its name's first two words),
 * the instance `<client>-<env tag or prod>`, the service from what the name says beyond the client's name.
 */
export function draftMapping(data: KumaData): Mapping {
  const monitors: Mapping['monitors'] = {};
  for (const m of data.monitors) {
    if (!IMPORTED_TYPES.includes(m.type)) continue;
    const client = slugify(m.tags.customer || m.name.split(/\s+/).slice(0, 2).join(' '));
    const env = slugify(m.tags.env || 'prod');
    const rest = slugify(m.name)
      .replace(new RegExp(`^${client}-?`), '')
      .replace(new RegExp(`^${env}-?`), '');
    monitors[String(m.id)] = { client, instance: `${client}-${env}`, service: rest || 'backend' };
  }
  return { monitors };
}

export interface Stretch {
  start: Date;
  end: Date;
}

/**
 * When Kuma was watching a monitor: from a heartbeat to the next, while they come at most 3 intervals apart
 * (a longer silence is Kuma stopped, not the service up); the last beat covers one interval.
 */
export function coverageOf(m: KumaMonitor, beats: KumaBeat[], now: Date): Stretch[] {
  const out: Stretch[] = [];
  const gap = 3 * m.intervalSeconds * 1000;
  for (const b of beats) {
    const last = out[out.length - 1];
    const end = new Date(Math.min(b.at.getTime() + m.intervalSeconds * 1000, now.getTime()));
    if (last && b.at.getTime() - last.end.getTime() <= gap) last.end = end > last.end ? end : last.end;
    else if (end > b.at) out.push({ start: b.at, end });
  }
  return out;
}

/**
 * Down intervals from the important heartbeats (Kuma marks each change of state): a down beat opens one, the
 * next up, pending or maintenance beat closes it; the end of a coverage stretch closes it too.
 */
export function downOf(beats: KumaBeat[], coverage: Stretch[]): (Stretch & { reason: string })[] {
  const out: (Stretch & { reason: string })[] = [];
  let open: { start: Date; reason: string } | undefined;
  const stretchEnd = (at: Date) => coverage.find((c) => c.start <= at && at < c.end)?.end ?? at;
  for (const b of beats.filter((x) => x.important)) {
    if (open && (b.status !== 0 || b.at >= stretchEnd(open.start))) {
      const end = b.at < stretchEnd(open.start) ? b.at : stretchEnd(open.start);
      if (end > open.start) out.push({ start: open.start, end, reason: open.reason });
      open = undefined;
    }
    if (b.status === 0 && !open) open = { start: b.at, reason: b.msg.slice(0, 200) };
  }
  if (open) {
    const end = stretchEnd(open.start);
    if (end > open.start) out.push({ start: open.start, end, reason: open.reason });
  }
  return out;
}

export interface InstanceHistory {
  client: string;
  instance: string;
  coverage: { start: string; end: string }[];
  intervals: { service: string; state: 'down'; start: string; end: string; reason: string }[];
}

/** One history request per instance: the union of its monitors' coverage, every monitor's down time. */
export function histories(data: KumaData, mapping: Mapping, now = new Date()): InstanceHistory[] {
  const by = new Map<string, InstanceHistory & { stretches: Stretch[] }>();
  for (const m of data.monitors) {
    const to = mapping.monitors[String(m.id)];
    if (!to) continue;
    const beats = data.beats.filter((b) => b.monitorId === m.id);
    const coverage = coverageOf(m, beats, now);
    const h = by.get(to.instance) ?? {
      client: to.client,
      instance: to.instance,
      coverage: [],
      intervals: [],
      stretches: [],
    };
    h.stretches.push(...coverage);
    for (const d of downOf(beats, coverage))
      h.intervals.push({
        service: to.service,
        state: 'down',
        start: d.start.toISOString(),
        end: d.end.toISOString(),
        reason: d.reason,
      });
    by.set(to.instance, h);
  }
  return [...by.values()].map(({ stretches, ...h }) => {
    const merged: Stretch[] = [];
    for (const s of [...stretches].sort((a, b) => +a.start - +b.start)) {
      const last = merged[merged.length - 1];
      if (last && s.start <= last.end) last.end = s.end > last.end ? s.end : last.end;
      else merged.push({ ...s });
    }
    return {
      ...h,
      coverage: merged.map((s) => ({ start: s.start.toISOString(), end: s.end.toISOString() })),
    };
  });
}
