import crypto from 'node:crypto';
import { DateTime } from 'luxon';
import type { Logger } from 'pino';
import type { AuditService } from '../audit/service.ts';
import { UUID, withTx, type Pool, type Queryable } from '../db/pool.ts';
import type { Client } from '../fleet/types.ts';
import { actorName, canSeeClient, type Auth } from '../http/auth.ts';
import { ConflictError, NotFoundError } from '../http/errors.ts';
import { addJob } from '../jobs/store.ts';
import type { MailSender } from '../notify/providers.ts';
import { composeReport, checkMonth, type ComposeDeps } from './compose.ts';
import { monthTitle, pct } from './format.ts';
import { renderHtml } from './html.ts';
import { renderPdf } from './pdf.ts';
import * as store from './store.ts';
import type { MonthlyReport } from './types.ts';
import { errorMessage } from '@concierge-ops/shared/errors';

export const SEND_TASK = 'report-send';
export const MONTHLY_TASK = 'reports-monthly';
const SYSTEM: Auth = { tokenId: '00000000-reports', name: 'reports', role: 'admin', clientId: null };
const isStaff = (a: Auth) => a.role === 'admin' || a.role === 'operator';

export interface Rendered {
  report: MonthlyReport;
  json: string;
  html: string;
  pdf: Buffer;
  sha256: string;
}

export interface ReportSettings {
  sendAt: string;
  reviewBeforeSend: boolean;
}
const DEFAULT_SETTINGS: ReportSettings = { sendAt: '08:00', reviewBeforeSend: false };

export async function render(report: MonthlyReport): Promise<Rendered> {
  const pdf = await renderPdf(report);
  return {
    report,
    json: JSON.stringify(report),
    html: renderHtml(report),
    pdf,
    sha256: crypto.createHash('sha256').update(pdf).digest('hex'),
  };
}

function meta(r: store.DbReportMeta, deliveries: store.DbDelivery[], staff: boolean) {
  return {
    id: r.id,
    month: r.month,
    version: r.version,
    status: r.status,
    reason: r.reason,
    sha256: r.sha256,
    createdAt: r.created_at.toISOString(),
    sentAt: r.sent_at?.toISOString() ?? null,
    // Who approved and the delivery log are the provider's business; clients see that it went out.
    ...(staff
      ? {
          createdBy: r.created_by,
          approvedBy: r.approved_by,
          deliveries: deliveries
            .filter((d) => d.report_id === r.id)
            .map((d) => ({
              contact: d.contact,
              status: d.status,
              attempts: d.attempts,
              sends: d.sends,
              messageId: d.message_id,
              lastError: d.last_error,
            })),
        }
      : {}),
  };
}

export interface ReportServiceDeps extends ComposeDeps {
  pool: Pool;
  audit: AuditService;
  mail: MailSender | undefined;
  log: Logger;
  sendMaxAttempts: number;
  now?: () => Date;
}

/** Monthly client reports: composed from the database, rendered, stored once sent, and mailed. */
export class ReportService {
  private readonly now: () => Date;
  constructor(private readonly d: ReportServiceDeps) {
    this.now = d.now ?? (() => new Date());
  }

  /** The report of any month composed now (a preview: nothing is stored). */
  async preview(auth: Auth, clientIdOrSlug: string, month: string): Promise<MonthlyReport> {
    checkMonth(month);
    const client = await this.d.fleet.getClient(auth, clientIdOrSlug);
    return composeReport(this.d, client, month, this.now());
  }

  /**
   * What a reader gets for a month: the newest sent version, as stored; otherwise (staff only) a fresh preview.
   * A client token gets only what was sent to it: `fresh` is ignored, and a month with no sent version
   * (never generated, or waiting for review) is 404 like any other report it may not see.
   */
  async forMonth(auth: Auth, clientIdOrSlug: string, month: string, fresh = false): Promise<Rendered> {
    checkMonth(month);
    const client = await this.d.fleet.getClient(auth, clientIdOrSlug);
    const staff = isStaff(auth);
    const stored = fresh && staff ? undefined : await store.latest(this.d.pool, client.id, month, true);
    if (!stored && !staff) throw new NotFoundError('report');
    if (stored)
      return {
        report: JSON.parse(stored.json) as MonthlyReport,
        json: stored.json,
        html: stored.html,
        pdf: stored.pdf,
        sha256: stored.sha256,
      };
    return render(await composeReport(this.d, client, month, this.now()));
  }

