/**
 * The PDF primitives both the monthly client report (reports/) and the audit report (audit/) draw with: an A4
 * document with fixed metadata, headings, paragraphs, tables that continue over pages, page footers.
 */
import { loadPdfkit } from '../lazy.ts';

export const MARGIN = 50;
export const FOOTER = 24;

export type Doc = PDFKit.PDFDocument;

/** Starts a new page when `height` more points would not fit above the footer: nothing is ever clipped. */
export function ensure(doc: Doc, height: number): void {
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

/**
 * An A4 document and the promise of its bytes. A fixed creation date (the report's own time) keeps the bytes,
 * and their SHA-256, a function of the report alone.
 */
export function newDoc(title: string, createdAt: string): { doc: Doc; done: Promise<Buffer> } {
  const PDFDocument = loadPdfkit();
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
