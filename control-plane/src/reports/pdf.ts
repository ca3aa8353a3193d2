import PDFDocument from 'pdfkit';
import { duration, local, metText, monthTitle, pct } from './format.ts';
import type { MonthlyReport } from './types.ts';

const MARGIN = 50;
const FOOTER = 24;

type Doc = PDFKit.PDFDocument;

/** Starts a new page when `height` more points would not fit above the footer: nothing is ever clipped. */
function ensure(doc: Doc, height: number): void {
  if (doc.y + height > doc.page.height - MARGIN - FOOTER) doc.addPage();
}

function heading(doc: Doc, text: string): void {
  ensure(doc, 60);
  doc.moveDown(0.6).font('Helvetica-Bold').fontSize(13).fillColor('#000').text(text, MARGIN);
  doc.moveDown(0.3).font('Helvetica').fontSize(9);
}

function para(doc: Doc, text: string): void {
  doc.font('Helvetica').fontSize(9).fillColor('#000');
  ensure(doc, doc.heightOfString(text, { width: doc.page.width - 2 * MARGIN }) + 4);
  doc.text(text, MARGIN, doc.y, { width: doc.page.width - 2 * MARGIN });
  doc.moveDown(0.3);
}

/** A table whose rows wrap inside their cells; the header is repeated on every page it continues on. */
function table(doc: Doc, head: string[], widths: number[], rows: string[][]): void {
  const total = doc.page.width - 2 * MARGIN;
  const scale = total / widths.reduce((a, b) => a + b, 0);
  const w = widths.map((x) => x * scale);
  const pad = 3;
  const rowHeight = (cells: string[], font: string) => {
    doc.font(font).fontSize(8);
    return Math.max(...cells.map((c, i) => doc.heightOfString(c, { width: w[i]! - 2 * pad }))) + 2 * pad;
  };
  const draw = (cells: string[], font: string, fill?: string) => {
    const h = rowHeight(cells, font);
    const y = doc.y;
    let x = MARGIN;
    cells.forEach((c, i) => {
      if (fill) doc.rect(x, y, w[i]!, h).fill(fill);
      doc.rect(x, y, w[i]!, h).lineWidth(0.5).stroke('#888');
      doc
        .fillColor('#000')
        .font(font)
        .fontSize(8)
        .text(c, x + pad, y + pad, { width: w[i]! - 2 * pad });
      x += w[i]!;
    });
    doc.x = MARGIN;
    doc.y = y + h;
  };
  const headH = rowHeight(head, 'Helvetica-Bold');
  ensure(doc, headH + (rows[0] ? rowHeight(rows[0], 'Helvetica') : 0));
  draw(head, 'Helvetica-Bold', '#e8e8e8');
  for (const r of rows) {
    const h = rowHeight(r, 'Helvetica');
    if (doc.y + h > doc.page.height - MARGIN - FOOTER) {
      doc.addPage();
      draw(head, 'Helvetica-Bold', '#e8e8e8');
    }
    draw(r, 'Helvetica');
  }
  doc.moveDown(0.5);
}

