import { DateTime } from 'luxon';
import type { BackupService } from '../backups/service.ts';
import type { CreditTier } from '../config.ts';
import type { FleetService } from '../fleet/service.ts';
import type { Client, Instance } from '../fleet/types.ts';
import type { Auth } from '../http/auth.ts';
import { ValidationError } from '../http/errors.ts';
import type { IncidentService } from '../incidents/service.ts';
import type { Incident } from '../incidents/types.ts';
import type { MaintenanceService } from '../maintenance/service.ts';
import { period, type SlaFigures, type SlaService } from '../sla/service.ts';
import type { CapacitySource } from './capacity.ts';
import type { PerformanceSource } from './performance.ts';
import type {
  Downtime,
  MonthlyReport,
  ReportIncident,
  ResponseTimes,
  SeverityStats,
  SlaSummary,
  TargetBreaches,
  TimelineEntry,
} from './types.ts';

import { MONTH } from '../http/formats.ts';

export { MONTH };
const SEVERITIES = ['critical', 'warning', 'info'] as const;
const secs = (a: string | Date, b: string | Date) => (new Date(b).getTime() - new Date(a).getTime()) / 1000;

export function checkMonth(month: string, field = '/month'): void {
  if (!MONTH.test(month))
    throw new ValidationError('month is invalid', [{ field, message: 'must be YYYY-MM' }]);
}

function summary(f: SlaFigures): SlaSummary {
  return {
    uptime: f.uptime,
    met: f.met,
    measuredSeconds: f.measuredSeconds,
    measuredShare: f.measuredShare,
    insufficientData: f.insufficientData,
    downtimeSeconds: f.downtimeSeconds,
    maintenanceSeconds: f.maintenanceSeconds,
    unknownSeconds: f.unknownSeconds,
    errorBudgetSeconds: f.errorBudgetSeconds,
    errorBudgetUsedSeconds: f.errorBudgetUsedSeconds,
    errorBudgetUsedRatio:
      f.noData || f.insufficientData || f.errorBudgetSeconds <= 0
        ? null
        : f.downtimeSeconds / f.errorBudgetSeconds,
    creditPercent: f.credit,
  };
}

function stats(list: ReportIncident[]): SeverityStats {
  const ack = list.map((i) => i.timeToAcknowledgeSeconds).filter((x): x is number => x !== null);
  const res = list.map((i) => i.timeToResolveSeconds).filter((x): x is number => x !== null);
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);
  return {
    count: list.length,
    acknowledged: ack.length,
    resolved: res.length,
    meanTimeToAcknowledgeSeconds: mean(ack),
    maxTimeToAcknowledgeSeconds: ack.length ? Math.max(...ack) : null,
    meanTimeToResolveSeconds: mean(res),
    maxTimeToResolveSeconds: res.length ? Math.max(...res) : null,
  };
}

/** The value at or below which `q` of `xs` lie (nearest rank): one of the incidents' own times, never a blend. */
function percentile(xs: number[], q: number): number | null {
  if (xs.length === 0) return null;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)]!;
}

function responseTimes(list: ReportIncident[]): ResponseTimes {
  const of = (xs: (number | null | undefined)[]) => xs.filter((x): x is number => typeof x === 'number');
  const page = of(list.map((i) => i.failureToPageSeconds));
  const ack = of(list.map((i) => i.failureToAckSeconds));
  return {
    paged: page.length,
    failureToPageP50Seconds: percentile(page, 0.5),
    failureToPageP90Seconds: percentile(page, 0.9),
    acknowledged: ack.length,
    failureToAckP50Seconds: percentile(ack, 0.5),
    failureToAckP90Seconds: percentile(ack, 0.9),
  };
}

/** Which of its response targets an incident missed, as the incident's own answer says (at compose time). */
function missedTargets(i: Incident): ('acknowledge' | 'resolve')[] {
  const t = i.responseTargets;
  if (!t) return [];
  return (['acknowledge', 'resolve'] as const).filter((k) => t[k].missed);
}

function targetBreaches(list: ReportIncident[]): TargetBreaches {
  const of = (k: 'acknowledge' | 'resolve') => list.filter((i) => i.missedTargets?.includes(k)).length;
  return {
    incidents: list.filter((i) => (i.missedTargets?.length ?? 0) > 0).length,
    acknowledge: of('acknowledge'),
    resolve: of('resolve'),
  };
}

/** The incident a downtime belongs to: same instance, overlapping in time, the largest overlap wins. */
function owner(d: { instance: string; start: Date; end: Date }, incidents: Incident[]): Incident | undefined {
  let best: Incident | undefined;
  let bestOverlap = -1;
  for (const inc of incidents) {
    if (inc.instance?.slug !== d.instance) continue;
    const lo = Math.max(d.start.getTime(), Date.parse(inc.openedAt));
    const hi = Math.min(d.end.getTime(), inc.resolvedAt ? Date.parse(inc.resolvedAt) : Infinity);
    if (hi <= lo && !(hi === lo && lo === d.start.getTime())) continue;
    if (hi - lo > bestOverlap) [best, bestOverlap] = [inc, hi - lo];
  }
  return best;
}

