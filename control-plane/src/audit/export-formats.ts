import type { Writable } from 'node:stream';
import type { Checkpoint } from './checkpoints.ts';
import type { DbExportRow } from './store.ts';
import { loadPdfkit } from '../lazy.ts';

export type ExportFormat = 'csv' | 'json' | 'pdf';

/** What an export states about itself, so an auditor can check its records were not edited (docs/audit.md). */
export interface ExportIntegrity {
  format: 'concierge-ops audit export v1';
  filters: { from: string; to: string; actor: string | null; client: string | null; action: string | null };
  /** The newest record in the log when the export began: nothing after it is included. */
  through: number;
  /** No actor, client or action filter: every record from first to last is here, each chained to the one before. */
  complete: boolean;
  rows: number;
  first: { seq: number; prevHash: string; hash: string } | null;
  last: { seq: number; hash: string } | null;
  /** The newest signed checkpoint at or after the last record, as signed (null: checkpoints are off). */
  checkpoint: Checkpoint | null;
}

export const CONTENT_TYPES: Record<ExportFormat, string> = {
  csv: 'text/csv; charset=utf-8',
  json: 'application/jsonl; charset=utf-8',
  pdf: 'application/pdf',
};
export const EXTENSIONS: Record<ExportFormat, string> = { csv: 'csv', json: 'jsonl', pdf: 'pdf' };

/** Writes one export to `out`, a record at a time, and its integrity block last. */
export interface ExportWriter {
  /** Takes one record; writes once CHUNK characters are waiting. */
  row(r: DbExportRow): void;
  /** Writes what waits, then resolves once `out` can take more (rejects when the reader went away). */
  flush(): Promise<void>;
  finish(integrity: ExportIntegrity): Promise<void>;
}

/**
 * Characters held before they are written: small enough to die young in V8's new space (a string over about
 * 128 KiB is allocated straight into the old generation), large enough that HTTP chunks stay few.
 */
const CHUNK = 32_768;

/** Text waiting to be written to `out`, written once CHUNK characters wait (and on `flush`). */
class TextOut {
  private pending = '';
  constructor(private readonly out: Writable) {}

  add(text: string) {
    this.pending += text;
    if (this.pending.length >= CHUNK) this.write();
  }

  write() {
    if (this.pending === '') return;
    this.out.write(this.pending);
    this.pending = '';
  }

  async flush() {
    this.write();
    await drained(this.out);
  }
}

/** Resolves once `out` can take more (or at once); rejects when the reader went away, to stop the export. */
function drained(out: Writable): Promise<void> {
  if (out.destroyed) return Promise.reject(new Error('the export was abandoned by its reader'));
  if (!out.writableNeedDrain) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const done = () => {
      out.off('close', gone);
      resolve();
    };
    const gone = () => {
      out.off('drain', done);
      reject(new Error('the export was abandoned by its reader'));
    };
    out.once('drain', done);
    out.once('close', gone);
  });
}

const CSV_COLUMNS = [
  'seq',
  'at',
  'actor',
  'action',
  'target_type',
  'target_id',
  'request_id',
  'token_id',
  'token_name',
  'role',
  'client_id',
  'ip',
  'user_agent',
  'before',
  'after',
  'prev_hash',
  'hash',
  'canonical',
] as const;

/**
 * RFC 4180 quoting. A cell a spreadsheet would run as a formula (=, +, -, @, tab, CR first: a user agent is
 * anyone's to send) gets a leading apostrophe, as OWASP advises; `canonical` is never changed, and is what the
 * hash covers.
 */
