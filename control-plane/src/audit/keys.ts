import crypto, { type KeyObject } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import type { AuditConfig, Config } from '../config.ts';
import { CheckpointFile } from './checkpoints.ts';
import type { CheckpointSetup } from './service.ts';

/** The checkpoint key pair: the private half only where checkpoints are written (never in the database). */
export interface CheckpointKeys {
  readonly privateKey: KeyObject | undefined;
  readonly publicKey: KeyObject;
  /** First 16 hex digits of the SHA-256 of the public key (SPKI DER): names the key in every checkpoint. */
  readonly keyId: string;
}

export function keyIdOf(publicKey: KeyObject): string {
  return crypto
    .createHash('sha256')
    .update(publicKey.export({ type: 'spki', format: 'der' }))
    .digest('hex')
    .slice(0, 16);
}

function ed25519(key: KeyObject, what: string): KeyObject {
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`${what} is not an Ed25519 key`);
  return key;
}

/**
 * The embedded default's first start: a new key, written with mode 0600 (and its public half beside it, for
 * auditors). Exclusive create: two processes starting at once never overwrite each other's key.
 */
function generate(file: string, log: Logger): KeyObject {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ed25519');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
  fs.writeFileSync(publicKeyPath(file), publicKey.export({ type: 'spki', format: 'pem' }), { mode: 0o644 });
  log.warn(
    { keyFile: file, keyId: keyIdOf(publicKey) },
    'audit: a new checkpoint signing key was generated. BACK IT UP now, away from the database (see docs/audit.md): ' +
      'without it no new checkpoint can be signed, and without its public key no old one can be checked',
  );
  return privateKey;
}

export const publicKeyPath = (privateKeyFile: string) => privateKeyFile.replace(/(\.pem)?$/, '.pub.pem');

/**
 * The keys AUDIT_* name. `purpose` 'sign' (the control plane) may generate the embedded default's key;
 * 'verify' (audit:verify) never does, and answers undefined when that key does not exist yet (then no
 * checkpoint can exist either). Undefined also when checkpoints are off or no key is configured.
 * Throws when a configured key cannot be read.
 */
export function loadCheckpointKeys(
  c: AuditConfig,
  purpose: 'sign' | 'verify',
  log: Logger,
): CheckpointKeys | undefined {
  if (!c.checkpoints && !c.publicKeyFile) return undefined;
  let privateKey: KeyObject | undefined;
  const source = c.checkpoints ? c.signingKey : undefined;
  if (source && 'pem' in source) privateKey = crypto.createPrivateKey(source.pem);
  else if (source) {
    if (fs.existsSync(source.file))
      privateKey = ed25519(crypto.createPrivateKey(fs.readFileSync(source.file)), source.file);
    else if (source.generate && purpose === 'sign') privateKey = generate(source.file, log);
    else if (!source.generate) throw new Error(`AUDIT_SIGNING_KEY_FILE ${source.file} does not exist`);
  }
  const publicKey = c.publicKeyFile
    ? ed25519(crypto.createPublicKey(fs.readFileSync(c.publicKeyFile)), c.publicKeyFile)
    : privateKey && crypto.createPublicKey(privateKey);
  if (!publicKey) return undefined;
  const keyId = keyIdOf(publicKey);
  if (privateKey && keyIdOf(crypto.createPublicKey(privateKey)) !== keyId)
    throw new Error('AUDIT_PUBLIC_KEY_FILE is not the public half of the checkpoint signing key');
  return { privateKey, publicKey, keyId };
}

/**
 * The audit checkpoints' key and file, or undefined (with a loud warning) when there is no key. With DATABASE_URL
 * and no key the control plane still starts: it pages on-call staff, and refusing to start over the audit key
 * would stop the pages too; the warning, the morning mail, /api/v1/audit/verify and the missing checkpoint
 * metrics all say that tamper evidence is off until a key is configured.
 */
export function checkpointSetup(
  config: Config,
  log: Logger,
  purpose: 'sign' | 'verify',
): CheckpointSetup | undefined {
  const keys = loadCheckpointKeys(config.audit, purpose, log);
  if (!keys && purpose === 'sign')
    log.warn(
      config.audit.checkpoints
        ? 'audit: NO CHECKPOINT SIGNING KEY (AUDIT_SIGNING_KEY_FILE or AUDIT_SIGNING_KEY): no audit checkpoints are ' +
            'written, so a recomputed chain, a forged record or a truncated log would go unnoticed; see docs/audit.md'
        : 'audit: AUDIT_CHECKPOINTS=off: no audit checkpoints are written; the hash chain alone is checked',
    );
  return keys && { keys, file: new CheckpointFile(config.audit.checkpointDir) };
}