  async byId(auth: Auth, id: string): Promise<Rendered & { meta: ReturnType<typeof meta> }> {
    const r = UUID.test(id) ? await store.find(this.d.pool, id) : undefined;
    // Pending reports are the provider's drafts: a client token sees only what was sent.
    if (!r || !canSeeClient(auth, r.client_id) || (!isStaff(auth) && r.status !== 'sent'))
      throw new NotFoundError('report');
    const deliveries = await store.deliveries(this.d.pool, [r.id]);
    return {
      report: JSON.parse(r.json) as MonthlyReport,
      json: r.json,
      html: r.html,
      pdf: r.pdf,
      sha256: r.sha256,
      meta: meta(r, deliveries, isStaff(auth)),
    };
  }

  async list(auth: Auth, clientIdOrSlug: string) {
    const client = await this.d.fleet.getClient(auth, clientIdOrSlug);
    const rows = (await store.listMeta(this.d.pool, client.id)).filter(
      (r) => isStaff(auth) || r.status === 'sent',
    );
    const deliveries = isStaff(auth)
      ? await store.deliveries(
          this.d.pool,
          rows.map((r) => r.id),
        )
      : [];
    return {
      client: { id: client.id, slug: client.slug },
      reports: rows.map((r) => meta(r, deliveries, isStaff(auth))),
    };
  }

  /**
   * One month across clients: for a page of at most `limit` active clients the caller may see (by slug, after
   * `after`), each client's stored versions of the month, newest first (clients see the sent ones).
   */
  async listMonth(auth: Auth, month: string, limit = 50, after?: string) {
    checkMonth(month);
    const all = (await this.d.fleet.listClients(auth, 'active'))
      .filter((c) => after === undefined || c.slug > after)
      .sort((a, b) => (a.slug < b.slug ? -1 : 1));
    const page = all.slice(0, limit);
    const rows = (
      await store.listMonthMeta(
        this.d.pool,
        page.map((c) => c.id),
        month,
      )
    ).filter((r) => isStaff(auth) || r.status === 'sent');
    const deliveries = isStaff(auth)
      ? await store.deliveries(
          this.d.pool,
          rows.map((r) => r.id),
        )
      : [];
    return {
      month,
      clients: page.map((c) => ({
        client: { id: c.id, slug: c.slug, name: c.name },
        reports: rows.filter((r) => r.client_id === c.id).map((r) => meta(r, deliveries, isStaff(auth))),
      })),
      next: all.length > limit ? page[page.length - 1]!.slug : null,
    };
  }

  async settings(auth: Auth, clientIdOrSlug: string): Promise<ReportSettings> {
    const client = await this.d.fleet.getClient(auth, clientIdOrSlug);
    const [s] = await store.settings(this.d.pool, [client.id]);
    return s ? { sendAt: s.send_at, reviewBeforeSend: s.review_before_send } : { ...DEFAULT_SETTINGS };
  }

  async setSettings(auth: Auth, requestId: string, clientIdOrSlug: string, patch: Partial<ReportSettings>) {
    const client = await this.d.fleet.getClient(auth, clientIdOrSlug);
    const before = await this.settings(auth, client.id);
    const after = { ...before, ...patch };
    await withTx(this.d.pool, async (tx) => {
      await store.upsertSettings(tx, {
        client_id: client.id,
        send_at: after.sendAt,
        review_before_send: after.reviewBeforeSend,
      });
      await this.d.audit.record(tx, auth, requestId, {
        action: 'report_settings.update',
        targetType: 'client',
        targetId: client.id,
        before,
        after,
      });
    });
    return after;
  }

  /** Marks a stored report sent and queues one mail per contact, in the caller's transaction. */
  private async queueSend(tx: Queryable, r: store.DbReportMeta, client: Client, approvedBy: string | null) {
    if (r.status !== 'sent') await store.markSent(tx, r.id, approvedBy);
    const queued = await store.queueDeliveries(tx, r.id, client.reportContacts);
    for (const contact of queued)
      await addJob(tx, {
        task: SEND_TASK,
        payload: { reportId: r.id, contact },
        jobKey: `${SEND_TASK}:${r.id}:${contact}:1`,
        maxAttempts: this.d.sendMaxAttempts,
      });
  }

