/**
 * A token bucket per app key: `perSecond` requests on average, bursts of `burst` (a page flushing its queue on
 * hide sends several at once). Buckets exist only for keys that resolved to an instance, so the map is bounded
 * by the number of keys, not by what strangers send. Per process: n replicas let through n times the rate,
 * which is fine for a limit whose job is to keep one noisy page from drowning the others.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Takes one token for `key`: 0 when allowed, else the whole seconds until one is free (Retry-After). */
  take(key: string): number {
    const t = this.now();
    const b = this.buckets.get(key) ?? { tokens: this.burst, at: t };
    b.tokens = Math.min(this.burst, b.tokens + ((t - b.at) / 1000) * this.perSecond);
    b.at = t;
    this.buckets.set(key, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - b.tokens) / this.perSecond));
  }

  forget(key: string): void {
    this.buckets.delete(key);
  }
}
