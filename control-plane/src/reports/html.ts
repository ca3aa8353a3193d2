import { duration, local, metText, monthTitle, pct } from './format.ts';
import type { MonthlyReport } from './types.ts';

const esc = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

function table(caption: string, head: string[], rows: string[][], empty: string): string {
  if (rows.length === 0) return `<p>${esc(empty)}</p>`;
  return `<table><caption>${esc(caption)}</caption><thead><tr>${head
    .map((h) => `<th scope="col">${esc(h)}</th>`)
    .join('')}</tr></thead><tbody>${rows
    .map(
      (r) =>
        `<tr>${r.map((c, i) => (i === 0 ? `<th scope="row">${c}</th>` : `<td>${c}</td>`)).join('')}</tr>`,
    )
    .join('')}</tbody></table>`;
}

/** Daily uptime as an inline SVG bar chart, described for screen readers; the table below says the same. */
function chart(r: MonthlyReport): string {
  const w = 620;
  const h = 160;
  const bw = w / Math.max(1, r.daily.length);
  // The axis starts a little below the worst day so that even that bar shows.
  const floor = Math.min(r.target - 0.01, ...r.daily.map((d) => d.uptime ?? 1)) - 0.005;
  const y = (u: number) => h - ((u - floor) / (1 - floor)) * (h - 10);
  const bars = r.daily
    .map((d, i) => {
      const u = d.uptime ?? 1;
      const fill = d.uptime === null ? '#bbbbbb' : u >= r.target ? '#2e7d32' : '#c62828';
      return `<rect x="${(i * bw + 1).toFixed(1)}" y="${y(u).toFixed(1)}" width="${(bw - 2).toFixed(1)}" height="${(h - y(u)).toFixed(1)}" fill="${fill}"><title>${d.date}: ${pct(d.uptime, 3)}</title></rect>`;
    })
    .join('');
  const worst = r.daily.filter((d) => d.uptime !== null && d.uptime < r.target).map((d) => d.date);
  const label = `Daily uptime chart. ${worst.length} day(s) below the ${pct(r.target, 1)} target${
    worst.length ? ': ' + worst.join(', ') : ''
  }.`;
  return `<svg role="img" aria-label="${esc(label)}" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" xmlns="http://www.w3.org/2000/svg"><line x1="0" x2="${w}" y1="${y(r.target).toFixed(1)}" y2="${y(r.target).toFixed(1)}" stroke="#555" stroke-dasharray="4 3"/>${bars}</svg>`;
}

