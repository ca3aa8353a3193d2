import { DateTime } from 'luxon';
import type { Logger } from 'pino';
import { UUID, withTx, type Pool } from '../db/pool.ts';
import type { FleetService } from '../fleet/service.ts';
import type { Client } from '../fleet/types.ts';
import { actorName, type Auth } from '../http/auth.ts';
import { NotFoundError } from '../http/errors.ts';
import { addJob } from '../jobs/store.ts';
import type { MailSender } from '../notify/providers.ts';
import { checkAuditMonth, composeAuditReport, sha256, type AuditReport } from './report.ts';
import { renderAuditPdf, reportTitle } from './report-pdf.ts';
import * as rs from './report-store.ts';
import type { AuditService } from './service.ts';
import { errorMessage } from '@concierge-ops/shared/errors';

export const AUDIT_REPORT_SEND_TASK = 'audit-report-send';
export const AUDIT_REPORTS_MONTHLY_TASK = 'audit-reports-monthly';
const SYSTEM: Auth = {
  tokenId: '00000000-audit-reports',
  name: 'audit reports',
  role: 'admin',
  clientId: null,
};

export interface AuditReportDeps {
  pool: Pool;
  audit: AuditService;
  fleet: FleetService;
  mail: MailSender | undefined;
  /** Compliance contacts (AUDIT_REPORT_CONTACTS): every stored report is mailed to each. */
  contacts: readonly string[];
  sendMaxAttempts: number;
  log: Logger;
  now?: () => Date;
}

function meta(r: rs.DbAuditReportMeta, deliveries: Awaited<ReturnType<typeof rs.deliveries>>) {
  return {
    id: r.id,
    scope: r.scope === 'provider' ? 'provider' : 'client',
    clientId: r.client_id,
    month: r.month,
    version: r.version,
    sha256: r.sha256,
    pdfSha256: r.pdf_sha256,
    createdBy: r.created_by,
    createdAt: r.created_at.toISOString(),
    deliveries: deliveries
      .filter((d) => d.report_id === r.id)
      .map((d) => ({ contact: d.contact, status: d.status, attempts: d.attempts })),
  };
}

const escapeHtml = (s: string) =>
  s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

const scopeOf = (c: Client | undefined): AuditReport['scope'] =>
  c ? { kind: 'client', id: c.id, slug: c.slug, name: c.name } : { kind: 'provider' };

/**
 * Monthly audit reports per provider and per client: composed from the audit log, rendered to JSON and PDF,
 * stored as immutable versions (audit_reports) and mailed to the compliance contacts by durable jobs.
 */
export class AuditReportService {
  private readonly now: () => Date;
  constructor(private readonly d: AuditReportDeps) {
    this.now = d.now ?? (() => new Date());
  }

  /**
   * Composes and stores the next version of a month (only version 1 with `onlyFirst`, the monthly job: undefined
   * when it exists) and queues its mails in the same transaction.
   */
  async generate(client: Client | undefined, month: string, createdBy: string, onlyFirst = false) {
    const report = await composeAuditReport(this.d.pool, this.d.audit, scopeOf(client), month, this.now());
    const json = JSON.stringify(report);
    const pdf = await renderAuditPdf(report);
    return withTx(this.d.pool, async (tx) => {
      const row = await rs.insert(
        tx,
        {
          scope: client?.id ?? 'provider',
          client_id: client?.id ?? null,
          month,
          json,
          pdf,
          sha256: sha256(json),
          pdf_sha256: sha256(pdf),
          created_by: createdBy,
        },
        onlyFirst,
      );
      if (!row) return undefined;
      for (const contact of await rs.queueDeliveries(tx, row.id, this.d.contacts))
        await addJob(tx, {
          task: AUDIT_REPORT_SEND_TASK,
          payload: { reportId: row.id, contact },
          jobKey: `${AUDIT_REPORT_SEND_TASK}:${row.id}:${contact}`,
          maxAttempts: this.d.sendMaxAttempts,
        });
      return row;
    });
  }