/** Calendar days of [from, to) in the zone; a DST day is 23 or 25 hours long. */
export function daysOf(from: Date, to: Date, zone: string): { date: string; from: Date; to: Date }[] {
  const out: { date: string; from: Date; to: Date }[] = [];
  for (let d = DateTime.fromJSDate(from, { zone }); d.toMillis() < to.getTime();) {
    const next = d.plus({ days: 1 }).startOf('day');
    out.push({ date: d.toFormat('yyyy-MM-dd'), from: d.toJSDate(), to: new Date(Math.min(+next, +to)) });
    d = next;
  }
  return out;
}

export interface ComposeDeps {
  fleet: FleetService;
  sla: SlaService;
  maintenance: MaintenanceService;
  incidents: IncidentService;
  backups: BackupService;
  performance: PerformanceSource;
  capacity: CapacitySource;
  tiers: readonly CreditTier[];
  minMeasuredShare: number;
}

// Reports are written by the system for a client the caller was already allowed to see.
const SYSTEM: Auth = { tokenId: '00000000-reports', name: 'reports', role: 'admin', clientId: null };

/**
 * One client's report for one calendar month in the client's time zone, from the database. A month still
 * under way is reported up to now (period.complete = false).
 */
export async function composeReport(
  d: ComposeDeps,
  client: Client,
  month: string,
  now = new Date(),
  instancesOf?: Instance[],
): Promise<MonthlyReport> {
  checkMonth(month);
  const p = period({ month }, client.timeZone, now);
  const full = period({ month }, client.timeZone, new Date(8.64e15));
  const instances = (
    instancesOf ?? (await d.fleet.listInstances(SYSTEM, { client: client.id, status: 'all' }))
  ).filter((i) => i.decommissionedAt === null || new Date(i.decommissionedAt) > p.from);
  const days = daysOf(p.from, p.to, client.timeZone);
  const slugOf = new Map(instances.map((i) => [i.id, i.slug]));

  // Incidents opened up to 40 days before the month may still be open in it (an outage across the boundary).
  const lookback = new Date(p.from.getTime() - 40 * 86400_000);
  const [per, detail, windows, allIncidents, backups, performance, capacity] = await Promise.all([
    d.sla.computeFor([client], instances, () => p),
    d.sla.detail(client, instances, p, days),
    p.from < p.to
      ? d.maintenance.list(
          SYSTEM,
          { client: client.id, from: p.from.toISOString(), to: p.to.toISOString() },
          // One month, the client's own windows: a report lists every occurrence, not a page of them.
          Number.MAX_SAFE_INTEGER,
        )
      : Promise.resolve([]),
    d.incidents.list(
      SYSTEM,
      {
        client: client.id,
        from: lookback.toISOString(),
        to: p.to.toISOString(),
        limit: '100000',
      },
      100_000,
    ),
    d.backups.evidence(SYSTEM, client.id, p.from, p.to),
    d.performance.forClient(client.slug, p.from, p.to),
    d.capacity.forClient(
      client.slug,
      instances.map((i) => i.slug),
      p.from,
      p.to,
    ),
  ]);

  const list = instances.map((i) => ({ instance: { id: i.id, slug: i.slug }, ...summary(per.get(i.id)!) }));
  const overall = summary(d.sla.combined([...per.values()], p.from, p.to, client.slaTarget));
  // No credit follows from too little measured time; the provider's decision for the month, if any, does.
  const decided = overall.insufficientData ? await d.sla.creditDecision(client.id, month) : null;
  if (decided) overall.creditPercent = decided.creditPercent;

  const inMonth = (i: Incident) =>
    Date.parse(i.openedAt) < p.to.getTime() && (i.resolvedAt === null || Date.parse(i.resolvedAt) > +p.from);
  const relevant = allIncidents.filter(inMonth).sort((a, b) => a.openedAt.localeCompare(b.openedAt));
  const downtimes: Downtime[] = detail.downtimes.map((x) => {
    const slug = slugOf.get(x.instance_id)!;
    const inc = owner({ instance: slug, start: x.start, end: x.end }, relevant);
    return {
      instance: slug,
      start: x.start.toISOString(),
      end: x.end.toISOString(),
      durationSeconds: secs(x.start, x.end),
      services: x.services,
      incident: inc ? { code: inc.code, severity: inc.severity, publicSummary: inc.publicSummary } : null,
    };
  });
  downtimes.sort((a, b) => a.start.localeCompare(b.start) || a.instance.localeCompare(b.instance));

  // The month's incidents: those opened in it (an incident carried over shows against its downtime).
  const incidents: ReportIncident[] = relevant
    .filter((i) => Date.parse(i.openedAt) >= p.from.getTime())
    .map((i) => ({
      code: i.code,
      severity: i.severity,
      instance: i.instance?.slug ?? null,
      openedAt: i.openedAt,
      acknowledgedAt: i.acknowledgedAt,
      resolvedAt: i.resolvedAt,
      timeToAcknowledgeSeconds: i.acknowledgedAt ? secs(i.openedAt, i.acknowledgedAt) : null,
      timeToResolveSeconds: i.resolvedAt ? secs(i.openedAt, i.resolvedAt) : null,
      failureBeganAt: i.failureBeganAt,
      failureToPageSeconds: i.firstPageAt ? secs(i.failureBeganAt, i.firstPageAt) : null,
      failureToAckSeconds: i.acknowledgedAt ? secs(i.failureBeganAt, i.acknowledgedAt) : null,
      missedTargets: missedTargets(i),
      publicSummary: i.publicSummary,
    }));
  const bySeverity = Object.fromEntries(
    SEVERITIES.map((s) => [s, stats(incidents.filter((i) => i.severity === s))]),
  ) as MonthlyReport['incidents']['bySeverity'];

  // Occurrences clipped to the month: only the part inside it was excluded from this month's SLA.
  const maintenance = windows
    .flatMap((w) =>
      w.occurrences.map((o) => {
        const start = new Date(Math.max(Date.parse(o.start), +p.from));
        const end = new Date(Math.min(Date.parse(o.end), +p.to));
        return {
          start: start.toISOString(),
          end: end.toISOString(),
          durationSeconds: secs(start, end),
          instance: w.instance?.slug ?? null,
          reason: w.reason,
        };
      }),
    )
    .filter((m) => m.durationSeconds > 0)
    .sort((a, b) => a.start.localeCompare(b.start));

  const daily = days.map((day, n) => {
    const rows = detail.daily.filter((r) => r.day === n);
    const measured = rows.reduce((a, r) => a + r.measured_s, 0);
    const down = rows.reduce((a, r) => a + r.down_s, 0);
    const countable = rows.reduce((a, r) => a + r.countable_s, 0);
    return {
      date: day.date,
      uptime: measured > 0 ? 1 - down / measured : null,
      measuredSeconds: measured,
      downtimeSeconds: down,
      measuredShare: countable > 0 ? Math.min(1, measured / countable) : null,
    };
  });

  const timeline: TimelineEntry[] = [
    ...downtimes.flatMap((x): TimelineEntry[] => [
      { at: x.start, kind: 'downtime-start', text: `${x.instance} down (${x.services.join(', ')})` },
      {
        at: x.end,
        kind: 'downtime-end',
        text:
          x.end === p.to.toISOString()
            ? `${x.instance} still down as the month ends`
            : `${x.instance} back up`,
      },
    ]),
    ...maintenance.flatMap((m): TimelineEntry[] => [
      {
        at: m.start,
        kind: 'maintenance-start',
        text: `maintenance begins: ${m.instance ?? 'all instances'}`,
      },
      { at: m.end, kind: 'maintenance-end', text: `maintenance ends: ${m.instance ?? 'all instances'}` },
    ]),
    ...incidents.flatMap((i): TimelineEntry[] => [
      { at: i.openedAt, kind: 'incident-opened', text: `${i.code} (${i.severity}) opened` },
      ...(i.acknowledgedAt
        ? [{ at: i.acknowledgedAt, kind: 'incident-acknowledged' as const, text: `${i.code} acknowledged` }]
        : []),
      ...(i.resolvedAt
        ? [{ at: i.resolvedAt, kind: 'incident-resolved' as const, text: `${i.code} resolved` }]
        : []),
    ]),
  ]
    .filter((e) => e.at >= p.from.toISOString() && e.at <= p.to.toISOString())
    .sort((a, b) => a.at.localeCompare(b.at));

  return {
    schemaVersion: 1,
    client: { id: client.id, slug: client.slug, name: client.name, timeZone: client.timeZone },
    month,
    period: {
      from: p.from.toISOString(),
      to: p.to.toISOString(),
      periodSeconds: secs(p.from, p.to),
      complete: p.to.getTime() === full.to.getTime(),
    },
    generatedAt: now.toISOString(),
    target: client.slaTarget,
    creditTiers: d.tiers,
    minMeasuredShare: d.minMeasuredShare,
    overall,
    creditDecision: decided
      ? { creditPercent: decided.creditPercent, reason: decided.reason, decidedAt: decided.decidedAt }
      : null,
    instances: list,
    downtimes,
    maintenance,
    incidents: {
      bySeverity,
      list: incidents,
      responseTimes: responseTimes(incidents),
      targetBreaches: targetBreaches(incidents),
    },
    backups,
    performance,
    capacity,
    daily,
    timeline,
  };
}
