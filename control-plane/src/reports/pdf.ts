import { ensure, footers, heading, MARGIN, newDoc, para, table, type Doc } from '../pdf/document.ts';
import { duration, monthTitle, pct } from './format.ts';
import { chartFloor, dayBars } from './chart.ts';
import { sections, type TableData } from './sections.ts';
import type { MonthlyReport } from './types.ts';

/** Daily uptime bars with the target line, drawn as vector graphics. */
function chart(doc: Doc, r: MonthlyReport): void {
  const width = doc.page.width - 2 * MARGIN;
  const height = 120;
  ensure(doc, height + 40);
  const top = doc.y + 4;
  const left = MARGIN + 40;
  const plotW = width - 40;
  const floor = chartFloor(r.target);
  const y = (u: number) => top + height - ((Math.max(u, floor) - floor) / (1 - floor)) * (height - 10);
  doc.font('Helvetica').fontSize(7).fillColor('#000');
  doc.text(pct(1, 1), MARGIN, y(1) - 3, { width: 38, align: 'right', lineBreak: false });
  doc.text(pct(floor, 1), MARGIN, y(floor) - 6, { width: 38, align: 'right', lineBreak: false });
  doc.rect(left, top, plotW, height).lineWidth(0.5).stroke('#888');
  const days = dayBars(r);
  const bw = plotW / Math.max(1, days.length);
  days.forEach((d, i) => {
    const x = left + i * bw + 1;
    const barW = Math.max(1, bw - 2);
    if (d.kind === 'no-data') {
      doc.rect(x, top, barW, height).fill('#eeeeee');
      doc.save().rotate(-90, { origin: [x + barW / 2, top + height / 2] });
      doc
        .fillColor('#666')
        .fontSize(6)
        .text('no data', x + barW / 2 - 20, top + height / 2 - 3, {
          width: 40,
          align: 'center',
          lineBreak: false,
        });
      doc.restore();
    } else {
      // Below the scale: a stub at the foot with the day's figure above it.
      const h = d.clipped ? 3 : Math.max(0.5, top + height - y(d.uptime));
      doc.rect(x, top + height - h, barW, h).fill(d.kind === 'met' ? '#2e7d32' : '#c62828');
      if (d.clipped)
        doc
          .fillColor('#c62828')
          .fontSize(5)
          .text(pct(d.uptime, 0), x - 4, top + height - 10, {
            width: barW + 8,
            align: 'center',
            lineBreak: false,
          });
    }
    if (i % 5 === 0 || i === days.length - 1)
      doc
        .fillColor('#000')
        .fontSize(6)
        .text(d.date.slice(8), left + i * bw, top + height + 2, {
          width: bw,
          align: 'center',
          lineBreak: false,
        });
  });
  doc
    .moveTo(left, y(r.target))
    .lineTo(left + plotW, y(r.target))
    .dash(3, { space: 2 })
    .lineWidth(0.8)
    .stroke('#333')
    .undash();
  doc.x = MARGIN;
  doc.y = top + height + 14;
  para(
    doc,
    `Dashed: the ${pct(r.target, 2)} target. Red: days below it (with a figure: below the scale). ` +
      'Grey: no data. Day of month along the bottom.',
  );
}

/** The report as a PDF (A4), every chart drawn with pdfkit; resolves to the file's bytes. */
export function renderPdf(r: MonthlyReport): Promise<Buffer> {
  const { doc, done } = newDoc(`${r.client.name}: service report for ${monthTitle(r.month)}`, r.generatedAt);
  const z = r.client.timeZone;
  const x = sections(r);
  const t = x.t;
  const o = r.overall;
  const draw = (d: TableData, widths: number[]) => {
    if (d.rows.length > 0) table(doc, d.head, widths, d.rows);
    else if (d.empty) para(doc, d.empty);
  };

  doc.font('Helvetica-Bold').fontSize(17).text(`${r.client.name}: service report`, MARGIN);
  doc.font('Helvetica').fontSize(11).text(monthTitle(r.month));
  doc.moveDown(0.3);
  para(
    doc,
    `Period ${t(r.period.from)} to ${t(r.period.to)} (time zone ${z})${r.period.complete ? '' : ', month still under way'}. Generated ${r.generatedAt}.`,
  );
  heading(doc, 'Summary');
  para(
    doc,
    `${x.headline} Error budget used: ${duration(o.errorBudgetUsedSeconds)} of ${duration(
      o.errorBudgetSeconds,
    )} (${x.budgetUsed}). Credit due: ${x.creditDue} of the monthly fee.`,
  );
  heading(doc, 'Uptime per instance');
  draw(x.tables.instances, [2.5, 1.6, 1.5, 1.4, 1.3, 1.7, 1.8, 2, 1.2]);
  para(doc, x.creditTiers);
  heading(doc, 'Downtime');
  draw(x.tables.downtimes, [2.2, 2.2, 1.5, 2, 1.5, 1.7, 3.5]);
  heading(doc, 'Planned maintenance (excluded from uptime)');
  draw(x.tables.maintenance, [2, 2, 1.5, 2, 3]);
  heading(doc, 'Incidents');
  draw(x.tables.severities, [1.5, 1, 1.5, 2.5, 2.5]);
  // The severity table already says when there were none.
  if (r.incidents.list.length) draw(x.tables.incidents, [1.6, 1.2, 2.2, 1.5, 1.5, 1.5, 1.5, 3.4]);
  if (x.responseTimes) para(doc, x.responseTimes);
  if (x.targetBreaches) para(doc, x.targetBreaches);
  heading(doc, 'Backups');
  draw(x.tables.backups, [2, 1.3, 1.8, 1.2, 1.3, 2.2, 3]);
  heading(doc, 'Concierge performance');
  para(doc, x.performance);
  // Unavailable, it is one sentence beside the performance one, not a section of its own.
  if (r.capacity?.available) {
    heading(doc, 'Capacity');
    para(doc, x.capacity);
    draw(x.tables.capacity, [2, 3, 2, 2]);
    draw(x.tables.databases, [2, 2.5, 2, 2.5]);
  } else if (x.capacity) para(doc, x.capacity);
  heading(doc, 'Daily uptime');
  chart(doc, r);
  heading(doc, 'Timeline');
  if (r.timeline.length === 0) para(doc, 'Nothing happened this month.');
  for (const e of r.timeline) para(doc, `${t(e.at)}  ${e.text}`);

  footers(doc, `${r.client.name} - ${monthTitle(r.month)}`);
  doc.end();
  return done;
}
