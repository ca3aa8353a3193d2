import { createHash, randomBytes } from 'node:crypto';

/**
 * Bearer secrets (API tokens, session ids, e-mail links, state values, Faro keys, heartbeat and feed tokens) are
 * stored only as their SHA-256: a stolen database holds nothing that signs in. They are random (32 bytes), so a
 * plain hash is enough; passwords, which are not, use scrypt (users/password.ts).
 */
export const hashSecret = (secret: string): Buffer => createHash('sha256').update(secret, 'utf8').digest();

/** The same hash as hex, for the tables that keep it as text. */
export const hashSecretHex = (secret: string): string => hashSecret(secret).toString('hex');

/** A new secret: `prefix` (which tells a leaked one's kind) then `bytes` random bytes in base64url. */
export const newSecret = (prefix = '', bytes = 32): string =>
  prefix + randomBytes(bytes).toString('base64url');
