import type { Logger } from 'pino';
import type { Pool, Tx } from '../db/pool.ts';
import { withTx } from '../db/pool.ts';
import { occurrences } from './recurrence.ts';
import { spec } from './service.ts';
import * as store from './store.ts';
import { errorMessage } from '@concierge-ops/shared/errors';

/** The two calls of Alertmanager's v2 API that silence bookkeeping needs. */
export class AlertmanagerClient {
  constructor(private readonly baseUrl: string) {}

  async createSilence(s: {
    matchers: Record<string, string>;
    startsAt: Date;
    endsAt: Date;
    comment: string;
  }) {
    const res = await fetch(`${this.baseUrl}/api/v2/silences`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        matchers: Object.entries(s.matchers).map(([name, value]) => ({
          name,
          value,
          isRegex: false,
          isEqual: true,
        })),
        startsAt: s.startsAt.toISOString(),
        endsAt: s.endsAt.toISOString(),
        createdBy: 'concierge-ops control plane',
        comment: s.comment,
      }),
      signal: AbortSignal.timeout(10_000),
    });
    if (!res.ok)
      throw new Error(`Alertmanager answered ${res.status} to POST /api/v2/silences: ${await res.text()}`);
    return ((await res.json()) as { silenceID: string }).silenceID;
  }

  async expireSilence(id: string): Promise<void> {
    const res = await fetch(`${this.baseUrl}/api/v2/silence/${encodeURIComponent(id)}`, {
      method: 'DELETE',
      signal: AbortSignal.timeout(10_000),
    });
    await res.body?.cancel();
    // 404: already gone (expired, or an Alertmanager that lost its state); nothing left to expire.
    if (!res.ok && res.status !== 404)
      throw new Error(`Alertmanager answered ${res.status} to DELETE silence ${id}`);
  }
}

/**
 * Keeps one Alertmanager silence per active maintenance occurrence, derived from the database each round,
 * so a restart loses nothing. One replica at a time syncs (advisory lock); the others skip the round.
 */
export class SilenceSync {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly pool: Pool,
    private readonly am: AlertmanagerClient,
    private readonly intervalSeconds: number,
    private readonly log: Logger,
  ) {}

  /** One round: create silences for active occurrences, expire those whose occurrence or window ended. */
  async reconcile(now = new Date()): Promise<{ created: number; expired: number; same: number }> {
    return withTx(this.pool, async (tx) => {
      const counts = { created: 0, expired: 0, same: 0 };
      if (!(await store.trySyncLock(tx))) return counts;
      for (const w of await store.listForSilences(tx, now)) {
        try {
          counts[await this.reconcileOne(tx, w, now)]++;
        } catch (err) {
          // One window's failure must not undo the bookkeeping of silences already made this round.
          this.log.warn({ err: errorMessage(err), window: w.id }, 'silence sync failed for a window');
        }
      }
      return counts;
    });
  }

  private async reconcileOne(tx: Tx, w: store.DbWindow, now: Date): Promise<'created' | 'expired' | 'same'> {
    let outcome: 'created' | 'expired' | 'same' = 'same';
    const active =
      !w.deleted_at && occurrences(spec(w), w.time_zone, now, new Date(now.getTime() + 1)).length > 0;
    // The active occurrence's true end (`occurrences` clips to the range asked; recurrences last <= 7 days).
    const end = !active
      ? undefined
      : w.recurrence
        ? occurrences(spec(w), w.time_zone, now, new Date(now.getTime() + 8 * 86_400_000))[0]?.end
        : w.ends_at!;
    if (w.alertmanager_silence_id && (!end || w.silence_ends_at?.getTime() !== end.getTime())) {
      await this.am.expireSilence(w.alertmanager_silence_id);
      await store.setSilence(tx, w.id, null, null);
      outcome = 'expired';
      w.alertmanager_silence_id = null;
    }
    if (end && !w.alertmanager_silence_id) {
      const matchers: Record<string, string> = { client: w.client_slug };
      if (w.instance_slug) matchers.instance = w.instance_slug;
      const id = await this.am.createSilence({
        matchers,
        startsAt: now,
        endsAt: end,
        comment: `maintenance window ${w.id}: ${w.reason}`,
      });
      await store.setSilence(tx, w.id, id, end);
      outcome = 'created';
    }
    return outcome;
  }

  start(): void {
    const tick = () => {
      this.running = this.reconcile()
        .then((c) => {
          if (c.created || c.expired) this.log.info(c, 'alertmanager silences synchronised');
        })
        .catch((err: Error) =>
          this.log.warn({ err: err.message }, 'alertmanager silence sync failed; will retry'),
        )
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(tick, this.intervalSeconds * 1000);
        });
    };
    tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }
}
