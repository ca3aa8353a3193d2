import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Auth } from '../http/auth.ts';
import { ConflictError, NotFoundError, ValidationError } from '../http/errors.ts';
import type { Logger } from 'pino';
import type { Counter, Histogram } from 'prom-client';
import type { PagingConfig } from '../config.ts';
import { Batcher } from '../db/batch.ts';
import { UUID, withTx, type Pool, type Queryable, type Tx } from '../db/pool.ts';
import * as jobs from '../jobs/store.ts';
import { loadTwilio } from '../lazy.ts';
import { AckLinks } from './ack-link.ts';
import { postChat } from './chat.ts';
import { mailContent, smsText, testMail, testSms, testTwiml, voiceTwiml } from './page.ts';
import type { MailSender, SmsSender } from './providers.ts';
import * as store from './store.ts';
import { errorMessage } from '@concierge-ops/shared/errors';

export type Channel = store.Channel;

export interface NotifyMetrics {
  notifications: Counter<'channel' | 'status'>;
  sendDuration: Histogram<'channel'>;
  failureToPage: Histogram<'severity'>;
}

interface Target {
  id: string;
  name: string;
  phone: string | null;
  email: string | null;
  webhook?: boolean;
  slack?: boolean;
  teams?: boolean;
}

/** Whether a responder has a target on `channel`. */
export function reaches(r: Target, channel: Channel): boolean {
  if (channel === 'email') return r.email !== null;
  if (channel === 'sms' || channel === 'voice') return r.phone !== null;
  return r[channel] === true;
}

class PermanentError extends Error {}

/**
 * How a test page is audited: the audit domain's `record`, passed in by paging.ts (audit sends its reports
 * through notify's providers, so notify names none of audit's types).
 */
export interface PageAudit {
  record(
    tx: Queryable,
    who: Auth,
    requestId: string | null,
    change: { action: string; targetType: string; targetId: string; after: object },
  ): Promise<unknown>;
}

/**
 * A page the committing process sends itself straight after commit has no job of its own: the `outbox-sweep`
 * job sends any page still untried this long after its commit (the process died between commit and send, or
 * is far behind), whichever process runs it. The claim in `send` keeps each page to one send.
 */
export const DIRECT_SEND_GRACE_MS = 10_000;
/** A page 'sending' this long has lost its sender (a Twilio request times out after 10 s). */
export const SENDING_STALE_MS = 2 * 60_000;
/** The same for e-mail: nodemailer's SMTP timeouts run to minutes. */
export const EMAIL_SENDING_STALE_MS = 15 * 60_000;
/** Pages sent straight after commit at once; more wait in memory (the sweep is their guarantee). */
const DIRECT_SEND_CONCURRENCY = 32;
/** Claim and sent-mark statements on their way at once; more wait and go together (see NotifyService.claims). */
const CLAIMS_IN_FLIGHT = 2;
const MARKS_IN_FLIGHT = 2;

/**
 * 4xx from Twilio (bad number, unverified sender) will not heal by retrying; 5xx, timeouts and 429 (too many
 * requests: Twilio's rate limit) may.
 */
function isPermanent(err: unknown): boolean {
  const status = (err as { status?: number }).status;
  return (
    err instanceof PermanentError ||
    (typeof status === 'number' && status >= 400 && status < 500 && status !== 429)
  );
}

/** An incident's code from its number, as the database makes it (incident_code()). */
const incidentCode = (n: number) => `INC-${String(n).padStart(6, '0')}`;

/** How long a status callback for a message not yet marked sent waits for that mark (see providerStatus). */
const CALLBACK_WAIT_MS = [100, 250, 500, 1000];

/** Slack's replay window: a signed request older (or newer) than this is refused. */
const SLACK_REPLAY_SECONDS = 300;

/** Waits between tries to record a page the provider took (see markSent). */
const MARK_SENT_RETRY_MS = [200, 1000, 3000];

/**
 * What paging does to an incident. The incidents domain implements it (paging.ts wires it in): notify sits
 * below incidents and escalation, which call it, so it names none of their types.
 */
