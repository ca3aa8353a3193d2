import { errText } from './discovery.ts';
import { httpCall } from './http-client.ts';
import type { Logger } from './types.ts';

/** One alert as Alertmanager's `POST /api/v2/alerts` takes it. */
export interface PostableAlert {
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly startsAt: string;
  readonly endsAt: string;
  readonly generatorURL?: string;
}

/** What the prober wants firing now, by a key of its own choosing (the alert's identity). */
export interface DesiredAlert {
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly startsAt: Date;
}

export interface AlertSenderOptions {
  /** Base URLs of every Alertmanager (all members of an HA cluster): each gets every alert. */
  readonly urls: readonly string[];
  /** Firing alerts are sent again this often. */
  readonly resendMs: number;
  readonly generatorUrl?: string;
  readonly timeoutMs: number;
  readonly logger: Logger;
  readonly onError: () => void;
  readonly onSent: (alerts: number) => void;
  /**
   * Awaited before each resend, which then sends what is still firing (the caller re-decides meanwhile and
   * calls `update`): a resend never re-asserts a decision older than itself.
   */
  readonly beforeResend?: () => Promise<void>;
}

/**
 * Sends alerts to Alertmanager as Prometheus does: every firing alert again each `resendMs`, with `endsAt`
 * four resend intervals ahead (Prometheus' own margin: two lost sends are survived, and the alerts of a
 * sender that died expire on their own), and a resolved alert once, with `endsAt` = now. Alertmanager
 * deduplicates repeats by the label set, so resending is harmless and several probers sending the same
 * alert make one.
 */
export class AlertSender {
  private firing = new Map<string, DesiredAlert>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = true;
  private inFlight = new Set<Promise<void>>();
  private resending = false;

  constructor(private readonly opts: AlertSenderOptions) {}

  get enabled(): boolean {
    return this.opts.urls.length > 0;
  }

  start(): void {
    if (!this.enabled) return;
    this.stopped = false;
    this.timer = setInterval(() => this.resendAll(), this.opts.resendMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await Promise.all(this.inFlight);
  }

  /**
   * Replaces the set of alerts that should fire. New ones are sent at once; ones no longer wanted are sent
   * as resolved at once; unchanged ones wait for the next resend.
   */
  update(desired: ReadonlyMap<string, DesiredAlert>): void {
    if (!this.enabled) return;
    const now = new Date();
    const batch: PostableAlert[] = [];
    for (const [key, alert] of desired) {
      if (!this.firing.has(key)) batch.push(this.postable(alert, now, false));
    }
    for (const [key, alert] of this.firing) {
      if (!desired.has(key)) batch.push(this.postable(alert, now, true));
    }
    this.firing = new Map(desired);
    if (batch.length > 0) this.send(batch);
  }

  private resendAll(): void {
    if (this.stopped || this.firing.size === 0 || this.resending) return;
    const before = this.opts.beforeResend;
    if (!before) return this.sendFiring();
    this.resending = true;
    const p = before()
      .catch((err: unknown) =>
        this.opts.logger.warn({ err: errText(err) }, 're-deciding before a resend failed'),
      )
      .then(() => {
        this.resending = false;
        if (!this.stopped && this.firing.size > 0) this.sendFiring();
      })
      .finally(() => this.inFlight.delete(p));
    this.inFlight.add(p);
  }

  private sendFiring(): void {
    const now = new Date();
    this.send([...this.firing.values()].map((a) => this.postable(a, now, false)));
  }

  private postable(alert: DesiredAlert, now: Date, resolved: boolean): PostableAlert {
    const endsAt = resolved ? now : new Date(now.getTime() + 4 * this.opts.resendMs);
    return {
      labels: alert.labels,
      annotations: alert.annotations,
      // An alert cannot end before it starts: a clock step must not make Alertmanager refuse the batch.
      startsAt: (alert.startsAt < endsAt ? alert.startsAt : now).toISOString(),
      endsAt: endsAt.toISOString(),
      ...(this.opts.generatorUrl ? { generatorURL: this.opts.generatorUrl } : {}),
    };
  }

  /**
   * One POST per Alertmanager, not retried: the next resend (or Prometheus, the backstop) covers a lost one,
   * and a resolve that is lost expires at its last `endsAt`.
   */
  private send(batch: PostableAlert[]): void {
    const body = JSON.stringify(batch);
    for (const base of this.opts.urls) {
      const p = httpCall(`${base}/api/v2/alerts`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
        timeoutMs: this.opts.timeoutMs,
      })
        .then((res) => {
          if (res.status >= 200 && res.status < 300) return this.opts.onSent(batch.length);
          this.opts.onError();
          this.opts.logger.warn(
            { status: res.status, alertmanager: new URL(base).host },
            'Alertmanager refused alerts',
          );
        })
        .catch((err: unknown) => {
          this.opts.onError();
          this.opts.logger.warn(
            { err: errText(err), alertmanager: new URL(base).host },
            'Alertmanager unreachable',
          );
        })
        .finally(() => this.inFlight.delete(p));
      this.inFlight.add(p);
    }
  }
}
