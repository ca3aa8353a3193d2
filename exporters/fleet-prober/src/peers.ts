import { errText } from './discovery.ts';
import { httpCall } from './http-client.ts';
import type { Logger } from './types.ts';

export interface PeersOptions {
  /** Base URLs of the other probers (their /metrics port), each serving GET /-/down. */
  readonly urls: readonly string[];
  readonly pollMs: number;
  readonly timeoutMs: number;
  readonly logger: Logger;
  readonly onError: () => void;
  /** Called after each poll, with whether it changed what some peer holds down. */
  readonly onPolled: (changed: boolean) => void;
}

/** What GET /-/down answers: the services this prober holds down (its own, debounced view). */
export interface DownView {
  readonly location: string;
  readonly down: readonly string[];
}

/**
 * The other locations' views, polled. A peer that does not answer counts as seeing nothing down: a prober
 * cut off from its peers cannot reach a quorum alone, so it pages no one by itself (the Prometheus rules,
 * which see every location's probes, remain the backstop).
 */
/** One peer's answer and when the request for it was sent (performance.now()): it is at least that new. */
interface PeerView {
  readonly down: ReadonlySet<string>;
  readonly requestedAt: number;
}

export class Peers {
  private readonly views = new Map<string, PeerView>();
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  /** The poll that follows the one under way, shared by everyone who asked while it ran. */
  private following: Promise<void> | undefined;
  private stopped = true;

  constructor(private readonly opts: PeersOptions) {}

  get size(): number {
    return this.opts.urls.length;
  }

  start(): void {
    if (this.opts.urls.length === 0) return;
    this.stopped = false;
    this.timer = setInterval(() => void this.poll(), this.opts.pollMs);
    void this.poll();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.following;
    await this.polling;
  }

  /**
   * How many peers hold the service down, counting only views asked for at or after `since`
   * (performance.now()): an answer requested before this prober resolved the service predates the resolve
   * and must not bring it back.
   */
  downCount(key: string, since = -Infinity): number {
    let n = 0;
    for (const v of this.views.values()) if (v.requestedAt >= since && v.down.has(key)) n++;
    return n;
  }

  /** When the oldest view held was asked for (performance.now()); -Infinity while a peer has none yet. */
  oldestView(): number {
    let oldest = Infinity;
    for (const v of this.views.values()) oldest = Math.min(oldest, v.requestedAt);
    return this.views.size < this.opts.urls.length ? -Infinity : oldest;
  }

  /** Every service some peer holds down. */
  downKeys(): Set<string> {
    const keys = new Set<string>();
    for (const v of this.views.values()) for (const k of v.down) keys.add(k);
    return keys;
  }

  /**
   * Polls every peer; resolves once a poll that began at or after this call has been applied. A poll under
   * way began earlier, so it is followed by one more (one for all who ask meanwhile): a caller that must
   * decide on views newer than some moment (a resend, a fresh change) gets them.
   */
  poll(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (!this.polling) {
      this.polling = this.pollAll().finally(() => {
        this.polling = undefined;
      });
      return this.polling;
    }
    this.following ??= this.polling.then(() => {
      this.following = undefined;
      return this.poll();
    });
    return this.following;
  }

  private async pollAll(): Promise<void> {
    const requestedAt = performance.now();
    const results = await Promise.all(this.opts.urls.map((url) => this.fetchView(url)));
    let changed = false;
    this.opts.urls.forEach((url, i) => {
      const next = results[i] ?? new Set<string>();
      const prev = this.views.get(url)?.down;
      if (!prev || prev.size !== next.size || [...next].some((k) => !prev.has(k))) changed = true;
      this.views.set(url, { down: next, requestedAt });
    });
    if (!this.stopped) this.opts.onPolled(changed);
  }
  private async fetchView(url: string): Promise<Set<string> | undefined> {
    try {
      const res = await httpCall(`${url}/-/down`, {
        headers: { accept: 'application/json' },
        timeoutMs: this.opts.timeoutMs,
      });
      if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
      const body = JSON.parse(res.body) as Partial<DownView>;
      if (!Array.isArray(body.down) || !body.down.every((k) => typeof k === 'string')) {
        throw new Error('unexpected answer');
      }
      return new Set(body.down);
    } catch (err) {
      this.opts.onError();
      this.opts.logger.debug({ err: errText(err), peer: new URL(url).host }, 'peer prober view unavailable');
      return undefined;
    }
  }
}