export interface IncidentDesk {
  /** An event on the incident's timeline (a page whose outcome is unknown, a fallback to e-mail), in `tx`. */
  recordPaging(tx: Queryable, incidentId: string, event: { kind: string; detail: object }): Promise<void>;
  /** A responder's acknowledgement by SMS reply, voice digit or e-mail link; throws if there is no such incident. */
  acknowledge(
    actor: string,
    idOrCode: string,
    via: 'sms' | 'voice' | 'email' | 'slack',
  ): Promise<{ code: string }>;
}

/**
 * Paging through the outbox: SMS and voice by Twilio, e-mail by SMTP. A page is sent straight after the
 * transaction that created it commits (or by a `send` job where no process does that), retries are jobs, and
 * the `outbox-sweep` job sends what a process that died after commit left untried.
 */
export class NotifyService {
  readonly ackLinks: AckLinks;
  /** Pages enqueued in each open `withOutbox` transaction, sent once it commits. */
  private readonly pending = new WeakMap<Queryable, string[]>();
  private direct = false;
  private inFlight = 0;
  private readonly waiting: string[] = [];
  private readonly idle = new Set<() => void>();
  /**
   * Claims, and sent marks, asked for while earlier ones are on their way go to the database together: under
   * load one round trip serves many pages. An id asked for twice in one batch is claimed once (the first asker
   * sends it).
   */
  private readonly claims = new Batcher<string, store.DbPage | undefined>(async (ids) => {
    const pages = new Map((await store.claim(this.pool, [...new Set(ids)])).map((p) => [p.id, p]));
    return ids.map((id) => {
      const page = pages.get(id);
      pages.delete(id);
      return page;
    });
  }, CLAIMS_IN_FLIGHT);
  private readonly marks = new Batcher<store.SentMark, void>(async (marks) => {
    this.firstPages(await store.recordSent(this.pool, marks));
    return marks.map(() => undefined);
  }, MARKS_IN_FLIGHT);
  constructor(
    private readonly pool: Pool,
    private readonly config: PagingConfig,
    private readonly publicUrl: string,
    private readonly incidents: () => IncidentDesk,
    private readonly responderByPhone: (phone: string) => Promise<Target | undefined>,
    private readonly providers: { twilio: SmsSender | undefined; mail: MailSender | undefined },
    private readonly metrics: NotifyMetrics,
    private readonly log: Logger,
    private readonly audit?: PageAudit,
  ) {
    this.ackLinks = new AckLinks(config.ackLinkSecret, config.ackLinkTtlSeconds);
    if (!config.ackLinkSecret) log.warn('ACK_LINK_SECRET is unset: e-mail ack links stop working on restart');
  }

  /**
   * Sends new pages from this process straight after their transaction commits (set while the workers run,
   * so a process without workers leaves paging to the ones with them).
   */
  setDirectSend(on: boolean): void {
    this.direct = on;
  }

