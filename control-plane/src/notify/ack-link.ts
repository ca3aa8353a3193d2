import crypto from 'node:crypto';

/** Signed, expiring acknowledge links: `<notification id>.<expiry epoch s>.<HMAC-SHA256>`, base64url. */
export class AckLinks {
  private readonly key: Buffer;
  constructor(
    secret: string | undefined,
    private readonly ttlSeconds: number,
  ) {
    this.key = secret ? Buffer.from(secret) : crypto.randomBytes(32);
  }

  sign(notificationId: string, now = Date.now()): string {
    const body = `${notificationId}.${Math.floor(now / 1000) + this.ttlSeconds}`;
    return `${body}.${this.mac(body)}`;
  }

  /** The notification id, or undefined when forged, malformed or expired. */
  verify(token: string, now = Date.now()): string | undefined {
    const m = /^([0-9a-f-]{36})\.(\d{1,12})\.([A-Za-z0-9_-]{43})$/.exec(token);
    if (!m) return undefined;
    const expected = Buffer.from(this.mac(`${m[1]}.${m[2]}`));
    const given = Buffer.from(m[3]!);
    if (given.length !== expected.length || !crypto.timingSafeEqual(given, expected)) return undefined;
    if (Number(m[2]) * 1000 < now) return undefined;
    return m[1];
  }

  private mac(body: string): string {
    return crypto.createHmac('sha256', this.key).update(body).digest('base64url');
  }
}