/** Daily uptime bars with the target line, drawn as vector graphics. */
function chart(doc: Doc, r: MonthlyReport): void {
  const width = doc.page.width - 2 * MARGIN;
  const height = 140;
  ensure(doc, height + 40);
  const top = doc.y + 4;
  const left = MARGIN + 40;
  const plotW = width - 40;
  // The axis starts a little below the worst day so that even that bar shows.
  const floor = Math.min(r.target - 0.01, ...r.daily.map((d) => d.uptime ?? 1)) - 0.005;
  const y = (u: number) => top + height - ((u - floor) / (1 - floor)) * (height - 10);
  doc.font('Helvetica').fontSize(7).fillColor('#000');
  doc.text(pct(1, 1), MARGIN, y(1) - 3, { width: 38, align: 'right', lineBreak: false });
  doc.text(pct(floor, 1), MARGIN, y(floor) - 6, { width: 38, align: 'right', lineBreak: false });
  doc.rect(left, top, plotW, height).lineWidth(0.5).stroke('#888');
  const bw = plotW / Math.max(1, r.daily.length);
  r.daily.forEach((d, i) => {
    const u = d.uptime ?? 1;
    const color = d.uptime === null ? '#bbbbbb' : u >= r.target ? '#2e7d32' : '#c62828';
    const h = Math.max(0.5, top + height - y(u));
    doc.rect(left + i * bw + 1, top + height - h, Math.max(1, bw - 2), h).fill(color);
    if (i % 5 === 0 || i === r.daily.length - 1)
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
    `Dashed line: the ${pct(r.target, 2)} target. Red bars: days below it. Day of month along the bottom.`,
  );
}

/** The report as a PDF (A4), every chart drawn with pdfkit; resolves to the file's bytes. */
export function renderPdf(r: MonthlyReport): Promise<Buffer> {
  const doc = new PDFDocument({
    size: 'A4',
    margins: { top: MARGIN, bottom: MARGIN, left: MARGIN, right: MARGIN },
    bufferPages: true,
    info: {
      Title: `${r.client.name}: service report for ${monthTitle(r.month)}`,
      Author: 'concierge-ops',
      // A fixed date keeps the bytes (and their SHA-256) a function of the report alone.
      CreationDate: new Date(r.generatedAt),
    },
    lang: 'en',
  } as PDFKit.PDFDocumentOptions);
  const chunks: Buffer[] = [];
  doc.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });
  const z = r.client.timeZone;
  const t = (iso: string) => local(iso, z);
  const o = r.overall;

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
    `Uptime ${pct(o.uptime)} against a target of ${pct(r.target, 2)}: ${metText(o.met)}. Error budget used: ${duration(
      o.errorBudgetUsedSeconds,
    )} of ${duration(o.errorBudgetSeconds)} (${
      o.errorBudgetUsedRatio === null ? 'no data' : pct(o.errorBudgetUsedRatio, 1)
    }). Credit due: ${o.creditPercent === null ? 'no data' : `${o.creditPercent} %`} of the monthly fee.`,
  );
  heading(doc, 'Uptime per instance');
  table(
    doc,
    ['Instance', 'Uptime', 'Result', 'Downtime', 'Maintenance', 'Budget used', 'Credit'],
    [3, 2, 1.3, 2, 2, 1.7, 1.2],
    [
      ...r.instances.map((i) => [
        i.instance.slug,
        pct(i.uptime),
        metText(i.met),
        duration(i.downtimeSeconds),
        duration(i.maintenanceSeconds),
        i.errorBudgetUsedRatio === null ? 'no data' : pct(i.errorBudgetUsedRatio, 1),
        i.creditPercent === null ? 'no data' : `${i.creditPercent} %`,
      ]),
      [
        'All instances',
        pct(o.uptime),
        metText(o.met),
        duration(o.downtimeSeconds),
        duration(o.maintenanceSeconds),
        o.errorBudgetUsedRatio === null ? 'no data' : pct(o.errorBudgetUsedRatio, 1),
        o.creditPercent === null ? 'no data' : `${o.creditPercent} %`,
      ],
    ],
  );
  para(
    doc,
    `Credit tiers: ${r.creditTiers
      .map((c) => `uptime below ${c.below === 'target' ? 'the target' : pct(c.below, 2)}: ${c.percent} %`)
      .join('; ')}.`,
  );
  heading(doc, 'Downtime');
  if (r.downtimes.length === 0) para(doc, 'No downtime this month.');
  else
    table(
      doc,
      ['Start', 'End', 'Duration', 'Instance', 'Services', 'Incident', 'What happened'],
      [2.2, 2.2, 1.5, 2, 1.5, 1.7, 3.5],
      r.downtimes.map((d) => [
        t(d.start),
        t(d.end),
        duration(d.durationSeconds),
        d.instance,
        d.services.join(', '),
        d.incident ? `${d.incident.code} (${d.incident.severity})` : '-',
        d.incident?.publicSummary ?? 'Summary to follow.',
      ]),
    );
  heading(doc, 'Planned maintenance (excluded from uptime)');
  if (r.maintenance.length === 0) para(doc, 'No maintenance this month.');
  else
    table(
      doc,
      ['Start', 'End', 'Duration', 'Scope', 'Reason'],
      [2, 2, 1.5, 2, 3],
      r.maintenance.map((m) => [
        t(m.start),
        t(m.end),
        duration(m.durationSeconds),
        m.instance ?? 'all instances',
        m.reason,
      ]),
    );
  heading(doc, 'Incidents');
  const sev = r.incidents.bySeverity;
  table(
    doc,
    ['Severity', 'Count', 'Acknowledged', 'Mean time to acknowledge', 'Mean time to resolve'],
    [1.5, 1, 1.5, 2.5, 2.5],
    (['critical', 'warning', 'info'] as const).map((s) => [
      s,
      String(sev[s].count),
      String(sev[s].acknowledged),
      duration(sev[s].meanTimeToAcknowledgeSeconds),
      duration(sev[s].meanTimeToResolveSeconds),
    ]),
  );
  if (r.incidents.list.length)
    table(
      doc,
      ['Incident', 'Severity', 'Opened', 'Acknowledged after', 'Resolved after', 'Summary'],
      [1.6, 1.2, 2.2, 1.6, 1.6, 4],
      r.incidents.list.map((i) => [
        i.code,
        i.severity,
        t(i.openedAt),
        duration(i.timeToAcknowledgeSeconds),
        duration(i.timeToResolveSeconds),
        i.publicSummary ?? 'Summary to follow.',
      ]),
    );
  heading(doc, 'Backups');
  table(
    doc,
    [
      'Instance',
      'Daily slots held',
      'Missed slots',
      'Runs (failed)',
      'Verified (failed)',
      'Latest restore test',
      'Point-in-time recovery',
    ],
    [2, 1.3, 1.8, 1.2, 1.3, 2.2, 3],
    r.backups.map((b) => [
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
              ? `; gaps: ${b.pitr.gaps.map((g) => `${t(g.from)} to ${t(g.to)}`).join('; ')}`
              : ''
          }`
        : 'not available',
    ]),
  );
  heading(doc, 'Concierge performance');
  const perf = r.performance;
  para(
    doc,
    perf.available
      ? `Response latency p50 ${perf.p50Seconds === null ? 'not available' : `${perf.p50Seconds.toFixed(3)} s`}, p95 ${
          perf.p95Seconds === null ? 'not available' : `${perf.p95Seconds.toFixed(3)} s`
        }; error rate ${perf.errorRate === null ? 'not available' : pct(perf.errorRate, 2)} of ${perf.requests ?? 0} requests.`
      : `Response latency and error rate: not available (${perf.reason}).`,
  );
  heading(doc, 'Daily uptime');
  chart(doc, r);
  heading(doc, 'Timeline');
  if (r.timeline.length === 0) para(doc, 'Nothing happened this month.');
  for (const e of r.timeline) para(doc, `${t(e.at)}  ${e.text}`);

  const range = doc.bufferedPageRange();
  for (let i = range.start; i < range.start + range.count; i++) {
    doc.switchToPage(i);
    // Writing inside the bottom margin would make pdfkit start a page: lift the margin for the footer.
    const bottom = doc.page.margins.bottom;
    doc.page.margins.bottom = 0;
    doc
      .font('Helvetica')
      .fontSize(7)
      .fillColor('#555')
      .text(
        `${r.client.name} - ${monthTitle(r.month)} - page ${i + 1} of ${range.count}`,
        MARGIN,
        doc.page.height - MARGIN,
        { width: doc.page.width - 2 * MARGIN, align: 'center', lineBreak: false },
      );
    doc.page.margins.bottom = bottom;
  }
  doc.end();
  return done;
}
