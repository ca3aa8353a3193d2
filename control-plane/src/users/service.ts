import type { Logger } from 'pino';
import type { ConsoleConfig } from '../config.ts';
import { withTx, type Pool } from '../db/pool.ts';
import type { AuditService } from '../audit/service.ts';
import type { Auth } from '../http/auth.ts';
import { ConflictError, ValidationError } from '../http/errors.ts';
import { hasUnstorable } from '../http/unstorable.ts';
import { addJob } from '../jobs/store.ts';
import { DUMMY_HASH, hashPassword, passwordProblem, verifyPassword } from './password.ts';
import { hashCode, newRecoveryCodes, newTotpSecret, totpValid } from './totp.ts';
import * as sessions from './sessions.ts';
import * as store from './store.ts';
import { hashSecret, newSecret } from '../security/secrets.ts';

export type UserRole = 'admin' | 'operator' | 'client';

export interface UserView {
  id: string;
  email: string;
  name: string;
  role: UserRole;
  client: string | null;
  /** Invited and not yet accepted: no password set. */
  pending: boolean;
  secondFactor: boolean;
  locked: boolean;
  createdAt: string;
}

export interface InviteInput {
  email: string;
  name: string;
  role: UserRole;
  client?: string;
}

export const USER_MAIL_TASK = 'console-user-mail';

/** Staff must have a second factor before a session is full (HIPAA-grade access to every client's data). */
export const needsTotp = (role: string) => role === 'admin' || role === 'operator';

const hashLink = hashSecret;
/** A password reset link lives an hour; an invite as long as CONSOLE_INVITE_HOURS says. */
const RESET_TTL_SECONDS = 3600;

function view(u: store.DbUser): UserView {
  return {
    id: u.id,
    email: u.email,
    name: u.name,
    role: u.role as UserRole,
    client: u.client_id,
    pending: u.password_hash === null,
    secondFactor: u.totp_secret !== null,
    locked: u.locked,
    createdAt: u.created_at.toISOString(),
  };
}

export type SignIn = { ok: true; user: store.DbUser } | { ok: false; reason: 'bad' | 'locked' };

/**
 * Console users beside API tokens: invites and password resets by e-mail link, scrypt passwords, TOTP and
 * recovery codes, sign-in with lockout, and the `Auth` a signed-in user acts with through the same services.
 */
export class UserService {
  constructor(
    private readonly pool: Pool,
    private readonly audit: AuditService,
    private readonly resolveClient: (idOrSlug: string) => Promise<string | undefined>,
    private readonly config: ConsoleConfig,
    private readonly publicUrl: string,
    private readonly log: Logger,
  ) {}

  async invite(auth: Auth, requestId: string, input: InviteInput): Promise<UserView> {
    let clientId: string | null = null;
    if (input.client !== undefined) {
      clientId = (await this.resolveClient(input.client)) ?? null;
      if (!clientId)
        throw new ValidationError('unknown client', [{ field: '/client', message: 'no such client' }]);
    }
    if (input.role === 'client' && !clientId)
      throw new ValidationError('a client user needs a client', [
        { field: '/client', message: 'is required for role client' },
      ]);
    if (input.role !== 'client' && clientId)
      throw new ValidationError('only client users are bound to a client', [
        { field: '/client', message: `must be omitted for role ${input.role}` },
      ]);
    const email = input.email.toLowerCase();
    return withTx(this.pool, async (tx) => {
      const row = await store.insert(tx, { email, name: input.name, role: input.role, clientId });
      if (!row) throw new ConflictError(`a user with e-mail ${email} already exists`);
      await this.mailLink(tx, row, 'invite', this.config.inviteTtlSeconds);
      await this.audit.record(tx, auth, requestId, {
        action: 'user.invite',
        targetType: 'user',
        targetId: row.id,
        after: view(row),
      });
      return view(row);
    });
  }