  /**
   * Stores a new version of a client's month (1, or the next one with a correction's reason) and, unless the
   * client wants review first, marks it sent and queues its mails in the same transaction. Returns undefined
   * when version 1 exists already (the monthly job ran twice, or on two replicas).
   */
  async generate(
    client: Client,
    month: string,
    actor: string,
    opts: { reason?: string; send?: boolean; review?: boolean } = {},
  ) {
    const rendered = await render(await composeReport(this.d, client, month, this.now()));
    return withTx(this.d.pool, async (tx) => {
      let version = 1;
      if (opts.reason !== undefined) {
        const prev = await store.latest(tx, client.id, month, false);
        if (!prev) throw new ConflictError(`no report for ${month} to correct`);
        version = prev.version + 1;
      }
      const row = await store.insert(tx, {
        client_id: client.id,
        month,
        version,
        status: 'pending_review',
        reason: opts.reason ?? null,
        json: rendered.json,
        html: rendered.html,
        pdf: rendered.pdf,
        sha256: rendered.sha256,
        created_by: actor,
        sent_at: null,
      });
      if (!row) return undefined;
      if (opts.send !== false && !opts.review) await this.queueSend(tx, row, client, null);
      return { ...row, status: opts.send !== false && !opts.review ? 'sent' : row.status };
    });
  }

  /** The monthly job: every active client whose send time on the 1st (local) has come gets last month's report. */
  async runMonthly(now = this.now()): Promise<{ generated: number }> {
    const clients = await this.d.fleet.listClients(SYSTEM, 'active');
    const settings = new Map(
      (
        await store.settings(
          this.d.pool,
          clients.map((c) => c.id),
        )
      ).map((s) => [s.client_id, s]),
    );
    const due = new Map<string, string>();
    for (const c of clients) {
      const s = settings.get(c.id);
      const local = DateTime.fromJSDate(now, { zone: c.timeZone });
      const [h, m] = (s?.send_at ?? DEFAULT_SETTINGS.sendAt).split(':').map(Number);
      const sendAt = local.startOf('month').set({ hour: h!, minute: m! });
      if (local < sendAt) continue;
      due.set(c.id, local.minus({ months: 1 }).toFormat('yyyy-MM'));
    }
    const done = await store.existing(this.d.pool, due);
    let generated = 0;
    for (const c of clients) {
      const month = due.get(c.id);
      if (!month || done.has(c.id)) continue;
      const review = settings.get(c.id)?.review_before_send ?? false;
      try {
        if (await this.generate(c, month, 'monthly report job', { review })) generated++;
      } catch (err) {
        // One client's failure must not hold back the others; the next tick tries it again.
        this.d.log.error({ client: c.slug, month, err: errorMessage(err) }, 'monthly report failed');
      }
    }
    return { generated };
  }

  /** The send job: one mail to one contact with the PDF attached, recorded; a delivered one is not sent again. */
  async deliver(reportId: string, contact: string, lastAttempt = false): Promise<void> {
    if (!this.d.mail) throw new Error('SMTP_URL is not configured: report mails cannot be sent');
    const mail = this.d.mail;
    // A failed send is recorded and committed, then thrown so that graphile-worker retries with backoff.
    const failure = await withTx(this.d.pool, async (tx): Promise<Error | undefined> => {
      const d = await store.claimDelivery(tx, reportId, contact);
      if (!d) return undefined;
      const r = (await store.find(tx, reportId))!;
      const report = JSON.parse(r.json) as MonthlyReport;
      const title = `${report.client.name}: service report for ${monthTitle(report.month)}`;
      try {
        const messageId = await mail.send({
          to: contact,
          subject: r.version > 1 ? `${title} (correction ${r.version - 1})` : title,
          text:
            `${title}\nUptime ${pct(report.overall.uptime)} against a target of ${pct(report.target, 2)}.\n` +
            `${r.reason ? `Correction: ${r.reason}\n` : ''}The full report is attached (PDF, SHA-256 ${r.sha256}).`,
          html: r.html,
          attachments: [
            {
              filename: `${report.client.slug}-${report.month}.pdf`,
              content: r.pdf,
              contentType: 'application/pdf',
            },
          ],
        });
        await store.deliveryDone(tx, reportId, contact, { messageId });
        return undefined;
      } catch (err) {
        await store.deliveryDone(tx, reportId, contact, {
          error: errorMessage(err),
          final: lastAttempt,
        });
        return err as Error;
      }
    });
    if (failure) throw failure;
  }

  /** Delivers every queued mail of a report now (the CLI's --send); returns how many went out. */
  async deliverAll(reportId: string): Promise<number> {
    const list = await store.deliveries(this.d.pool, [reportId]);
    for (const d of list) if (d.status !== 'sent') await this.deliver(reportId, d.contact);
    return (await store.deliveries(this.d.pool, [reportId])).filter((d) => d.status === 'sent').length;
  }

