import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import { systemJob, type AuditService } from '../audit/service.ts';
import { withTx, type Pool, type Queryable } from '../db/pool.ts';
import type { FleetService } from '../fleet/service.ts';
import type { MailSender, SmsSender } from '../notify/providers.ts';
import { errorMessage } from '@concierge-ops/shared/errors';
import { render, type IncidentContent, type MaintenanceContent } from './content.ts';
import * as store from './store.ts';

/** An incident as the updates need it (the incidents domain maps its row to this). */
export interface PublicIncident {
  id: string;
  code: string;
  clientId: string | null;
  /** A failure drill's incident: the provider's own exercise, never told to a clinic. */
  drill: boolean;
  publicSummary: string | null;
  instance: string | null;
}

/** An occurrence of a maintenance window ahead (the maintenance domain lists them). */
export interface UpcomingMaintenance {
  windowId: string;
  clientId: string;
  instance: string | null;
  reason: string;
  start: Date;
  end: Date;
}

export interface StatusUpdatesOptions {
  publicUrl: string;
  /** Tries of one update's send job before it is failed for good (SEND_MAX_ATTEMPTS, as pages). */
  maxAttempts: number;
  /** How long before a maintenance window starts its reminder goes out. */
  reminderLeadMs: number;
}

/** An update 'sending' this long has lost its sender (nodemailer's SMTP timeouts run to minutes). */
export const SENDING_STALE_MS = 15 * 60_000;

const LABELS = ['channel', 'status'] as const;

/** The fan-outs and sends, as the audit log names them. */
const JOB = systemJob('status-updates');

/** 4xx from Twilio (an opted-out or bad number) and a missing provider will not heal by retrying. */
function isPermanent(err: unknown): boolean {
  const status = (err as { status?: number }).status;
  return (
    err instanceof MissingProvider ||
    (typeof status === 'number' && status >= 400 && status < 500 && status !== 429)
  );
}
class MissingProvider extends Error {}

/**
 * Incident updates and maintenance reminders to each client's status contacts (docs/status-updates.md): one
 * e-mail per contact (and one SMS for a contact with a number, when Twilio is configured) per update, through an
 * outbox keyed for idempotency and sent by retried jobs, each with the contact's unsubscribe link.
 */
export class StatusUpdateService {
  private readonly outcomes: Counter<(typeof LABELS)[number]>;
  constructor(
    private readonly pool: Pool,
    private readonly audit: AuditService,
    private readonly fleet: FleetService,
    private readonly providers: { mail: MailSender | undefined; twilio: SmsSender | undefined },
    private readonly options: StatusUpdatesOptions,
    private readonly log: Logger,
    registry: Registry,
  ) {
    this.outcomes = new Counter({
      name: 'concierge_ops_status_updates_total',
      help: "Sends of updates to clients' status contacts by channel (email, sms) and status (sent, retrying, failed).",
      labelNames: LABELS,
      registers: [registry],
    });
    // Present at 0 from the start, so that the first failure is an increase.
    for (const channel of ['email', 'sms']) this.outcomes.inc({ channel, status: 'failed' }, 0);
  }

  unsubscribeUrl(token: string): string {
    return `${this.options.publicUrl}/api/v1/status-updates/unsubscribe?t=${encodeURIComponent(token)}`;
  }

  /**
   * An incident was opened, its public summary changed, or it was resolved: in the transaction that changed
   * it, queue one update per contact of its client. Only a client's real incident with a public summary is
   * told: a drill, an incident of no client, or one without a public summary never reaches a clinic. `key`
   * tells updates of one kind apart (an opening and a resolution happen once each; each update is its own).
   */
  async incidentChanged(tx: Queryable, inc: PublicIncident, change: 'opened' | 'updated' | 'resolved') {
    if (inc.clientId === null || inc.drill || !inc.publicSummary) return 0;
    const audience = await this.fleet.statusAudience(tx, inc.clientId);
    if (audience.contacts.length === 0) return 0;
    // The first public summary of an incident opened without one is, for the clinic, its opening.
    const kind = change === 'updated' && !(await store.toldOf(tx, inc.id)) ? 'opened' : change;
    const content: IncidentContent = {
      clientName: audience.clientName,
      timeZone: audience.timeZone,
      code: inc.code,
      instance: inc.instance,
      publicSummary: inc.publicSummary,
      at: new Date().toISOString(),
    };
    const key = `status:${inc.id}:${kind === 'updated' ? `updated:${randomUUID()}` : kind}`;
    const queued = await this.queue(tx, inc.clientId, audience.contacts, {
      kind,
      incidentId: inc.id,
      maintenanceWindowId: null,
      content,
      key,
    });
    if (queued > 0)
      await this.audit.record(tx, JOB, null, {
        action: 'incident.status_update_queued',
        targetType: 'incident',
        targetId: inc.id,
        after: { code: inc.code, kind, updates: queued },
      });
    return queued;
  }