  /** The link's secret travels only in the job's payload and the mail; the table keeps its hash. */
  private async mailLink(
    tx: Parameters<typeof store.insert>[0],
    user: store.DbUser,
    purpose: 'invite' | 'reset',
    ttlSeconds: number,
  ) {
    const token = newSecret();
    await store.insertLink(tx, { hash: hashLink(token), userId: user.id, purpose, ttlSeconds });
    const link = `${this.publicUrl}/console/${purpose === 'invite' ? 'accept' : 'reset'}/${token}`;
    // A job in the same transaction: the mail goes (with retries) if and only if the invite is committed.
    await addJob(tx, {
      task: USER_MAIL_TASK,
      payload: { to: user.email, name: user.name, purpose, link, hours: Math.round(ttlSeconds / 3600) },
      jobKey: `user-mail:${purpose}:${user.id}`,
      maxAttempts: 10,
    });
  }

  /**
   * `limit` users by e-mail after the e-mail `after` (the cursor the previous page gave), and the cursor of the
   * next page when there is one.
   */
  async page(q: { limit: number; after?: string }): Promise<{ users: UserView[]; next: string | null }> {
    if (q.after !== undefined && (!/^\S{1,254}$/.test(q.after) || hasUnstorable(q.after)))
      throw new ValidationError('query string is invalid', [
        { field: '/after', message: 'must be a cursor from the previous page' },
      ]);
    const rows = await store.page(this.pool, q.limit + 1, q.after?.toLowerCase() ?? null);
    const users = rows.slice(0, q.limit);
    return { users: users.map(view), next: rows.length > q.limit ? users[users.length - 1]!.email : null };
  }

  async byId(id: string): Promise<store.DbUser | undefined> {
    if (!/^[0-9a-f-]{36}$/i.test(id)) return undefined;
    return store.byId(this.pool, id);
  }

  /** The user an unused, unexpired link belongs to (the page shows the form only then). */
  async linkUser(token: string): Promise<{ user: store.DbUser; purpose: 'invite' | 'reset' } | undefined> {
    if (!/^[A-Za-z0-9_-]{43}$/.test(token)) return undefined;
    const link = await store.peekLink(this.pool, hashLink(token));
    const user = link && (await store.byId(this.pool, link.user_id));
    return user && !user.disabled_at ? { user, purpose: link.purpose } : undefined;
  }

  /**
   * Sets the password through an invite or reset link, once. A reset also ends every session of the user
   * (whoever knew the old password is signed out).
   */
  async setPasswordByLink(
    token: string,
    password: string,
    confirm: string,
  ): Promise<store.DbUser | undefined> {
    const problem = passwordProblem(password);
    if (problem) throw new ValidationError('password ' + problem, [{ field: '/password', message: problem }]);
    if (confirm !== password)
      throw new ValidationError('the passwords differ', [
        { field: '/confirm', message: 'does not match the password' },
      ]);
    if (!/^[A-Za-z0-9_-]{43}$/.test(token)) return undefined;
    const hash = await hashPassword(password);
    return withTx(this.pool, async (tx) => {
      const link = await store.useLink(tx, hashLink(token));
      if (!link) return undefined;
      const user = await store.byId(tx, link.user_id);
      if (!user || user.disabled_at) return undefined;
      await store.setPassword(tx, user.id, hash);
      const ended = await sessions.deleteUserSessions(tx, user.id);
      await this.audit.record(tx, this.authOf(user), null, {
        action: link.purpose === 'invite' ? 'user.accept' : 'user.password-reset',
        targetType: 'user',
        targetId: user.id,
        after: { sessionsEnded: ended },
      });
      return user;
    });
  }

  /** Mails a reset link when the e-mail belongs to an active user; says nothing either way (no enumeration). */
  async requestReset(email: string): Promise<void> {
    const user = await store.byEmail(this.pool, email.toLowerCase().slice(0, 254));
    if (!user || user.disabled_at) return;
    await withTx(this.pool, (tx) => this.mailLink(tx, user, 'reset', RESET_TTL_SECONDS));
  }

