import { bytes, duration, local, metText, pct } from './format.ts';
import type { CapacityResource, MonthlyReport } from './types.ts';

/** One table of the report as plain text; the HTML and the PDF each draw it their own way. */
export interface TableData {
  caption: string;
  head: string[];
  rows: string[][];
  /** said instead of an empty table; '' draws nothing */
  empty: string;
}

const budget = (ratio: number | null) => (ratio === null ? 'no data' : pct(ratio, 1));
const credit = (percent: number | null) => (percent === null ? 'no data' : `${percent} %`);
// Reports stored before the measured share was reported have none to show.
const measured = (share: number | null | undefined) => (share === undefined ? '-' : pct(share, 2));
const SUMMARY_TO_FOLLOW = 'Summary to follow.';
const MISSED = { acknowledge: 'not acknowledged in time', resolve: 'not resolved in time' } as const;

const RESOURCE_NAMES = {
  cpu: 'CPU',
  memory: 'Memory',
  filesystem: 'Disk',
  postgres_connections: 'PostgreSQL connections',
} as const;
const resourceName = (c: CapacityResource) =>
  c.mountpoint === null ? RESOURCE_NAMES[c.resource] : `${RESOURCE_NAMES[c.resource]} ${c.mountpoint}`;
/** The rules clamp days until full to 0..365; 365 means not filling within a year (docs/sla-and-reports.md). */
function daysUntilFull(d: number | null): string {
  if (d === null) return 'no trend yet';
  if (d >= 365) return 'a year or more';
  if (d <= 0) return 'full now';
  return d < 10 ? `${d.toFixed(1)} days` : `${Math.round(d)} days`;
}
const perDay = (n: number | null) => (n === null ? 'no trend yet' : `${n > 0 ? '+' : ''}${bytes(n)} a day`);