  /**
   * Runs `fn` in one transaction; the pages it enqueues are sent straight after commit, without a job hop.
   * The committed outbox rows are the durable record: `sweep` sends any that this process never got to.
   */
  async withOutbox<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    let sends: string[] = [];
    const result = await withTx(this.pool, async (tx) => {
      sends = [];
      this.pending.set(tx, sends);
      try {
        return await fn(tx);
      } finally {
        this.pending.delete(tx);
      }
    });
    for (const d of sends) this.waiting.push(d);
    this.pump();
    return result;
  }

  private pump(): void {
    while (this.inFlight < DIRECT_SEND_CONCURRENCY && this.waiting.length > 0) {
      const id = this.waiting.shift()!;
      this.inFlight++;
      this.send(id)
        .catch((err: unknown) =>
          // The row stays queued and untried: the sweep sends it after the grace period.
          this.log.warn({ err: errorMessage(err) }, 'page send after commit failed; the sweep retries it'),
        )
        .finally(() => {
          this.inFlight--;
          this.pump();
        });
    }
    if (this.inFlight === 0) for (const done of this.idle) done();
  }

  /** Resolves once no page is being sent straight after commit (shutdown waits for these). */
  async drain(): Promise<void> {
    if (this.inFlight === 0 && this.waiting.length === 0) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        this.idle.delete(done);
        resolve();
      };
      this.idle.add(done);
    });
  }

  /**
   * Outbox rows for one escalation step; returns how many were new. `write` inserts `rows` (those that do not
   * exist yet, each with a `send` job when `sendJobs`: no process sends them straight after commit), with
   * whatever else the step writes in the same statement, and returns the new ones.
   */
  async enqueue(
    tx: Queryable,
    inc: { id: string },
    step: { level: number; repeat: number },
    responders: Target[],
    channels: Channel[],
    write: (tx: Queryable, rows: store.NewNotification[], sendJobs: boolean) => Promise<{ id: string }[]>,
  ): Promise<number> {
    const rows = this.outboxRows(inc.id, step, responders, channels);
    const sends = this.direct ? this.pending.get(tx) : undefined;
    // Sent straight after commit: no job per page (the sweep is the guarantee); else a `send` job each.
    const created = await write(tx, rows, !sends);
    if (sends) for (const n of created) sends.push(n.id);
    return created.length;
  }

  /** One outbox row per responder and channel the responder can be reached on, keyed for idempotency. */
  outboxRows(
    incidentId: string,
    step: { level: number; repeat: number },
    responders: Target[],
    channels: Channel[],
  ): store.NewNotification[] {
    const rows: store.NewNotification[] = [];
    for (const r of responders)
      for (const channel of channels) {
        if (!reaches(r, channel)) continue;
        rows.push({
          incidentId,
          level: step.level,
          repeat: step.repeat,
          responderId: r.id,
          channel,
          idempotencyKey: `${incidentId}:${step.level}:${step.repeat}:${r.id}:${channel}`,
          fallbackOf: null,
        });
      }
    return rows;
  }

  /** Whether this process sends the pages it commits itself, straight after commit (its workers run). */
  sendsDirectly(): boolean {
    return this.direct;
  }

  /**
   * Pages committed without a `send` job by a statement outside `withOutbox` (the one-statement opening): sent
   * now, as `withOutbox` sends its own after commit; the sweep is their guarantee all the same.
   */
  sendCommitted(ids: string[]): void {
    for (const id of ids) this.waiting.push(id);
    this.pump();
  }

  /** An incident's pages and what became of them (a drill's report), at most `limit`. */
  async pageOutcomes(incidentId: string, limit = 500): Promise<store.DbPage[]> {
    return store.pagesOf(this.pool, incidentId, limit);
  }

  /**
   * The pages of an incident (channel, status, attempts, to whom), at most 200. The caller has checked that
   * its user may see the incident (the console reads it through the incident service first).
   */
  async pagesOf(
    incidentId: string,
  ): Promise<
    { level: number; channel: string; status: string; attempts: number; responder: string; at: string }[]
  > {
    return (await store.pagesOf(this.pool, incidentId, 200)).map((p) => ({
      level: p.level,
      channel: p.channel,
      status: p.status,
      attempts: p.attempts,
      responder: p.responder,
      at: p.created_at.toISOString(),
    }));
  }

  /**
   * A test page to one responder on one channel, through the outbox like any page (claimed, retried, its
   * provider status recorded), marked as a test in every word it says; audited without the contact details.
   */
  async testPage(auth: Auth, requestId: string, responderId: string, channel: Channel) {
    if (!UUID.test(responderId)) throw new NotFoundError('responder');
    const r = await store.responderContacts(this.pool, responderId);
    if (!r) throw new NotFoundError('responder');
    if (!r.active) throw new ConflictError(`${r.name} is not active: escalation does not page them`);
    if (!reaches(r, channel))
      throw new ValidationError('test page is invalid', [
        {
          field: '/channel',
          message:
            channel === 'email'
              ? 'the responder has no e-mail address'
              : channel === 'sms' || channel === 'voice'
                ? 'the responder has no phone number'
                : `the responder has no ${channel} target`,
        },
      ]);
    // Each request is its own test (a second one is a second page), so the key is made here.
    const key = `test:${r.id}:${channel}:${randomUUID()}`;
    const id = await this.withOutbox(async (tx) => {
      const id = await store.insertTestPage(tx, { responderId: r.id, channel, idempotencyKey: key });
      const sends = this.direct ? this.pending.get(tx) : undefined;
      if (sends) sends.push(id);
      else await jobs.addJob(tx, { task: 'send', payload: { notificationId: id }, jobKey: key });
      await this.audit?.record(tx, auth, requestId, {
        action: 'responder.test_page',
        targetType: 'responder',
        targetId: r.id,
        after: { channel, notificationId: id },
      });
      return id;
    });
    return { id, responder: { id: r.id, name: r.name }, channel, status: 'queued' as const };
  }

  async cancelQueued(tx: Queryable, incidentId: string): Promise<void> {
    await store.cancelQueued(tx, incidentId);
  }

  /**
   * The `outbox-sweep` job: sends the pages committed over DIRECT_SEND_GRACE_MS ago that no one has tried
   * (their process died before its send straight after commit), then marks pages of unknown outcome
   * (`markUnknown`). Returns how many untried pages it found.
   */
  async sweep(limit = 500): Promise<number> {
    const ids = await store.unsentSince(this.pool, DIRECT_SEND_GRACE_MS, limit);
    if (ids.length > 0) this.log.warn({ pages: ids.length }, 'sending pages left unsent after commit');
    for (const id of ids) await this.send(id);
    // After the sends: pages that can still go out come first.
    await this.markUnknown();
    return ids.length;
  }

  /**
   * Part of the sweep: a page claimed by a process that stopped before the provider answered stays 'sending'
   * and is never sent again (it may have gone out; a page must not go out twice). Once it has been sending far
   * longer than a send can take (SENDING_STALE_MS; e-mail, whose SMTP timeouts are longer,
   * EMAIL_SENDING_STALE_MS), it becomes 'unknown', with a `page_unknown` event on its incident's timeline and
   * `notifications_total{status="unknown"}`, so that operators know this responder may not have been reached.
   * Escalation is not affected. Returns how many.
   */
  async markUnknown(): Promise<number> {
    const pages = await withTx(this.pool, async (tx) => {
      const stale = await store.markStaleSendingUnknown(tx, SENDING_STALE_MS, EMAIL_SENDING_STALE_MS);
      for (const p of stale) {
        // A test page has no timeline; its row says 'unknown' to whoever looks.
        if (p.incident_id === null) continue;
        await this.incidents().recordPaging(tx, p.incident_id, {
          kind: 'page_unknown',
          detail: { level: p.level, responder: p.responder_name, channel: p.channel },
        });
      }
      return stale;
    });
    // Counted once committed: a sweep whose transaction failed leaves them to the next one, uncounted.
    for (const p of pages) this.metrics.notifications.inc({ channel: p.channel, status: 'unknown' });
    if (pages.length > 0)
      this.log.warn({ pages: pages.length }, 'pages whose sending process stopped mid-send: outcome unknown');
    return pages.length;
  }

  /**
   * The `send` job, the sweep and the send straight after commit: claims the row (so it is sent once,
   * whoever gets there first), sends, and records the attempt and the outcome.
   */
  async send(notificationId: string): Promise<void> {
    // Not a page of ours (a hand-made job): nothing to send, and nothing for its batch to fail on.
    if (!UUID.test(notificationId)) {
      this.log.warn('send asked for a page id that is not a uuid: nothing sent');
      return;
    }
    const page = await this.claims.call(notificationId);
    if (!page) return;
    const started = Date.now();
    let providerId: string | null;
    try {
      providerId = await this.deliver(page);
    } catch (err) {
      await this.sendFailed(page, err, Date.now() - started);
      return;
    }
    const ms = Date.now() - started;
    this.metrics.sendDuration.observe({ channel: page.channel }, ms / 1000);
    await this.markSent(page, providerId, ms);
  }

  /**
   * Records a page the provider took. Never a retry: it went out, and a failed mark must not send it again. The
   * mark is tried again a few times (the database may be failing over); if it never lands, the row stays
   * 'sending' and the sweep makes it 'unknown' on the incident's timeline (`markUnknown`), never sent again.
   */
  private async markSent(page: store.DbPage, providerId: string | null, ms: number): Promise<void> {
    for (let i = 0; ; i++) {
      try {
        const mark = { id: page.id, providerId, attempt: page.attempts, ms };
        // Batched the first time; a retry goes on its own, so that no other page's mark can fail it again.
        if (i === 0) await this.marks.call(mark);
        else this.firstPages(await store.recordSent(this.pool, [mark]));
        // Counted as the row says: a page whose record never lands is counted 'unknown' by the sweep instead.
        this.metrics.notifications.inc({ channel: page.channel, status: 'sent' });
        return;
      } catch (err) {
        if (i >= MARK_SENT_RETRY_MS.length) {
          this.log.error(
            { channel: page.channel, error: errorMessage(err) },
            'page sent but its record failed: it stays "sending" and becomes "unknown", never sent again',
          );
          return;
        }
        await new Promise((r) => setTimeout(r, MARK_SENT_RETRY_MS[i]));
      }
    }
  }

  /** Incidents whose first accepted page this process recorded: counted here, and by no other replica. */
  private firstPages(pages: store.FirstPage[]): void {
    for (const p of pages)
      this.metrics.failureToPage.observe({ severity: p.severity }, Math.max(0, p.seconds));
  }

  /** A send the provider refused or never answered: a retry job with backoff, or failed for good. */
  private async sendFailed(page: store.DbPage, err: unknown, ms: number): Promise<void> {
    const error = errorMessage(err) || 'send failed';
    const retry = !isPermanent(err) && page.attempts < this.config.sendMaxAttempts;
    this.log.warn({ channel: page.channel, attempt: page.attempts, retry, error }, 'page send failed');
    await withTx(this.pool, async (tx) => {
      await store.insertAttempt(tx, { id: page.id, attempt: page.attempts, outcome: 'failed', error, ms });
      await store.markFailed(tx, page.id, retry ? 'queued' : 'failed', error);
      if (retry) {
        await jobs.addJob(tx, {
          task: 'send',
          payload: { notificationId: page.id },
          jobKey: `${page.idempotency_key}:retry:${page.attempts}`,
          runAt: new Date(Date.now() + this.backoffMs(page.attempts)),
        });
      } else await this.failedForGood(tx, page, error);
    });
    this.metrics.notifications.inc({ channel: page.channel, status: retry ? 'retrying' : 'failed' });
  }

  /** Exponential backoff with jitter: base * 2^(n-1), scaled by a random 50..100% so replicas spread out. */
  backoffMs(attempt: number): number {
    const exp = this.config.sendRetryBaseMs * 2 ** Math.min(attempt - 1, 10);
    return Math.round(exp * (0.5 + Math.random() * 0.5));
  }

  private async deliver(p: store.DbPage): Promise<string | null> {
    if (p.channel === 'webhook' || p.channel === 'slack' || p.channel === 'teams')
      return postChat(
        p,
        p.test ? null : `${this.publicUrl}/api/v1/incidents/ack-link?t=${this.ackLinks.sign(p.id)}`,
      );
    const cb = `${this.publicUrl}/api/v1/twilio/status`;
    if (p.channel === 'email') {
      if (!this.providers.mail || !p.email) throw new PermanentError('e-mail is not configured (SMTP_URL)');
      if (p.test) return this.providers.mail.send({ to: p.email, ...testMail(p) });
      const link = `${this.publicUrl}/api/v1/incidents/ack-link?t=${this.ackLinks.sign(p.id)}`;
      return this.providers.mail.send({ to: p.email, ...mailContent(p, link) });
    }
    if (!this.providers.twilio || !p.phone) throw new PermanentError('Twilio is not configured');
    if (p.channel === 'sms') return this.providers.twilio.sms(p.phone, p.test ? testSms(p) : smsText(p), cb);
    if (p.test) return this.providers.twilio.call(p.phone, testTwiml(p), cb);
    const gather = `${this.publicUrl}/api/v1/twilio/voice?n=${p.id}`;
    return this.providers.twilio.call(p.phone, voiceTwiml(p, gather), cb);
  }

  /** An SMS that cannot be delivered becomes an e-mail to the same responder, noted on the incident. */
  private async failedForGood(tx: Queryable, p: store.DbPage, error: string): Promise<void> {
    // A test page that fails has done its job: it shows the channel does not reach the responder.
    if (p.channel !== 'sms' || !p.email || p.incident_id === null) return;
    const key = `${p.idempotency_key}:fallback`;
    const created = await store.insertNew(tx, [
      {
        incidentId: p.incident_id,
        level: p.level,
        repeat: p.repeat,
        responderId: p.responder_id,
        channel: 'email',
        idempotencyKey: key,
        fallbackOf: p.id,
      },
    ]);
    if (created.length === 0) return;
    await store.setStatus(tx, p.id, 'fallback');
    await jobs.addJob(tx, { task: 'send', payload: { notificationId: created[0]!.id }, jobKey: key });
    await this.incidents().recordPaging(tx, p.incident_id, {
      kind: 'page_fallback',
      detail: {
        level: p.level,
        responder: p.responder,
        from: 'sms',
        to: 'email',
        error: error.slice(0, 200),
      },
    });
  }

  /** True when the request really came from Twilio (signed with our auth token over the public URL). */
  validSignature(signature: string | undefined, path: string, params: Record<string, string>): boolean {
    if (!signature || !this.config.twilio) return false;
    return loadTwilio().validateRequest(
      this.config.twilio.authToken,
      signature,
      this.publicUrl + path,
      params,
    );
  }

  /** Twilio's status callback: records the provider status; an SMS that failed falls back to e-mail. */
  async providerStatus(params: Record<string, string>): Promise<void> {
    const sid = params.MessageSid ?? params.CallSid;
    const status = (params.MessageStatus ?? params.CallStatus ?? '').toLowerCase();
    if (!sid || !status) return;
    // Twilio may call back before the send's own transaction has recorded the sid (the request returned, the
    // mark is a moment away): wait for it briefly, rather than drop a 'failed' that must fall back to e-mail.
    for (const ms of CALLBACK_WAIT_MS) {
      if (await store.providerIdKnown(this.pool, sid)) break;
      await new Promise((r) => setTimeout(r, ms));
    }
    await withTx(this.pool, async (tx) => {
      const n = await store.findByProviderId(tx, sid);
      if (!n) {
        this.log.warn({ status }, 'status callback for a message or call this control plane did not send');
        return;
      }
      await store.insertAttempt(tx, {
        id: n.id,
        attempt: n.attempts,
        outcome: 'callback',
        providerStatus: status,
      });
      if (n.status !== 'sent' && n.status !== 'delivered') return;
      if (status === 'delivered' || status === 'completed') {
        await store.setStatus(tx, n.id, 'delivered');
        this.metrics.notifications.inc({ channel: n.channel, status: 'delivered' });
      } else if (['failed', 'undelivered', 'busy', 'no-answer', 'canceled'].includes(status)) {
        await store.setStatus(tx, n.id, 'failed');
        this.metrics.notifications.inc({ channel: n.channel, status: 'failed' });
        if (n.channel === 'sms') {
          const page = await store.pageById(tx, n.id);
          if (page) await this.failedForGood(tx, page, `provider status ${status}`);
        }
      }
    });
  }

  /**
   * An SMS reply: "ACK INC-000123", or the incident's number the page and the call name ("ACK 123", "123",
   * "INC-000123"); a bare "ACK", "OK" or "1" (as on the call) means the latest open incident paged to this
   * phone. Returns the reply.
   */
  async inboundSms(from: string, body: string): Promise<string> {
    const m = /^\s*(?:(ACK|OK)\s*)?(?:INC-?)?(\d{1,12})?\s*$/i.exec(body);
    if (!m || (!m[1] && !m[2]))
      return 'Reply ACK <incident code> to acknowledge, e.g. ACK INC-000123 or ACK 123.';
    const responder = await this.responderByPhone(from);
    if (!responder) return 'This number is not a known responder.';
    const n = m[2] !== undefined && !(m[1] === undefined && m[2] === '1') ? Number(m[2]) : undefined;
    const code = n !== undefined ? incidentCode(n) : await store.latestOpenPagedTo(this.pool, responder.id);
    if (!code) return 'No open incident paged to you.';
    try {
      const inc = await this.incidents().acknowledge(`${responder.name} (sms)`, code, 'sms');
      return `${inc.code} acknowledged by ${responder.name}.`;
    } catch {
      return `Unknown incident ${code}.`;
    }
  }

  /**
   * Slack's interactive request when someone presses a page's Acknowledge button: true only when signed with
   * the app's signing secret (v0: HMAC-SHA256 of "v0:<timestamp>:<raw body>") within 5 minutes of its
   * timestamp, so a captured request cannot be replayed later (https://api.slack.com/authentication/verifying-requests-from-slack).
   */
  slackSigned(
    timestamp: string | undefined,
    signature: string | undefined,
    raw: Buffer | undefined,
  ): boolean {
    const secret = this.config.slackSigningSecret;
    if (!secret || !timestamp || !signature || !raw || !/^\d{1,12}$/.test(timestamp)) return false;
    if (Math.abs(Date.now() / 1000 - Number(timestamp)) > SLACK_REPLAY_SECONDS) return false;
    const mac = createHmac('sha256', secret).update(`v0:${timestamp}:`).update(raw).digest('hex');
    const want = Buffer.from(`v0=${mac}`);
    const got = Buffer.from(signature);
    return got.length === want.length && timingSafeEqual(got, want);
  }

  /** The Acknowledge button's action (a signed request): acknowledges the incident its value names. */
  async slackAction(payload: string): Promise<string> {
    let p: {
      user?: { name?: unknown; username?: unknown };
      actions?: { action_id?: unknown; value?: unknown }[];
    };
    try {
      p = JSON.parse(payload) as typeof p;
    } catch {
      return 'Not an interaction this control plane understands.';
    }
    const action = p.actions?.find((a) => a.action_id === 'acknowledge');
    const code = typeof action?.value === 'string' ? action.value : '';
    if (!/^INC-\d{6,12}$/.test(code)) return 'Not an interaction this control plane understands.';
    const user = String(p.user?.username ?? p.user?.name ?? 'someone').slice(0, 80);
    try {
      const inc = await this.incidents().acknowledge(`${user} (slack)`, code, 'slack');
      return `${inc.code} acknowledged by ${user}.`;
    } catch {
      return `Unknown incident ${code}.`;
    }
  }

  /** Digits pressed during the voice page: 1 acknowledges the incident that call was about. */
  async voiceDigits(notificationId: string, digits: string): Promise<boolean> {
    if (digits.trim() !== '1') return false;
    const n = await store.responderName(this.pool, notificationId);
    if (!n) return false;
    await this.incidents().acknowledge(`${n.name} (voice)`, n.incident_id, 'voice');
    return true;
  }

  /** The e-mail link, once: verifies signature and expiry, uses the link up, acknowledges. */
  async ackByLink(token: string): Promise<{ ok: boolean; code?: string }> {
    const id = this.ackLinks.verify(token);
    if (!id) return { ok: false };
    const n = await store.responderName(this.pool, id);
    if (!n || n.ack_link_used_at) return { ok: false };
    // Acknowledge first (idempotent), then use the link up: a failed acknowledgement leaves the link usable.
    // Two clicks at once may both acknowledge, which changes nothing the second time.
    await this.incidents().acknowledge(`${n.name} (e-mail link)`, n.incident_id, 'email');
    await withTx(this.pool, (tx) => store.useAckLink(tx, id));
    return { ok: true, code: n.code };
  }
}
