import type { Request } from 'express';
import type { Logger } from 'pino';
import type { Counter } from 'prom-client';
import type { AuditService } from '../audit/service.ts';
import type { SecurityConfig } from '../config.ts';
import { withTx, type Pool } from '../db/pool.ts';
import type { Auth } from '../http/auth.ts';
import * as store from './store.ts';
import { errorMessage } from '@concierge-ops/shared/errors';

/** Keys (sources, tokens) whose denied requests are counted at once; beyond it, new keys wait for a sweep. */
const MAX_KEYS = 10_000;
/** Burst records written to the audit log per window at most: a flood from many addresses costs a few rows. */
const MAX_RECORDS_PER_WINDOW = 100;
/** (token, address) pairs this process knows are already in token_sources. */
const MAX_SEEN = 10_000;

export interface SecurityMetrics {
  deniedBursts: Counter<'by'>;
  newSources: Counter<'role'>;
}

interface Window {
  start: number;
  count: number;
}

/**
 * Notices suspicious access as requests arrive: bursts of denied requests (401/403) from one source address or
 * with one token, and a token used from an address it was never used from before. Each is recorded once in the
 * audit log (so the morning report and the monthly audit report read it from there) and counted in /metrics
 * with bounded labels only: which kind of key (`by`), the token's role. Addresses and token ids stay out of
 * labels: they are unbounded and identify people.
 *
 * Burst counting is per process (a replica counts what it answers); the database would make every refused
 * request a write, which is what a flood would then exploit. Behind a load balancer a burst spread over N replicas
 * needs N times the threshold to be flagged; concierge_ops_auth_denied_total, summed over replicas, still shows it.
 */
export class SecurityWatch {
  private readonly windows = new Map<string, Window>();
  private recordsWindow: Window = { start: 0, count: 0 };
  private readonly seen = new Set<string>();

  constructor(
    private readonly pool: Pool,
    private readonly audit: AuditService,
    private readonly config: SecurityConfig,
    private readonly metrics: SecurityMetrics,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** A refused request: counts it against its source and, when a token was known (403), that token. */
  denied(reason: 'unauthenticated' | 'forbidden', req: Request): void {
    const auth = req.auth as Auth | undefined;
    if (req.ip) this.count('source', req.ip, reason, req, auth);
    if (auth) this.count('token', auth.tokenId, reason, req, auth);
  }

  private count(by: 'source' | 'token', key: string, reason: string, req: Request, auth: Auth | undefined) {
    const now = this.now();
    const span = this.config.deniedWindowSeconds * 1000;
    const id = `${by} ${key}`;
    let w = this.windows.get(id);
    if (!w || now - w.start >= span) {
      if (!w && this.windows.size >= MAX_KEYS) {
        for (const [k, v] of this.windows) if (now - v.start >= span) this.windows.delete(k);
        if (this.windows.size >= MAX_KEYS) return;
      }
      w = { start: now, count: 0 };
      this.windows.set(id, w);
    }
    // Flagged once per window, when the count reaches the threshold: a long flood is one burst per window.
    if (++w.count !== this.config.deniedBurst) return;
    this.metrics.deniedBursts.inc({ by });
    if (now - this.recordsWindow.start >= span) this.recordsWindow = { start: now, count: 0 };
    if (++this.recordsWindow.count > MAX_RECORDS_PER_WINDOW) {
      this.log.warn({ by }, 'denied-request burst not written to the audit log: too many this window');
      return;
    }
    const after = {
      by,
      count: w.count,
      windowSeconds: this.config.deniedWindowSeconds,
      lastReason: reason,
      source: req.ip ?? null,
      token: auth ? { id: auth.tokenId, name: auth.name, role: auth.role } : null,
      path: req.path.slice(0, 200),
    };
    // Not awaited: the request is refused either way, and must not wait for the audit log.
    void this.audit
      .record(this.pool, 'security', req.id ?? null, {
        action: 'security.denied_burst',
        targetType: by,
        targetId: by === 'source' ? (req.ip ?? null) : (auth?.tokenId ?? null),
        after,
      })
      .catch((err: unknown) =>
        this.log.warn({ err: errorMessage(err) }, 'denied-request burst not recorded'),
      );
  }

  /**
   * An accepted token: the first time this token is seen from this address (across replicas and restarts), and
   * it had been used from another address before, flags it. After the first request per pair and process, this
   * costs a Set look-up: the hot paths (webhook, prober, scrapes) pay nothing. Never refuses a request.
   */
  async authenticated(auth: Auth, req: Request): Promise<void> {
    const ip = req.ip;
    if (!ip) return;
    const pair = `${auth.tokenId} ${ip}`;
    if (this.seen.has(pair)) return;
    try {
      // One transaction: the pair is remembered exactly when its record is written.
      const flagged = await withTx(this.pool, async (tx) => {
        const r = await store.rememberSource(tx, auth.tokenId, ip);
        if (!r.isNew || !r.knownElsewhere) return false;
        await this.audit.record(tx, auth, req.id ?? null, {
          action: 'token.new_source',
          targetType: 'token',
          targetId: auth.tokenId,
          after: { ip, userAgent: auth.userAgent ?? null },
        });
        return true;
      });
      if (this.seen.size >= MAX_SEEN) this.seen.clear();
      this.seen.add(pair);
      if (flagged) this.metrics.newSources.inc({ role: auth.role });
    } catch (err) {
      // A hint for review, not a control: a database away must not refuse the request.
      this.log.warn({ err: errorMessage(err) }, 'token source not recorded');
    }
  }
}
