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
  /** Called after a poll changed what some peer holds down. */
  readonly onChange: () => void;
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
export class Peers {
  private readonly views = new Map<string, ReadonlySet<string>>();
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  private again = false;
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
    await this.polling;
  }

  /** How many peers hold the service down. */
  downCount(key: string): number {
    let n = 0;
    for (const v of this.views.values()) if (v.has(key)) n++;
    return n;
  }

  /** Every service some peer holds down. */
  downKeys(): Set<string> {
    const keys = new Set<string>();
    for (const v of this.views.values()) for (const k of v) keys.add(k);
    return keys;
  }

  /** Polls every peer now (a poll under way is followed by one more, so a fresh change is never missed). */
  poll(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.polling) {
      this.again = true;
      return this.polling;
    }
    this.polling = this.pollAll().finally(() => {
      this.polling = undefined;
      if (this.again && !this.stopped) {
        this.again = false;
        void this.poll();
      }
    });
    return this.polling;
  }

  private async pollAll(): Promise<void> {
    const results = await Promise.all(this.opts.urls.map((url) => this.fetchView(url)));
    let changed = false;
    this.opts.urls.forEach((url, i) => {
      const next = results[i] ?? new Set<string>();
      const prev = this.views.get(url);
      if (!prev || prev.size !== next.size || [...next].some((k) => !prev.has(k))) changed = true;
      this.views.set(url, next);
    });
    if (changed && !this.stopped) this.opts.onChange();
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
