export const ROLES = [
  'admin',
  'operator',
  'client',
  'alertmanager',
  'prober',
  'backup-agent',
  'prometheus',
] as const;
export type Role = (typeof ROLES)[number];

/** Who is calling: resolved from the bearer token on every request. */
export interface Auth {
  readonly tokenId: string;
  readonly name: string;
  readonly role: Role;
  /** Set for client tokens (and scoped backup agents): the only client they may see. */
  readonly clientId: string | null;
  /**
   * Set when a console user acts (console/session.ts): `tokenId` is then `user:<id>` and `name` the user's
   * e-mail, so the audit record names the person through the same caller columns a token fills.
   */
  readonly userId?: string;
  /** Where the request came from (X-Forwarded-For only from a trusted proxy), for the audit log. */
  readonly ip?: string | null;
  readonly userAgent?: string | null;
}

/** `name (role)`: how the audit log and the logs name the caller, never the token itself. */
export function actorName(auth: Auth): string {
  if (auth.userId) return `${auth.name} (${auth.role}, user ${auth.userId.slice(0, 8)})`;
  return `${auth.name} (${auth.role}, token ${auth.tokenId.slice(0, 8)})`;
}

export const STAFF: readonly Role[] = ['admin', 'operator'];
export const READERS: readonly Role[] = ['admin', 'operator', 'client'];

/** True when `auth` may see data of `clientId`: staff see all, scoped tokens only their own client. */
export function canSeeClient(auth: Auth, clientId: string): boolean {
  return auth.clientId === null ? auth.role !== 'client' : auth.clientId === clientId;
}

/** Parses `Authorization: Bearer <token>`; undefined when absent or malformed. */
export function bearer(header: string | undefined): string | undefined {
  const m = /^Bearer ([A-Za-z0-9_\-.~+/=]{1,512})$/i.exec(header ?? '');
  return m?.[1];
}