  private async visibleRow(auth: Auth, id: string) {
    const r = UUID.test(id) ? await store.find(this.d.pool, id) : undefined;
    if (!r || !canSeeClient(auth, r.client_id)) throw new NotFoundError('report');
    return r;
  }

  /** Review before send: an operator replaces public summaries (by incident code) on a pending report. */
  async editSummaries(auth: Auth, requestId: string, id: string, summaries: Record<string, string>) {
    const r = await this.visibleRow(auth, id);
    if (r.status !== 'pending_review') throw new ConflictError('only a report pending review can be edited');
    const report = JSON.parse(r.json) as MonthlyReport;
    const before: Record<string, string | null> = {};
    for (const [code, text] of Object.entries(summaries)) {
      const known =
        report.incidents.list.some((i) => i.code === code) ||
        report.downtimes.some((x) => x.incident?.code === code);
      if (!known) throw new NotFoundError(`incident ${code} in this report`);
      for (const i of report.incidents.list)
        if (i.code === code) [before[code], i.publicSummary] = [i.publicSummary, text];
      for (const x of report.downtimes)
        if (x.incident?.code === code)
          [before[code], x.incident.publicSummary] = [before[code] ?? x.incident.publicSummary, text];
    }
    const rendered = await render(report);
    await withTx(this.d.pool, async (tx) => {
      await store.replaceContent(tx, r.id, rendered.json, rendered.html, rendered.pdf, rendered.sha256);
      await this.d.audit.record(tx, auth, requestId, {
        action: 'report.edit_summaries',
        targetType: 'report',
        targetId: r.id,
        before,
        after: summaries,
      });
    });
    return this.byId(auth, id).then((x) => x.meta);
  }

  async approve(auth: Auth, requestId: string, id: string) {
    const r = await this.visibleRow(auth, id);
    const client = await this.d.fleet.getClient(auth, r.client_id);
    await withTx(this.d.pool, async (tx) => {
      const locked = (await store.find(tx, id, true))!;
      if (locked.status === 'sent') throw new ConflictError('this report was sent already');
      await this.queueSend(tx, locked, client, actorName(auth));
      await this.d.audit.record(tx, auth, requestId, {
        action: 'report.approve',
        targetType: 'report',
        targetId: id,
        after: {
          month: r.month,
          version: r.version,
          sha256: r.sha256,
          contacts: client.reportContacts.length,
        },
      });
    });
    return this.byId(auth, id).then((x) => x.meta);
  }

  /** A correction: a new version of a month with its reason, audited; sent unless the client wants review. */
  async correct(auth: Auth, requestId: string, clientIdOrSlug: string, month: string, reason: string) {
    checkMonth(month);
    const client = await this.d.fleet.getClient(auth, clientIdOrSlug);
    const s = await this.settings(auth, client.id);
    const row = await this.generate(client, month, actorName(auth), { reason, review: s.reviewBeforeSend });
    await this.d.audit.record(this.d.pool, auth, requestId, {
      action: 'report.correct',
      targetType: 'report',
      targetId: row!.id,
      after: { month, version: row!.version, reason, sha256: row!.sha256 },
    });
    return (await this.byId(auth, row!.id)).meta;
  }

  /** Sends the newest sent version of a month to every contact again. */
  async resend(auth: Auth, requestId: string, clientIdOrSlug: string, month: string) {
    checkMonth(month);
    const client = await this.d.fleet.getClient(auth, clientIdOrSlug);
    const r = await store.latest(this.d.pool, client.id, month, true);
    if (!r) throw new NotFoundError(`sent report for ${month}`);
    await withTx(this.d.pool, async (tx) => {
      await store.queueDeliveries(tx, r.id, client.reportContacts);
      for (const d of await store.requeueDeliveries(tx, r.id))
        await addJob(tx, {
          task: SEND_TASK,
          payload: { reportId: r.id, contact: d.contact },
          jobKey: `${SEND_TASK}:${r.id}:${d.contact}:${d.sends}`,
          maxAttempts: this.d.sendMaxAttempts,
        });
      await this.d.audit.record(tx, auth, requestId, {
        action: 'report.resend',
        targetType: 'report',
        targetId: r.id,
        after: { month, version: r.version },
      });
    });
    return (await this.byId(auth, r.id)).meta;
  }
}