function cell(v: string | number | null): string {
  if (v === null) return '';
  let s = String(v);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

class CsvWriter implements ExportWriter {
  private readonly text: TextOut;
  constructor(private readonly out: Writable) {
    this.text = new TextOut(out);
    this.text.add(CSV_COLUMNS.join(',') + '\r\n');
  }

  row(r: DbExportRow) {
    this.text.add(CSV_COLUMNS.map((c) => cell(r[c])).join(',') + '\r\n');
  }

  flush() {
    return this.text.flush();
  }

  async finish(integrity: ExportIntegrity) {
    // A trailing comment block, because the count and the last hash are known only at the end of a stream.
    await this.flush();
    this.out.end(
      `# ${integrity.format}: integrity of the records above (docs/audit.md)\r\n` +
        `# integrity: ${JSON.stringify(integrity)}\r\n`,
    );
  }
}

class JsonLinesWriter implements ExportWriter {
  private readonly text: TextOut;
  constructor(private readonly out: Writable) {
    this.text = new TextOut(out);
  }

  row(r: DbExportRow) {
    // The record's fields as hashed, then its hashes and the exact text they cover.
    const fields = JSON.parse(r.canonical) as object;
    this.text.add(
      JSON.stringify({ ...fields, prevHash: r.prev_hash, hash: r.hash, canonical: r.canonical }) + '\n',
    );
  }

  flush() {
    return this.text.flush();
  }

  async finish(integrity: ExportIntegrity) {
    await this.flush();
    this.out.end(JSON.stringify({ integrity }) + '\n');
  }
}

const MARGIN = 40;
const ROW = 10;
/** seq, at, actor, action, target, hash: fixed widths, one line each, so a page costs no text measuring. */
const PDF_COLUMNS: [string, number][] = [
  ['seq', 40],
  ['at (UTC)', 100],
  ['actor', 120],
  ['action', 80],
  ['target', 95],
  ['hash', 80],
];

/** For reading; the CSV and JSON exports carry what re-hashing needs (the canonical text of each record). */
class PdfWriter implements ExportWriter {
  private readonly doc: PDFKit.PDFDocument;
  constructor(
    private readonly out: Writable,
    title: string,
  ) {
    const PDFDocument = loadPdfkit();
    this.doc = new PDFDocument({ size: 'A4', margin: MARGIN, info: { Title: title } });
    this.doc.pipe(out);
    this.doc.font('Helvetica-Bold').fontSize(13).text(title);
    this.doc.moveDown(0.5);
    this.header();
  }

  private header() {
    let x = MARGIN;
    this.doc.font('Helvetica-Bold').fontSize(7);
    const y = this.doc.y;
    for (const [name, w] of PDF_COLUMNS) {
      this.doc.text(name, x, y, { width: w - 4, lineBreak: false });
      x += w;
    }
    this.doc.font('Helvetica').y = y + ROW + 2;
  }

  row(r: DbExportRow) {
    const doc = this.doc;
    if (doc.y + ROW > doc.page.height - MARGIN) {
      doc.addPage();
      this.header();
    }
    const y = doc.y;
    const cells = [
      String(r.seq),
      r.at.replace('T', ' ').replace(/\.\d+Z$/, 'Z'),
      r.actor,
      r.action,
      `${r.target_type}${r.target_id ? ' ' + r.target_id : ''}`,
      r.hash.slice(0, 16),
    ];
    let x = MARGIN;
    PDF_COLUMNS.forEach(([, w], i) => {
      doc.text(cells[i]!, x, y, { width: w - 4, height: ROW, lineBreak: false, ellipsis: true });
      x += w;
    });
    doc.y = y + ROW;
  }

  flush() {
    return drained(this.out);
  }

  async finish(i: ExportIntegrity) {
    const doc = this.doc;
    doc.addPage();
    doc.font('Helvetica-Bold').fontSize(12).text('Integrity', MARGIN, MARGIN);
    doc.moveDown(0.5).font('Courier').fontSize(7);
    const lines = [
      `format: ${i.format}`,
      `filters: ${JSON.stringify(i.filters)}`,
      `records: ${i.rows}${i.complete ? ' (every record from first to last)' : ' (filtered)'}`,
      `newest record when exported: seq ${i.through}`,
      `first: seq ${i.first?.seq ?? '-'}`,
      `  prev_hash ${i.first?.prevHash ?? '-'}`,
      `  hash      ${i.first?.hash ?? '-'}`,
      `last: seq ${i.last?.seq ?? '-'}`,
      `  hash      ${i.last?.hash ?? '-'}`,
      i.checkpoint
        ? `checkpoint: seq ${i.checkpoint.seq} rows ${i.checkpoint.rows} at ${i.checkpoint.at} key ${i.checkpoint.keyId}`
        : 'checkpoint: none (checkpoints are off)',
      ...(i.checkpoint ? [`  hash ${i.checkpoint.hash}`, `  sig  ${i.checkpoint.sig}`] : []),
      '',
      'To check the records themselves, export the same range as CSV or JSON and re-hash it (docs/audit.md).',
    ];
    for (const l of lines) doc.text(l, { width: doc.page.width - 2 * MARGIN });
    doc.end();
    await new Promise<void>((resolve) => this.out.once('finish', resolve));
  }
}

export function exportWriter(format: ExportFormat, out: Writable, title: string): ExportWriter {
  if (format === 'csv') return new CsvWriter(out);
  if (format === 'json') return new JsonLinesWriter(out);
  return new PdfWriter(out, title);
}
