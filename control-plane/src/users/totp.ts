import crypto from 'node:crypto';
import { Secret, TOTP } from 'otpauth';

/** RFC 6238 defaults every authenticator app understands: SHA-1, 6 digits, 30 s. */
function totp(secret: string, label = 'console'): TOTP {
  return new TOTP({
    issuer: 'concierge-ops',
    label,
    algorithm: 'SHA1',
    digits: 6,
    period: 30,
    secret: Secret.fromBase32(secret),
  });
}

export function newTotpSecret(): string {
  return new Secret({ size: 20 }).base32;
}

/** The otpauth:// URI an authenticator app reads (typed in, or scanned where a QR code is shown). */
export function totpUri(secret: string, email: string): string {
  return totp(secret, email).toString();
}

/** One step either side: a phone clock 30 s off still signs in. */
export function totpValid(secret: string, code: string): boolean {
  if (!/^[0-9]{6}$/.test(code)) return false;
  return totp(secret).validate({ token: code, window: 1 }) !== null;
}

/** The current code (tests and the bench sign in as a user would with an app). */
export function totpNow(secret: string): string {
  return totp(secret).generate();
}

/** Ten single-use codes of 10 base32 characters (50 bits each), shown once; only their hashes are kept. */
export function newRecoveryCodes(): string[] {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
  return Array.from({ length: 10 }, () => {
    const bytes = crypto.randomBytes(10);
    const s = [...bytes].map((b) => alphabet[b % 32]).join('');
    return `${s.slice(0, 5)}-${s.slice(5)}`;
  });
}

export const hashCode = (code: string) =>
  crypto
    .createHash('sha256')
    .update(code.toUpperCase().replace(/[^A-Z0-9]/g, ''))
    .digest('hex');