  /**
   * The reminder tick: every occurrence of a maintenance window that starts within the lead time and has not
   * started yet gets one reminder per contact, keyed by window, occurrence and contact, so later ticks (and
   * other replicas) add nothing; a contact added meanwhile still gets its own. Returns how many were queued.
   */
  async remindMaintenance(
    upcoming: (from: Date, to: Date) => Promise<UpcomingMaintenance[]>,
    now = new Date(),
  ) {
    const list = await upcoming(now, new Date(now.getTime() + this.options.reminderLeadMs));
    let total = 0;
    for (const m of list) {
      if (m.start.getTime() <= now.getTime()) continue;
      total += await withTx(this.pool, async (tx) => {
        const audience = await this.fleet.statusAudience(tx, m.clientId);
        const content: MaintenanceContent = {
          clientName: audience.clientName,
          timeZone: audience.timeZone,
          instance: m.instance,
          start: m.start.toISOString(),
          end: m.end.toISOString(),
          reason: m.reason,
        };
        const queued = await this.queue(tx, m.clientId, audience.contacts, {
          kind: 'maintenance',
          incidentId: null,
          maintenanceWindowId: m.windowId,
          content,
          key: `status:maintenance:${m.windowId}:${m.start.toISOString()}`,
        });
        if (queued > 0)
          await this.audit.record(tx, JOB, null, {
            action: 'maintenance.reminder_queued',
            targetType: 'maintenance_window',
            targetId: m.windowId,
            after: { start: content.start, updates: queued },
          });
        return queued;
      });
    }
    await store.markStaleUnknown(this.pool, SENDING_STALE_MS);
    return total;
  }

  private async queue(
    tx: Queryable,
    clientId: string,
    contacts: { id: string; email: string; sms: string | null }[],
    u: {
      kind: store.UpdateKind;
      incidentId: string | null;
      maintenanceWindowId: string | null;
      content: object;
      key: string;
    },
  ): Promise<number> {
    const rows: store.NewUpdate[] = [];
    for (const c of contacts) {
      const base = {
        clientId,
        contactId: c.id,
        kind: u.kind,
        incidentId: u.incidentId,
        maintenanceWindowId: u.maintenanceWindowId,
        content: u.content,
      };
      rows.push({ ...base, recipient: c.email, channel: 'email', idempotencyKey: `${u.key}:${c.id}:email` });
      // SMS only where it can be sent: without Twilio it would only ever fail.
      if (c.sms && this.providers.twilio)
        rows.push({ ...base, recipient: c.sms, channel: 'sms', idempotencyKey: `${u.key}:${c.id}:sms` });
    }
    return (await store.insertNew(tx, rows, this.options.maxAttempts)).length;
  }

  /**
   * The `status-update` job: claims the row (so it goes out once, whoever runs it), sends it, records the
   * outcome. A failure that may heal is thrown after it is recorded, so the job runner retries it with backoff;
   * on the last attempt, or one that cannot heal, the update is failed for good.
   */
  async send(id: string, lastAttempt: boolean): Promise<void> {
    const u = await store.claim(this.pool, id);
    if (!u) return;
    let providerId: string | null;
    try {
      providerId = await this.deliver(u);
    } catch (err) {
      const final = lastAttempt || isPermanent(err);
      await store.markFailed(this.pool, id, final ? 'failed' : 'queued', errorMessage(err) || 'send failed');
      this.log.warn(
        { channel: u.channel, kind: u.kind, attempt: u.attempts, final },
        'status update send failed',
      );
      this.outcomes.inc({ channel: u.channel, status: final ? 'failed' : 'retrying' });
      if (!final) throw err;
      return;
    }
    await store.markSent(this.pool, id, providerId);
    this.outcomes.inc({ channel: u.channel, status: 'sent' });
  }

  private async deliver(u: store.DbUpdate): Promise<string | null> {
    const url = this.unsubscribeUrl(u.unsubscribe_token);
    const m = render(u.kind, u.content, url);
    if (u.channel === 'sms') {
      if (!this.providers.twilio) throw new MissingProvider('Twilio is not configured');
      return this.providers.twilio.sms(u.recipient, m.sms);
    }
    if (!this.providers.mail) throw new MissingProvider('e-mail is not configured (SMTP_URL)');
    return this.providers.mail.send({
      to: u.recipient,
      subject: m.subject,
      text: m.text,
      html: m.html,
      // RFC 2369 and RFC 8058: mail clients offer their own unsubscribe button, which POSTs to the link.
      headers: { 'List-Unsubscribe': `<${url}>`, 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' },
    });
  }
}
