import net from 'node:net';
import type { Pool } from '../db/pool.ts';
import { systemJob, type AuditService } from '../audit/service.ts';
import * as store from './address-store.ts';

/**
 * The key one client address is counted under: an IPv4 address as it is (an IPv4-mapped IPv6 one as its IPv4),
 * an IPv6 address by its /64, since one subscriber is handed a whole /64 and could otherwise try from each of
 * its addresses in turn.
 */
export function addressKey(ip: string | undefined | null): string {
  const raw = (ip ?? '').trim();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(raw);
  if (mapped) return mapped[1]!;
  if (net.isIPv4(raw)) return raw;
  if (!net.isIPv6(raw)) return 'unknown';
  const [head = '', tail = ''] = raw.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = raw.includes('::')
    ? [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right]
    : left;
  return (
    groups
      .slice(0, 4)
      .map((g) => parseInt(g, 16).toString(16))
      .join(':') + '::/64'
  );
}

export type AddressCheck = { ok: true } | { ok: false; retryAfterSeconds: number };

/**
 * Failed sign-ins per client address (CONSOLE_SIGNIN_ADDRESS_ATTEMPTS in CONSOLE_SIGNIN_ADDRESS_MINUTES): the
 * per-account lockout stops guessing one account's password; this stops one address from trying a few
 * passwords against each of many accounts. Counted in PostgreSQL, so every replica refuses the same address.
 * The address is the socket's, or X-Forwarded-For's as a proxy in TRUSTED_PROXIES passed it on (req.ip).
 */
export class SigninAddressLimit {
  constructor(
    private readonly pool: Pool,
    private readonly audit: AuditService,
    private readonly limit: number,
    private readonly windowSeconds: number,
  ) {}

  /** Refused while the address has reached the limit in its current window (before any password is hashed). */
  async check(ip: string | undefined): Promise<AddressCheck> {
    const c = await store.current(this.pool, addressKey(ip), this.windowSeconds);
    return c && c.failures >= this.limit
      ? { ok: false, retryAfterSeconds: Math.max(1, c.retry_after) }
      : { ok: true };
  }

  /** Counts a failed password or code; the failure that reaches the limit is recorded in the audit log. */
  async fail(ip: string | undefined): Promise<AddressCheck> {
    const address = addressKey(ip);
    const c = await store.fail(this.pool, address, this.windowSeconds, this.limit);
    if (c.tripped) {
      const by = systemJob('console-signin-limit');
      await this.audit.record(this.pool, { ...by, caller: { ...by.caller, ip: ip ?? null } }, null, {
        action: 'console.signin-limit',
        targetType: 'address',
        targetId: address,
        after: { failures: c.failures, windowSeconds: this.windowSeconds, retryAfterSeconds: c.retry_after },
      });
    }
    return c.failures >= this.limit
      ? { ok: false, retryAfterSeconds: Math.max(1, c.retry_after) }
      : { ok: true };
  }

  /** Takes back one count of the address (a single sign-on that began, counted, and then succeeded). */
  async refund(ip: string | undefined): Promise<void> {
    await store.refund(this.pool, addressKey(ip), this.windowSeconds);
  }
}
