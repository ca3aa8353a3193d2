import { errText } from './discovery.ts';
import { httpCall } from './http-client.ts';
import type { Logger } from './types.ts';

export interface HeartbeatOptions {
  readonly url: string;
  readonly token: string;
  readonly proberId: string;
  readonly intervalMs: number;
  readonly logger: Logger;
  /** Probes completed so far: a beat is sent only when this grew, so a stuck prober claims no coverage. */
  readonly probesDone: () => number;
}

/**
 * Tells the control plane "I am probing": its SLA counts time no prober covered as unknown, not as up.
 * A lost beat is not retried; the next one extends coverage again, and a real gap stays a gap.
 */
export class Heartbeat {
  private timer: NodeJS.Timeout | undefined;
  private lastProbes = 0;

  constructor(private readonly opts: HeartbeatOptions) {}

  start(): void {
    this.timer = setInterval(() => void this.beat(), this.opts.intervalMs);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  async beat(): Promise<boolean> {
    const done = this.opts.probesDone();
    if (done === this.lastProbes) return false;
    this.lastProbes = done;
    try {
      const res = await httpCall(this.opts.url, {
        method: 'POST',
        headers: { authorization: `Bearer ${this.opts.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ prober: this.opts.proberId }),
        timeoutMs: 10_000,
      });
      const ok = res.status >= 200 && res.status < 300;
      if (!ok) this.opts.logger.warn({ status: res.status }, 'heartbeat refused');
      return ok;
    } catch (err) {
      this.opts.logger.warn({ err: errText(err) }, 'heartbeat failed');
      return false;
    }
  }
}