  /**
   * Checks e-mail and password. CONSOLE_SIGNIN_ATTEMPTS failures in a row lock the account for
   * CONSOLE_LOCKOUT_MINUTES (even the right password is refused meanwhile); an unknown e-mail costs the same
   * scrypt work, so timing does not tell which e-mails exist.
   */
  async checkPassword(email: string, password: string): Promise<SignIn> {
    const user = await store.byEmail(this.pool, email.toLowerCase().slice(0, 254));
    const good = await verifyPassword(password.slice(0, 256), user?.password_hash ?? DUMMY_HASH);
    if (!user || !user.password_hash || user.disabled_at) return { ok: false, reason: 'bad' };
    if (user.locked) return { ok: false, reason: 'locked' };
    if (user.locked_until) await store.clearExpiredLock(this.pool, user.id);
    if (!good) {
      const after = await store.failSignin(
        this.pool,
        user.id,
        this.config.signinAttempts,
        this.config.lockoutSeconds,
      );
      if (after.locked)
        await this.audit.record(this.pool, 'console', null, {
          action: 'user.locked',
          targetType: 'user',
          targetId: user.id,
          after: { failedSignins: after.failed_signins },
        });
      return { ok: false, reason: after.locked ? 'locked' : 'bad' };
    }
    return { ok: true, user };
  }

  /** The second step: a TOTP code or an unused recovery code (used up). Failures count towards the lockout. */
  async checkSecondFactor(user: store.DbUser, code: string): Promise<boolean> {
    const fresh = await store.byId(this.pool, user.id);
    if (!fresh?.totp_secret || fresh.locked || fresh.disabled_at) return false;
    const trimmed = code.trim().slice(0, 32);
    const good =
      totpValid(fresh.totp_secret, trimmed.replace(/\s/g, '')) ||
      (/^[A-Za-z0-9-]{10,11}$/.test(trimmed) &&
        (await store.useRecoveryCode(this.pool, user.id, hashCode(trimmed))));
    if (good) await store.signedIn(this.pool, user.id);
    else await store.failSignin(this.pool, user.id, this.config.signinAttempts, this.config.lockoutSeconds);
    return good;
  }

  newTotpSecret(): string {
    return newTotpSecret();
  }

  /** Confirms a new TOTP secret with its first code; returns the recovery codes to show once. */
  async enrolTotp(user: store.DbUser, secret: string, code: string): Promise<string[] | undefined> {
    if (!totpValid(secret, code.replace(/\s/g, ''))) return undefined;
    const codes = newRecoveryCodes();
    await withTx(this.pool, async (tx) => {
      await store.setTotp(tx, user.id, secret, codes.map(hashCode));
      await store.signedIn(tx, user.id);
      await this.audit.record(tx, this.authOf(user), null, {
        action: 'user.totp-enrol',
        targetType: 'user',
        targetId: user.id,
      });
    });
    return codes;
  }

  async signedIn(user: store.DbUser, auth: Auth): Promise<void> {
    await store.signedIn(this.pool, user.id);
    await this.audit.record(this.pool, auth, null, {
      action: 'user.signin',
      targetType: 'user',
      targetId: user.id,
    });
  }

  /** How a user acts through the services: the caller fields of the audit record name the person. */
  authOf(user: store.DbUser, source: { ip?: string | null; userAgent?: string | null } = {}): Auth {
    return {
      tokenId: `user:${user.id}`,
      userId: user.id,
      name: user.email,
      role: user.role as UserRole,
      clientId: user.client_id,
      ip: source.ip ?? null,
      userAgent: source.userAgent ?? null,
    };
  }

  /** Renders and sends a link mail (the job's body); throws so the job library retries a failed send. */
  static mailText(p: { name: string; purpose: 'invite' | 'reset'; link: string; hours: number }) {
    const subject =
      p.purpose === 'invite'
        ? 'You are invited to the concierge-ops console'
        : 'Reset your concierge-ops password';
    const text =
      (p.purpose === 'invite'
        ? `Hello ${p.name},\n\nyou have been given an account on the concierge-ops console. Choose your password here:\n\n`
        : `Hello ${p.name},\n\nsomeone asked to reset your concierge-ops password. If it was you, choose a new one here:\n\n`) +
      `${p.link}\n\nThe link works once, for ${p.hours || 1} hour(s).\n`;
    const esc = (v: string) =>
      v.replace(
        /[&<>"']/g,
        (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
      );
    const html = esc(text)
      .split('\n\n')
      .map((para) => (para === esc(p.link) ? `<p><a href="${para}">${para}</a></p>` : `<p>${para}</p>`))
      .join('\n');
    return { subject, text, html };
  }

  logMailFailure(err: string): void {
    this.log.warn({ err }, 'console user mail failed; the job retries');
  }
}