/** The report's tables and sentences, written once for both formats. */
export function sections(r: MonthlyReport) {
  const t = (iso: string) => local(iso, r.client.timeZone);
  const o = r.overall;
  const sev = r.incidents.bySeverity;
  const perf = r.performance;
  const cap = r.capacity;
  const uptimeRow = (name: string, f: typeof o) => [
    name,
    pct(f.uptime),
    measured(f.measuredShare),
    pct(r.target, 2),
    f.insufficientData && f.uptime !== null ? 'insufficient data' : metText(f.met),
    duration(f.downtimeSeconds),
    duration(f.maintenanceSeconds),
    budget(f.errorBudgetUsedRatio),
    f.insufficientData && f.creditPercent === null && f.uptime !== null
      ? 'not automatic'
      : credit(f.creditPercent),
  ];
  const tables = {
    instances: {
      caption: 'Uptime per instance (maintenance excluded)',
      head: [
        'Instance',
        'Uptime',
        'Measured',
        'Target',
        'Result',
        'Downtime',
        'Maintenance',
        'Budget used',
        'Credit',
      ],
      rows: [...r.instances.map((i) => uptimeRow(i.instance.slug, i)), uptimeRow('All instances', o)],
      empty: 'No instances.',
    },
    downtimes: {
      caption: 'Every downtime counted in the month',
      head: ['Start', 'End', 'Duration', 'Instance', 'Services', 'Incident', 'What happened'],
      rows: r.downtimes.map((d) => [
        t(d.start),
        t(d.end),
        duration(d.durationSeconds),
        d.instance,
        d.services.join(', '),
        d.incident ? `${d.incident.code} (${d.incident.severity})` : '-',
        d.incident?.publicSummary ?? SUMMARY_TO_FOLLOW,
      ]),
      empty: 'No downtime this month.',
    },
    maintenance: {
      caption: 'Maintenance windows',
      head: ['Start', 'End', 'Duration', 'Scope', 'Reason'],
      rows: r.maintenance.map((m) => [
        t(m.start),
        t(m.end),
        duration(m.durationSeconds),
        m.instance ?? 'all instances',
        m.reason,
      ]),
      empty: 'No maintenance this month.',
    },
    severities: {
      caption: 'Incidents by severity',
      head: ['Severity', 'Count', 'Acknowledged', 'Mean time to acknowledge', 'Mean time to resolve'],
      rows: (['critical', 'warning', 'info'] as const).map((s) => [
        s,
        String(sev[s].count),
        String(sev[s].acknowledged),
        duration(sev[s].meanTimeToAcknowledgeSeconds),
        duration(sev[s].meanTimeToResolveSeconds),
      ]),
      empty: '',
    },
    incidents: {
      caption: 'Incidents opened this month',
      head: [
        'Incident',
        'Severity',
        'Opened',
        'Paged after failure',
        'Acknowledged after failure',
        'Acknowledged after',
        'Resolved after',
        'Summary',
      ],
      rows: r.incidents.list.map((i) => [
        i.code,
        i.severity,
        t(i.openedAt),
        duration(i.failureToPageSeconds ?? null),
        duration(i.failureToAckSeconds ?? null),
        duration(i.timeToAcknowledgeSeconds),
        duration(i.timeToResolveSeconds),
        i.publicSummary ?? SUMMARY_TO_FOLLOW,
      ]),
      empty: 'No incidents this month.',
    },
    backups: {
      caption: 'Backup evidence per instance',
      head: [
        'Instance',
        'Daily slots held',
        'Missed slots',
        'Runs (failed)',
        'Verified (failed)',
        'Latest restore test',
        'Point-in-time recovery',
      ],
      rows: r.backups.map((b) => [
        b.instance.slug,
        `${b.slots.length - b.missedSlots.length} of ${b.slots.length}`,
        b.missedSlots.join(', ') || 'none',
        `${b.runs.total} (${b.runs.failed})`,
        `${b.verification.verified} (${b.verification.failed})`,
        b.latestRestoreTest
          ? `${t(b.latestRestoreTest.finishedAt)}: ${b.latestRestoreTest.success ? 'passed' : 'FAILED'}`
          : 'none on record',
        b.pitr
          ? `${t(b.pitr.earliest)} to ${t(b.pitr.latest)}${
              b.pitr.gaps.length
                ? `, ${b.pitr.gaps.length} gap(s): ${b.pitr.gaps.map((g) => `${t(g.from)} to ${t(g.to)}`).join('; ')}`
                : ''
            }`
          : 'not available',
      ]),
      empty: 'No instances.',
    },
    capacity: {
      caption: 'Capacity per instance and resource',
      head: ['Instance', 'Resource', 'Peak use in the month', 'Days until full'],
      rows: (cap?.available ? cap.resources : []).map((c) => [
        c.instance,
        resourceName(c),
        pct(c.peakUsedRatio, 1),
        daysUntilFull(c.daysUntilFull),
      ]),
      empty: '',
    },
    databases: {
      caption: 'Database size per instance',
      head: ['Instance', 'Database', 'Peak size in the month', 'Growth'],
      rows: (cap?.available ? cap.databases : []).map((d) => [
        d.instance,
        d.database,
        bytes(d.peakBytes),
        perDay(d.growthBytesPerDay),
      ]),
      empty: '',
    },
    daily: {
      caption: 'Daily uptime',
      head: ['Day', 'Uptime', 'Downtime', 'Measured'],
      rows: r.daily.map((d) => [
        d.date,
        pct(d.uptime, 3),
        duration(d.downtimeSeconds),
        measured(d.measuredShare),
      ]),
      empty: '',
    },
  } satisfies Record<string, TableData>;
  const rt = r.incidents.responseTimes;
  const tb = r.incidents.targetBreaches;
  const seconds = (s: number | null) => (s === null ? 'not available' : `${s.toFixed(3)} s`);
  const insufficient = o.insufficientData === true && o.uptime !== null;
  return {
    t,
    tables,
    budgetUsed: budget(o.errorBudgetUsedRatio),
    creditDue: r.creditDecision
      ? `${r.creditDecision.creditPercent} % (decided by the provider: ${r.creditDecision.reason})`
      : insufficient && o.creditPercent === null
        ? 'none granted automatically (insufficient data)'
        : credit(o.creditPercent),
    /** The summary's first sentence: the uptime, and what it may be taken to mean. */
    headline: insufficient
      ? `Insufficient data: only ${pct(o.measuredShare ?? 0, 2)} of the period was measured (maintenance ` +
        `excluded; at least ${pct(r.minMeasuredShare ?? 0, 2)} is needed for a result). Over the measured ` +
        `time alone the uptime was ${pct(o.uptime)}; no result against the ${pct(r.target, 2)} target is ` +
        'given, and no credit is granted automatically: the provider decides it from what it knows.'
      : `Uptime ${pct(o.uptime)} against a target of ${pct(r.target, 2)}: ${metText(o.met)}.` +
        (o.measuredShare === undefined ? '' : ` Measured: ${pct(o.measuredShare, 2)} of the period.`),
    creditTiers: `Credit tiers: ${r.creditTiers
      .map((c) => `uptime below ${c.below === 'target' ? 'the target' : pct(c.below, 2)}: ${c.percent} %`)
      .join('; ')}.`,
    // Said only when the month had pages to measure (and the stored report measured them).
    responseTimes:
      rt && rt.paged > 0
        ? `From the failure's beginning to the first page accepted by the provider: p50 ${duration(
            rt.failureToPageP50Seconds,
          )}, p90 ${duration(rt.failureToPageP90Seconds)} (${rt.paged} incidents paged). To its acknowledgement: p50 ${duration(
            rt.failureToAckP50Seconds,
          )}, p90 ${duration(rt.failureToAckP90Seconds)} (${rt.acknowledged} acknowledged).`
        : '',
    // Said whenever the report counted them (reports stored before response targets did not).
    targetBreaches: tb
      ? tb.incidents === 0
        ? 'Response targets: every incident was acknowledged and resolved within its target.'
        : `Response targets missed by ${tb.incidents} of ${r.incidents.list.length} incidents (${tb.acknowledge} ` +
          `not acknowledged in time, ${tb.resolve} not resolved in time): ${r.incidents.list
            .filter((i) => i.missedTargets?.length)
            .map((i) => `${i.code} ${i.missedTargets!.map((k) => MISSED[k]).join(' and ')}`)
            .join('; ')}.`
      : '',
    performance: perf.available
      ? `Response latency p50 ${seconds(perf.p50Seconds)}, p95 ${seconds(perf.p95Seconds)}; error rate ${
          perf.errorRate === null ? 'not available' : pct(perf.errorRate, 2)
        } of ${perf.requests ?? 0} requests.`
      : `Response latency and error rate: not available (${perf.reason}).`,
    // Reports stored before the capacity section have none to show ('' draws nothing).
    capacity:
      cap === undefined
        ? ''
        : cap.available
          ? 'Peak use of each resource in the month, and days until it is full at its 7-day trend as the ' +
            'period ends ("a year or more" when it is not filling).'
          : `Capacity data unavailable (${cap.reason}).`,
  };
}
