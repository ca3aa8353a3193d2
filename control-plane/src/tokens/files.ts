/**
 * Token secret files (PROVISION_TOKENS_DIR): what a container platform mounts, read and checked once at start.
 * A file `<role>.token` or `<role>.<label>.token` holds one token; the control plane makes it a token of that
 * role (tokens/service.ts, provision). Files may sit in the folder or one folder down, because platforms mount
 * each secret on its own (a compose volume per service, a Kubernetes secret); hidden entries (Kubernetes'
 * `..data`) are skipped.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ROLES, type Role } from '../http/auth.ts';

export interface TokenFile {
  /** The file's name without `.token` (`prober`, `prober.eu-west`): the token's name and what it is found by. */
  readonly key: string;
  readonly role: Role;
  readonly file: string;
  readonly token: string;
}

/** Client tokens need a client, which does not exist before the control plane runs. */
export const PROVISIONABLE_ROLES: readonly Role[] = ROLES.filter((r) => r !== 'client');

/** What a token may be: the bearer characters, long enough not to be guessed (as BOOTSTRAP_ADMIN_TOKEN). */
export const TOKEN_PATTERN = /^[A-Za-z0-9_\-.~]{24,200}$/;

const NAME = /^([a-z-]+)(?:\.([a-z0-9][a-z0-9-]{0,40}))?\.token$/;

/** The files under `dir`; each bad one is a line in `problems` naming the file (never its contents). */
export function readTokenFiles(dir: string, problems: string[]): TokenFile[] {
  const where = `PROVISION_TOKENS_DIR (${dir})`;
  let top: fs.Dirent[];
  try {
    top = fs.readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    problems.push(`${where} must be a readable folder: ${(err as NodeJS.ErrnoException).code ?? err}`);
    return [];
  }
  const paths: string[] = [];
  for (const entry of top) {
    if (entry.name.startsWith('.')) continue;
    const p = path.join(dir, entry.name);
    if (isDir(p))
      for (const inner of fs.readdirSync(p).sort())
        if (!inner.startsWith('.') && !isDir(path.join(p, inner))) paths.push(path.join(p, inner));
    if (!isDir(p)) paths.push(p);
  }
  const out: TokenFile[] = [];
  const byKey = new Map<string, string>();
  const bySecret = new Map<string, string>();
  for (const file of paths.sort()) {
    const m = NAME.exec(path.basename(file));
    const role = m?.[1] as Role | undefined;
    if (!m || !PROVISIONABLE_ROLES.includes(role!)) {
      problems.push(
        `${file}: a token file is named <role>.token or <role>.<label>.token, role one of ${PROVISIONABLE_ROLES.join(', ')}`,
      );
      continue;
    }
    // A trailing newline is what `echo` and editors leave: not part of the token.
    let token: string;
    try {
      token = fs.readFileSync(file, 'utf8').trim();
    } catch (err) {
      problems.push(`${file}: cannot be read: ${(err as NodeJS.ErrnoException).code ?? err}`);
      continue;
    }
    if (!TOKEN_PATTERN.test(token)) {
      problems.push(`${file}: must hold one token, 24 to 200 characters of [A-Za-z0-9_-.~] and nothing else`);
      continue;
    }
    const key = path.basename(file).slice(0, -'.token'.length);
    const sameKey = byKey.get(key);
    if (sameKey) problems.push(`${file}: ${sameKey} provisions the same token name ${key}`);
    const sameSecret = bySecret.get(token);
    if (sameSecret) problems.push(`${file}: holds the same token as ${sameSecret}; give each its own`);
    if (sameKey || sameSecret) continue;
    byKey.set(key, file);
    bySecret.set(token, file);
    out.push(Object.freeze({ key, role: role!, file, token }));
  }
  return out;
}

function isDir(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}