/** The e-mail body: semantic HTML with inline styles, readable without images and with a screen reader. */
export function renderHtml(r: MonthlyReport): string {
  const z = r.client.timeZone;
  const t = (iso: string) => esc(local(iso, z));
  const o = r.overall;
  const perf = r.performance;
  const sev = r.incidents.bySeverity;
  const body = `
<h1>${esc(r.client.name)}: service report for ${esc(monthTitle(r.month))}</h1>
<p>Period ${t(r.period.from)} to ${t(r.period.to)} (time zone ${esc(z)})${
    r.period.complete ? '' : ', <strong>month still under way</strong>'
  }. Generated ${esc(r.generatedAt)}.</p>
<h2>Summary</h2>
<p class="headline">Uptime <strong>${pct(o.uptime)}</strong> against a target of ${pct(r.target, 2)}: <strong>${metText(
    o.met,
  )}</strong>. Error budget used: ${esc(duration(o.errorBudgetUsedSeconds))} of ${esc(
    duration(o.errorBudgetSeconds),
  )} (${o.errorBudgetUsedRatio === null ? 'no data' : pct(o.errorBudgetUsedRatio, 1)}). Credit due: <strong>${
    o.creditPercent === null ? 'no data' : `${o.creditPercent} %`
  }</strong> of the monthly fee.</p>
<h2>Uptime per instance</h2>
${table(
  'Uptime per instance (maintenance excluded)',
  ['Instance', 'Uptime', 'Target', 'Result', 'Downtime', 'Maintenance', 'Budget used', 'Credit'],
  [
    ...r.instances.map((i) => [
      esc(i.instance.slug),
      pct(i.uptime),
      pct(r.target, 2),
      metText(i.met),
      esc(duration(i.downtimeSeconds)),
      esc(duration(i.maintenanceSeconds)),
      i.errorBudgetUsedRatio === null ? 'no data' : pct(i.errorBudgetUsedRatio, 1),
      i.creditPercent === null ? 'no data' : `${i.creditPercent} %`,
    ]),
    [
      'All instances',
      pct(o.uptime),
      pct(r.target, 2),
      metText(o.met),
      esc(duration(o.downtimeSeconds)),
      esc(duration(o.maintenanceSeconds)),
      o.errorBudgetUsedRatio === null ? 'no data' : pct(o.errorBudgetUsedRatio, 1),
      o.creditPercent === null ? 'no data' : `${o.creditPercent} %`,
    ],
  ],
  'No instances.',
)}
<p>Credit tiers: ${r.creditTiers
    .map((c) => `uptime below ${c.below === 'target' ? 'the target' : pct(c.below, 2)}: ${c.percent} %`)
    .join('; ')}.</p>
<h2>Downtime</h2>
${table(
  'Every downtime counted in the month',
  ['Start', 'End', 'Duration', 'Instance', 'Services', 'Incident', 'What happened'],
  r.downtimes.map((d) => [
    t(d.start),
    t(d.end),
    esc(duration(d.durationSeconds)),
    esc(d.instance),
    esc(d.services.join(', ')),
    d.incident ? esc(`${d.incident.code} (${d.incident.severity})`) : '-',
    esc(d.incident?.publicSummary ?? 'Summary to follow.'),
  ]),
  'No downtime this month.',
)}
<h2>Planned maintenance (excluded from uptime)</h2>
${table(
  'Maintenance windows',
  ['Start', 'End', 'Duration', 'Scope', 'Reason'],
  r.maintenance.map((m) => [
    t(m.start),
    t(m.end),
    esc(duration(m.durationSeconds)),
    esc(m.instance ?? 'all instances'),
    esc(m.reason),
  ]),
  'No maintenance this month.',
)}
<h2>Incidents</h2>
${table(
  'Incidents by severity',
  ['Severity', 'Count', 'Acknowledged', 'Mean time to acknowledge', 'Mean time to resolve'],
  (['critical', 'warning', 'info'] as const).map((s) => [
    s,
    String(sev[s].count),
    String(sev[s].acknowledged),
    esc(duration(sev[s].meanTimeToAcknowledgeSeconds)),
    esc(duration(sev[s].meanTimeToResolveSeconds)),
  ]),
  '',
)}
${table(
  'Incidents opened this month',
  ['Incident', 'Severity', 'Opened', 'Acknowledged after', 'Resolved after', 'Summary'],
  r.incidents.list.map((i) => [
    esc(i.code),
    i.severity,
    t(i.openedAt),
    esc(duration(i.timeToAcknowledgeSeconds)),
    esc(duration(i.timeToResolveSeconds)),
    esc(i.publicSummary ?? 'Summary to follow.'),
  ]),
  'No incidents this month.',
)}
<h2>Backups</h2>
${table(
  'Backup evidence per instance',
  [
    'Instance',
    'Daily slots held',
    'Missed slots',
    'Runs (failed)',
    'Verified (failed)',
    'Latest restore test',
    'Point-in-time recovery',
  ],
  r.backups.map((b) => [
    esc(b.instance.slug),
    `${b.slots.length - b.missedSlots.length} of ${b.slots.length}`,
    esc(b.missedSlots.join(', ') || 'none'),
    `${b.runs.total} (${b.runs.failed})`,
    `${b.verification.verified} (${b.verification.failed})`,
    b.latestRestoreTest
      ? `${t(b.latestRestoreTest.finishedAt)}: ${b.latestRestoreTest.success ? 'passed' : 'FAILED'}`
      : 'none on record',
    b.pitr
      ? `${t(b.pitr.earliest)} to ${t(b.pitr.latest)}${b.pitr.gaps.length ? `, ${b.pitr.gaps.length} gap(s): ${b.pitr.gaps.map((g) => `${t(g.from)} to ${t(g.to)}`).join('; ')}` : ''}`
      : 'not available',
  ]),
  'No instances.',
)}
<h2>Concierge performance</h2>
${
  perf.available
    ? `<p>Response latency p50 ${perf.p50Seconds === null ? 'not available' : `${perf.p50Seconds.toFixed(3)} s`}, p95 ${
        perf.p95Seconds === null ? 'not available' : `${perf.p95Seconds.toFixed(3)} s`
      }; error rate ${perf.errorRate === null ? 'not available' : pct(perf.errorRate, 2)} of ${perf.requests ?? 0} requests.</p>`
    : `<p>Response latency and error rate: not available (${esc(perf.reason)}).</p>`
}
<h2>Daily uptime</h2>
${chart(r)}
${table(
  'Daily uptime',
  ['Day', 'Uptime', 'Downtime'],
  r.daily.map((d) => [d.date, pct(d.uptime, 3), esc(duration(d.downtimeSeconds))]),
  '',
)}
<h2>Timeline</h2>
${
  r.timeline.length
    ? `<ol class="timeline">${r.timeline.map((e) => `<li><time datetime="${e.at}">${t(e.at)}</time>: ${esc(e.text)}</li>`).join('')}</ol>`
    : '<p>Nothing happened this month.</p>'
}`;
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>${esc(r.client.name)}: service report for ${esc(monthTitle(r.month))}</title>
<style>body{font-family:Arial,Helvetica,sans-serif;color:#111;max-width:960px;margin:auto;padding:8px}
table{border-collapse:collapse;margin:8px 0 16px}caption{text-align:left;font-weight:bold;padding:4px 0}
th,td{border:1px solid #999;padding:4px 6px;text-align:left;vertical-align:top}thead th{background:#eee}
</style></head><body><main>${body}</main></body></html>`;
}
