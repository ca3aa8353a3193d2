import { footers, heading, newDoc, para, table } from '../pdf/document.ts';
import type { AuditReport, ReportItem } from './report.ts';

export function reportTitle(r: AuditReport): string {
  const who = r.scope.kind === 'provider' ? 'Provider' : r.scope.name;
  return `${who}: audit report for ${r.month}`;
}

const ITEM_HEAD = ['seq', 'time (UTC)', 'actor', 'role', 'action', 'target'];
const ITEM_WIDTHS = [0.8, 2.2, 2.2, 1, 2, 2.8];
const row = (i: ReportItem) => [
  String(i.seq),
  i.at.replace('T', ' ').slice(0, 19),
  i.tokenName ?? i.actor,
  i.role ?? '-',
  i.action,
  i.target,
];

/** The audit report as an A4 PDF (the same pdfkit helpers as the SLA reports); resolves to its bytes. */
export function renderAuditPdf(r: AuditReport): Promise<Buffer> {
  const { doc, done } = newDoc(reportTitle(r), r.generatedAt);
  const list = (title: string, count: number, items: ReportItem[], none: string) => {
    heading(doc, `${title} (${count})`);
    if (items.length === 0) para(doc, none);
    else table(doc, ITEM_HEAD, ITEM_WIDTHS, items.map(row));
    if (count > items.length)
      para(doc, `The first ${items.length} of ${count} are listed; export the month for all.`);
  };
  doc.font('Helvetica-Bold').fontSize(17).text(reportTitle(r), 50);
  para(
    doc,
    `Period ${r.period.from} to ${r.period.to} (UTC)${r.period.complete ? '' : ', month still under way'}. ` +
      `Generated ${r.generatedAt}. ${r.access.total} audit records in scope` +
      (r.scope.kind === 'client' ? ': made with this client\u2019s tokens or about this client.' : '.'),
  );

  const v = r.verification;
  heading(doc, 'Verification');
  para(
    doc,
    v.atGeneration.ok
      ? `Chain and checkpoints verified at generation: OK (${v.atGeneration.rows} rows).`
      : `Chain and checkpoints verified at generation: BROKEN - ${JSON.stringify(v.atGeneration.firstBroken)}`,
  );
  para(
    doc,
    v.checkpoint
      ? `The month's last record (seq ${v.lastSeq}) is covered by checkpoint seq ${v.checkpoint.seq}, hash ` +
          `${v.checkpoint.hash}, signed ${v.checkpoint.at} by key ${v.checkpoint.keyId}.`
      : v.lastSeq === null
        ? 'The log holds no record up to the end of this month.'
        : 'No signed checkpoint covers this month: checkpoints are off.',
  );
  para(
    doc,
    `Periodic verification during the month: ${v.duringMonth.runs} runs, ${v.duringMonth.failed} failed.`,
  );

  heading(doc, 'Access by actor and role');
  if (r.access.byActor.length === 0) para(doc, 'No records this month.');
  else
    table(
      doc,
      ['actor', 'token', 'role', 'records', 'reads', 'changes'],
      [2.5, 2.5, 1.2, 1, 1, 1],
      r.access.byActor.map((a) => [
        a.actor,
        a.tokenId ? `${a.tokenName ?? ''} ${a.tokenId.slice(0, 8)}` : '-',
        a.role ?? '-',
        String(a.records),
        String(a.reads),
        String(a.changes),
      ]),
    );
  list('Configuration changes', r.changes.count, r.changes.items, 'No configuration changed.');
  list('Denied requests (bursts)', r.denied.bursts, r.denied.items, 'No burst of denied requests.');
  list('Exports of the audit log', r.exports.count, r.exports.items, 'No export was made.');
  list('Reads of client data and of the audit log', r.reads.count, r.reads.items, 'No recorded read.');
  list('Flagged as suspicious', r.flagged.count, r.flagged.items, 'Nothing was flagged.');
  footers(doc, reportTitle(r));
  doc.end();
  return done;
}