  /** POST /api/v1/audit/reports: a new stored version of the month, the request itself recorded. */
  async generateNow(auth: Auth, requestId: string, month: string, clientIdOrSlug?: string) {
    // A refused month records nothing.
    checkAuditMonth(month, this.now());
    const client = clientIdOrSlug ? await this.d.fleet.getClient(auth, clientIdOrSlug) : undefined;
    // Recorded first, so the report of a month under way shows its own making among the changes.
    await this.d.audit.record(this.d.pool, auth, requestId, {
      action: 'audit.report',
      targetType: client ? 'client' : 'audit',
      targetId: client?.id ?? null,
      after: { month, scope: client ? client.slug : 'provider' },
    });
    const row = await this.generate(client, month, actorName(auth));
    // Two requests for one month at the same instant: the loser's version number was taken; try once more.
    const stored = row ?? (await this.generate(client, month, actorName(auth)));
    if (!stored) throw new Error('could not store the audit report: retry');
    return meta(stored, await rs.deliveries(this.d.pool, [stored.id]));
  }

  async list(auth: Auth, clientIdOrSlug?: string) {
    const client = clientIdOrSlug ? await this.d.fleet.getClient(auth, clientIdOrSlug) : undefined;
    const rows = await rs.list(this.d.pool, client?.id ?? null);
    const deliveries = await rs.deliveries(
      this.d.pool,
      rows.map((r) => r.id),
    );
    return { reports: rows.map((r) => meta(r, deliveries)) };
  }

  async byId(id: string) {
    const r = UUID.test(id) ? await rs.find(this.d.pool, id) : undefined;
    if (!r) throw new NotFoundError('audit report');
    return { ...r, meta: meta(r, await rs.deliveries(this.d.pool, [r.id])) };
  }

  /** The monthly job: last month's (UTC) provider report and one per active client, each stored once. */
  async runMonthly(now = this.now()): Promise<{ generated: number }> {
    const month = DateTime.fromJSDate(now, { zone: 'utc' }).minus({ months: 1 }).toFormat('yyyy-MM');
    const clients = await this.d.fleet.listClients(SYSTEM, 'active');
    const scopes: (Client | undefined)[] = [undefined, ...clients];
    const done = await rs.stored(
      this.d.pool,
      month,
      scopes.map((c) => c?.id ?? 'provider'),
    );
    let generated = 0;
    for (const c of scopes) {
      if (done.has(c?.id ?? 'provider')) continue;
      try {
        if (await this.generate(c, month, 'monthly audit report job', true)) generated++;
      } catch (err) {
        // One scope's failure must not hold back the others; the next tick tries it again.
        this.d.log.error(
          { client: c?.slug ?? 'provider', month, err: errorMessage(err) },
          'audit report failed',
        );
      }
    }
    return { generated };
  }

  /** The send job: one mail to one contact with the PDF and JSON attached; a delivered one is not sent again. */
  async deliver(reportId: string, contact: string, lastAttempt = false): Promise<void> {
    if (!this.d.mail) throw new Error('SMTP_URL is not configured: audit report mails cannot be sent');
    const mail = this.d.mail;
    const failure = await withTx(this.d.pool, async (tx): Promise<Error | undefined> => {
      if (!(await rs.claimDelivery(tx, reportId, contact))) return undefined;
      const r = (await rs.find(tx, reportId))!;
      const report = JSON.parse(r.json) as AuditReport;
      const title = reportTitle(report) + (r.version > 1 ? ` (version ${r.version})` : '');
      const v = report.verification;
      const file = `audit-${report.scope.kind === 'client' ? report.scope.slug : 'provider'}-${r.month}`;
      const text =
        `${title}\nVerification: ${v.atGeneration.ok ? 'OK' : 'BROKEN'}; ` +
        `${report.flagged.count} flagged, ${report.exports.count} exports, ${report.changes.count} changes.\n` +
        `Attached: the PDF (SHA-256 ${r.pdf_sha256}) and the JSON (SHA-256 ${r.sha256}).`;
      try {
        const messageId = await mail.send({
          to: contact,
          subject: title,
          text,
          html: `<pre>${escapeHtml(text)}</pre>`,
          attachments: [
            { filename: `${file}.pdf`, content: r.pdf, contentType: 'application/pdf' },
            { filename: `${file}.json`, content: Buffer.from(r.json), contentType: 'application/json' },
          ],
        });
        await rs.deliveryDone(tx, reportId, contact, { messageId });
        return undefined;
      } catch (err) {
        await rs.deliveryDone(tx, reportId, contact, { error: errorMessage(err), final: lastAttempt });
        return err as Error;
      }
    });
    if (failure) throw failure;
  }
}
