import type { Logger } from 'pino';
import { errorMessage } from '@concierge-ops/shared/errors';

export interface ReporterOptions {
  /** Base URL of the control plane, no trailing slash. */
  readonly controlPlaneUrl: string;
  readonly token: string;
  readonly attempts: number;
  readonly initialBackoffMs: number;
  readonly requestTimeoutMs: number;
  readonly logger: Logger;
}

export type Delivery = 'created' | 'duplicate' | 'rejected' | 'gave_up';

/**
 * Posts reports to the control plane. Every report carries the agent's own id, so retrying after a timeout
 * is safe: the control plane answers 200 to a repeat. 5xx, 429 and network errors are retried with
 * exponential backoff; any other 4xx is the report's fault and is logged, not retried.
 */
export class Reporter {
  constructor(private readonly opts: ReporterOptions) {}

  async post(path: string, body: object): Promise<Delivery> {
    let backoff = this.opts.initialBackoffMs;
    for (let attempt = 1; attempt <= this.opts.attempts; attempt++) {
      try {
        const res = await fetch(this.opts.controlPlaneUrl + path, {
          method: 'POST',
          headers: { authorization: `Bearer ${this.opts.token}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(this.opts.requestTimeoutMs),
        });
        const text = await res.text();
        if (res.status === 201) return 'created';
        if (res.status === 200) return 'duplicate';
        if (res.status < 500 && res.status !== 429) {
          this.opts.logger.warn({ path, status: res.status, problem: text.slice(0, 500) }, 'report rejected');
          return 'rejected';
        }
        this.opts.logger.warn({ path, status: res.status, attempt }, 'control plane busy; retrying');
      } catch (err) {
        this.opts.logger.warn({ path, err: errorMessage(err), attempt }, 'report failed; retrying');
      }
      if (attempt < this.opts.attempts) {
        // Jitter keeps a fleet of exporters from retrying in lockstep after a control-plane restart.
        await new Promise((r) => setTimeout(r, backoff * (0.5 + Math.random())));
        backoff = Math.min(backoff * 2, 60_000);
      }
    }
    return 'gave_up';
  }
}
