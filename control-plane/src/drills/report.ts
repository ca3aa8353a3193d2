import type { Incident, TimelineEvent } from '../incidents/types.ts';
import type { DbPage } from '../notify/store.ts';
import type { DbDrill } from './store.ts';

const ref = (id: string | null, name: string) => (id ? { id, name } : null);
const iso = (d: Date | null | undefined) => d?.toISOString() ?? null;
const seconds = (from: string | null, to: string | null) =>
  from && to ? Math.max(0, (Date.parse(to) - Date.parse(from)) / 1000) : null;

/** A drill as listed: its target, state and the times of its incident. */
export function drillSummary(d: DbDrill, inc: Incident | undefined) {
  const startedAt = d.started_at.toISOString();
  const detectedAt = inc?.openedAt ?? null;
  const times = {
    startedAt,
    detectedAt,
    incidentOpenedAt: inc?.openedAt ?? null,
    firstPageAt: inc?.firstPageAt ?? null,
    acknowledgedAt: inc?.acknowledgedAt ?? null,
    endedAt: inc?.resolvedAt ?? null,
  };
  return {
    id: d.id,
    kind: d.kind,
    status: d.error ? 'failed' : !inc ? 'waiting' : inc.status === 'resolved' ? 'ended' : 'running',
    severity: d.severity,
    via: d.via,
    instance: d.kind === 'instance' ? ref(d.instance_id, d.target_name) : null,
    policy: d.kind === 'policy' ? ref(d.policy_id, d.target_name) : null,
    rotation: d.kind === 'rotation' ? ref(d.rotation_id, d.target_name) : null,
    scheduleId: d.schedule_id,
    startedBy: d.started_by,
    error: d.error,
    incident: inc?.code ?? null,
    acknowledgedBy: inc?.acknowledgedBy ?? null,
    times,
    seconds: {
      toDetect: seconds(startedAt, detectedAt),
      toFirstPage: seconds(startedAt, times.firstPageAt),
      toAcknowledge: seconds(startedAt, times.acknowledgedAt),
    },
  };
}

/**
 * The drill's report: each level paged (in the order paged), its pages and when a provider accepted them,
 * whether the acknowledgement came while it was the level last paged, and who was unreachable: everyone
 * whose every page failed, and everyone paged at a level that no one acknowledged (escalation went past it,
 * or the drill ended or is still running without an acknowledgement).
 */
export function drillReport(
  d: DbDrill,
  inc: Incident | undefined,
  pages: DbPage[],
  timeline: TimelineEvent[],
) {
  const ackAt = inc?.acknowledgedAt ? Date.parse(inc.acknowledgedAt) : null;
  const steps = new Map<string, DbPage[]>();
  for (const p of pages) {
    const key = `${p.level}:${p.repeat}`;
    steps.set(key, [...(steps.get(key) ?? []), p]);
  }
  const ordered = [...steps.values()];
  const levels = ordered.map((ps, i) => {
    const pagedAt = ps[0]!.created_at.getTime();
    const nextAt = ordered[i + 1]?.[0]!.created_at.getTime() ?? Infinity;
    const accepted = ps.map((p) => p.accepted_at?.getTime()).filter((t): t is number => t !== undefined);
    return {
      level: ps[0]!.level,
      repeat: ps[0]!.repeat,
      pagedAt: new Date(pagedAt).toISOString(),
      acceptedAt: accepted.length ? new Date(Math.min(...accepted)).toISOString() : null,
      acknowledged: ackAt !== null && ackAt >= pagedAt && ackAt < nextAt,
      pages: ps.map((p) => ({
        responder: p.responder,
        channel: p.channel,
        status: p.status,
        acceptedAt: iso(p.accepted_at),
        error: p.last_error,
      })),
    };
  });
  const unreachable = new Map<string, { responder: string; level: number; reason: string }>();
  for (const l of levels) {
    const byResponder = new Map<string, typeof l.pages>();
    for (const p of l.pages) byResponder.set(p.responder, [...(byResponder.get(p.responder) ?? []), p]);
    for (const [responder, ps] of byResponder) {
      const key = `${responder}:${l.level}`;
      if (ps.every((p) => p.status === 'failed' || p.status === 'fallback'))
        unreachable.set(key, { responder, level: l.level, reason: 'every page failed' });
      else if (!l.acknowledged && !unreachable.has(key))
        unreachable.set(key, { responder, level: l.level, reason: 'no acknowledgement' });
    }
  }
  // A level reached with no one to page says so on the timeline: nobody was reachable there at all.
  for (const e of timeline)
    if (e.kind === 'escalation_no_responders')
      unreachable.set(`-:${String(e.detail.level ?? 0)}`, {
        responder: '(no one on call)',
        level: Number(e.detail.level ?? 0),
        reason: 'no acknowledgement',
      });
  return { ...drillSummary(d, inc), levels, unreachable: [...unreachable.values()] };
}
