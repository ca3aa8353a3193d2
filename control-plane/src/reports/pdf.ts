import PDFDocument from 'pdfkit';
import { duration, metText, monthTitle, pct } from './format.ts';
import { sections, type TableData } from './sections.ts';
import type { MonthlyReport } from './types.ts';

const MARGIN = 50;
const FOOTER = 24;

export type Doc = PDFKit.PDFDocument;

/** Starts a new page when `height` more points would not fit above the footer: nothing is ever clipped. */
function ensure(doc: Doc, height: number): void {
  if (doc.y + height > doc.page.height - MARGIN - FOOTER) doc.addPage();
}

export function heading(doc: Doc, text: string): void {
  ensure(doc, 60);
  doc.moveDown(0.6).font('Helvetica-Bold').fontSize(13).fillColor('#000').text(text, MARGIN);
  doc.moveDown(0.3).font('Helvetica').fontSize(9);
}

export function para(doc: Doc, text: string): void {
  doc.font('Helvetica').fontSize(9).fillColor('#000');
  ensure(doc, doc.heightOfString(text, { width: doc.page.width - 2 * MARGIN }) + 4);
  doc.text(text, MARGIN, doc.y, { width: doc.page.width - 2 * MARGIN });
  doc.moveDown(0.3);
}

/** A table whose rows wrap inside their cells; the header is repeated on every page it continues on. */
export function table(doc: Doc, head: string[], widths: number[], rows: string[][]): void {
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

/**
 * An A4 document and the promise of its bytes. A fixed creation date (the report's own time) keeps the bytes,
 * and their SHA-256, a function of the report alone.
 */
export function newDoc(title: string, createdAt: string): { doc: Doc; done: Promise<Buffer> } {
  const doc = new PDFDocument({
    size: 'A4',
    margins: { top: MARGIN, bottom: MARGIN, left: MARGIN, right: MARGIN },
    bufferPages: true,
    info: { Title: title, Author: 'concierge-ops', CreationDate: new Date(createdAt) },
    lang: 'en',
  } as PDFKit.PDFDocumentOptions);
  const chunks: Buffer[] = [];
  doc.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });
  return { doc, done };
}

/** "<label> - page i of n" at the foot of every page (the document must buffer its pages). */
export function footers(doc: Doc, label: string): void {
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
      .text(`${label} - page ${i + 1} of ${range.count}`, MARGIN, doc.page.height - MARGIN, {
        width: doc.page.width - 2 * MARGIN,
        align: 'center',
        lineBreak: false,
      });
    doc.page.margins.bottom = bottom;
  }
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
    `Uptime ${pct(o.uptime)} against a target of ${pct(r.target, 2)}: ${metText(o.met)}. Error budget used: ${duration(
      o.errorBudgetUsedSeconds,
    )} of ${duration(o.errorBudgetSeconds)} (${x.budgetUsed}). Credit due: ${x.creditDue} of the monthly fee.`,
  );
  heading(doc, 'Uptime per instance');
  draw(x.tables.instances, [3, 2, 1.6, 1.3, 2, 2, 1.7, 1.2]);
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
  heading(doc, 'Backups');
  draw(x.tables.backups, [2, 1.3, 1.8, 1.2, 1.3, 2.2, 3]);
  heading(doc, 'Concierge performance');
  para(doc, x.performance);
  heading(doc, 'Daily uptime');
  chart(doc, r);
  heading(doc, 'Timeline');
  if (r.timeline.length === 0) para(doc, 'Nothing happened this month.');
  for (const e of r.timeline) para(doc, `${t(e.at)}  ${e.text}`);

  footers(doc, `${r.client.name} - ${monthTitle(r.month)}`);
  doc.end();
  return done;
}
