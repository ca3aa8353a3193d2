import { duration, monthTitle, pct } from './format.ts';
import { chartFloor, dayBars } from './chart.ts';
import { sections, type TableData } from './sections.ts';
import type { MonthlyReport } from './types.ts';

const esc = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

function table({ caption, head, rows, empty }: TableData): string {
  if (rows.length === 0) return empty ? `<p>${esc(empty)}</p>` : '';
  return `<table><caption>${esc(caption)}</caption><thead><tr>${head
    .map((h) => `<th scope="col">${esc(h)}</th>`)
    .join('')}</tr></thead><tbody>${rows
    .map(
      (r) =>
        `<tr>${r.map((c, i) => (i === 0 ? `<th scope="row">${esc(c)}</th>` : `<td>${esc(c)}</td>`)).join('')}</tr>`,
    )
    .join('')}</tbody></table>`;
}

/** Daily uptime as an inline SVG bar chart, described for screen readers; the table below says the same. */
function chart(r: MonthlyReport): string {
  const w = 620;
  const h = 160;
  const bw = w / Math.max(1, r.daily.length);
  const floor = chartFloor(r.target);
  const y = (u: number) => h - ((Math.max(u, floor) - floor) / (1 - floor)) * (h - 10);
  const days = dayBars(r);
  const bars = days
    .map((d, i) => {
      const x = i * bw + 1;
      if (d.kind === 'no-data') {
        const cx = (x + (bw - 2) / 2).toFixed(1);
        return `<rect x="${x.toFixed(1)}" y="0" width="${(bw - 2).toFixed(1)}" height="${h}" fill="#f2f2f2" stroke="#bbbbbb"><title>${esc(d.text)}</title></rect><text x="${cx}" y="${h / 2}" transform="rotate(-90 ${cx} ${h / 2})" text-anchor="middle" dominant-baseline="middle" font-size="9" fill="#666">no data</text>`;
      }
      const fill = d.kind === 'met' ? '#2e7d32' : '#c62828';
      // Below the scale: a stub at the foot with the day's figure above it.
      const top = d.clipped ? h - 3 : y(d.uptime);
      const bar = `<rect x="${x.toFixed(1)}" y="${top.toFixed(1)}" width="${(bw - 2).toFixed(1)}" height="${(h - top).toFixed(1)}" fill="${fill}"><title>${esc(d.text)}</title></rect>`;
      return d.clipped
        ? `${bar}<text x="${(x + (bw - 2) / 2).toFixed(1)}" y="${h - 6}" text-anchor="middle" font-size="8" fill="#c62828">${pct(d.uptime, 0)}</text>`
        : bar;
    })
    .join('');
  const worst = days.filter((d) => d.kind === 'missed').map((d) => d.date);
  const none = days.filter((d) => d.kind === 'no-data').length;
  const label = `Daily uptime chart. ${worst.length} day(s) below the ${pct(r.target, 1)} target${
    worst.length ? ': ' + worst.join(', ') : ''
  }.${none ? ` ${none} day(s) with no data.` : ''} Scale from ${pct(floor, 1)} to 100 %.`;
  return `<svg role="img" aria-label="${esc(label)}" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" xmlns="http://www.w3.org/2000/svg"><line x1="0" x2="${w}" y1="${y(r.target).toFixed(1)}" y2="${y(r.target).toFixed(1)}" stroke="#555" stroke-dasharray="4 3"/>${bars}</svg>`;
}

/** The e-mail body: semantic HTML with inline styles, readable without images and with a screen reader. */
export function renderHtml(r: MonthlyReport): string {
  const z = r.client.timeZone;
  const x = sections(r);
  const t = (iso: string) => esc(x.t(iso));
  const o = r.overall;
  const body = `
<h1>${esc(r.client.name)}: service report for ${esc(monthTitle(r.month))}</h1>
<p>Period ${t(r.period.from)} to ${t(r.period.to)} (time zone ${esc(z)})${
    r.period.complete ? '' : ', <strong>month still under way</strong>'
  }. Generated ${esc(r.generatedAt)}.</p>
<h2>Summary</h2>
<p class="headline"><strong>${esc(x.headline)}</strong> Error budget used: ${esc(duration(o.errorBudgetUsedSeconds))} of ${esc(
    duration(o.errorBudgetSeconds),
  )} (${esc(x.budgetUsed)}). Credit due: <strong>${esc(x.creditDue)}</strong> of the monthly fee.</p>
<h2>Uptime per instance</h2>
${table(x.tables.instances)}
<p>${esc(x.creditTiers)}</p>
<h2>Downtime</h2>
${table(x.tables.downtimes)}
<h2>Planned maintenance (excluded from uptime)</h2>
${table(x.tables.maintenance)}
<h2>Incidents</h2>
${table(x.tables.severities)}
${table(x.tables.incidents)}
${x.responseTimes ? `<p>${esc(x.responseTimes)}</p>` : ''}
${x.targetBreaches ? `<p>${esc(x.targetBreaches)}</p>` : ''}
<h2>Backups</h2>
${table(x.tables.backups)}
<h2>Concierge performance</h2>
<p>${esc(x.performance)}</p>
${
  x.capacity
    ? `<h2>Capacity</h2>
<p>${esc(x.capacity)}</p>
${table(x.tables.capacity)}
${table(x.tables.databases)}`
    : ''
}
<h2>Daily uptime</h2>
${chart(r)}
${table(x.tables.daily)}
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
