import type { Logger } from 'pino';
import type { Pool } from '../db/pool.ts';
import { withTx } from '../db/pool.ts';
import type { AuditService } from '../audit/service.ts';
import { ROLES, type Auth, type Role } from '../http/auth.ts';
import { NotFoundError, ValidationError } from '../http/errors.ts';
import * as store from './store.ts';
import type { TokenFile } from './files.ts';
import { errorMessage } from '@concierge-ops/shared/errors';
import { hashSecret, newSecret } from '../security/secrets.ts';

export interface TokenView {
  id: string;
  name: string;
  role: Role;
  client: string | null;
  prefix: string;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

/** Resolves a client id or slug to its id (owned by the fleet domain). */
export type ClientResolver = (idOrSlug: string) => Promise<string | undefined>;

export const hashToken = hashSecret;

export function newToken(): string {
  return newSecret('cop_');
}

function view(t: store.DbToken): TokenView {
  return {
    id: t.id,
    name: t.name,
    role: t.role as Role,
    client: t.client_id,
    prefix: t.prefix,
    createdAt: t.created_at.toISOString(),
    lastUsedAt: t.last_used_at?.toISOString() ?? null,
    revokedAt: t.revoked_at?.toISOString() ?? null,
  };
}

// Only a short prefix is kept in clear, so an operator can tell tokens apart without seeing them.
const prefixOf = (token: string) => token.slice(0, 10);

/**
 * A valid token's caller is remembered this long: Alertmanager's webhooks, the prober's reports and every
 * scrape then skip a database round trip. Revoking forgets it at once in the process that revoked; other
 * replicas refuse the token within this time (as Faro keys, faro/service.ts). Unknown tokens are never
 * remembered: every try of a wrong one reaches the database and the denied-requests metric.
 */
const CACHE_MS = 5_000;
const CACHE_MAX = 10_000;
/** `lastUsedAt` is for finding unused tokens: to the minute is enough, and a scrape every 15 s writes nothing. */
const TOUCH_MS = 60_000;

export class TokenService {
  constructor(
    private readonly pool: Pool,
    private readonly audit: AuditService,
    private readonly resolveClient: ClientResolver,
    private readonly log: Logger,
  ) {}

  private readonly cache = new Map<string, { auth: Auth; until: number }>();
  /** When this process last recorded each token's use (the database decides across replicas). */
  private readonly touched = new Map<string, number>();
  /** Revocations by this process: a look-up that a revocation overtook is not remembered. */
  private revocations = 0;
  /** `lastUsedAt` writes under way, for `settled`. */
  private readonly touching = new Set<Promise<void>>();

  async authenticate(token: string): Promise<Auth | undefined> {
    const hash = hashToken(token);
    const key = hash.toString('base64');
    const now = Date.now();
    const hit = this.cache.get(key);
    if (hit && hit.until > now) return this.used(hit.auth, now);
    const epoch = this.revocations;
    const row = await store.findActiveByHash(this.pool, hash);
    if (!row) {
      this.cache.delete(key);
      return undefined;
    }
    const auth: Auth = { tokenId: row.id, name: row.name, role: row.role as Role, clientId: row.client_id };
    if (epoch !== this.revocations) return this.used(auth, now);
    if (this.cache.size >= CACHE_MAX) this.cache.clear();
    this.cache.set(key, { auth, until: now + CACHE_MS });
    return this.used(auth, now);
  }

  /**
   * Records the use of an accepted token, at most once a minute per token and process, without the request
   * waiting for it: the write may queue behind a busy pool or a row lock, and the webhook must not.
   */
  private used(auth: Auth, now: number): Auth {
    if ((this.touched.get(auth.tokenId) ?? -Infinity) > now - TOUCH_MS) return auth;
    if (this.touched.size >= CACHE_MAX) this.touched.clear();
    this.touched.set(auth.tokenId, now);
    // A hint for operators, not a control: a failed write (database away) is logged and retried on a later use.
    const write: Promise<void> = store
      .touch(this.pool, auth.tokenId)
      .catch((err: unknown) => {
        this.touched.delete(auth.tokenId);
        this.log.warn({ err: errorMessage(err), tokenId: auth.tokenId }, 'token lastUsedAt not recorded');
      })
      .finally(() => this.touching.delete(write));
    this.touching.add(write);
    return auth;
  }

  /** Resolves once every `lastUsedAt` write begun so far has ended (before reading it back, and at shutdown). */
  async settled(): Promise<void> {
    await Promise.all(this.touching);
  }

  /** Creates a token; the secret is in the answer once and never stored. */
  async create(
    auth: Auth,
    requestId: string,
    input: { name: string; role: Role; client?: string },
  ): Promise<TokenView & { token: string }> {
    let clientId: string | null = null;
    if (input.client !== undefined) {
      clientId = (await this.resolveClient(input.client)) ?? null;
      if (!clientId)
        throw new ValidationError('unknown client', [{ field: '/client', message: 'no such client' }]);
    }
    if (input.role === 'client' && !clientId)
      throw new ValidationError('a client token needs a client', [
        { field: '/client', message: 'is required for role client' },
      ]);
    if (clientId && input.role !== 'client' && input.role !== 'backup-agent')
      throw new ValidationError('only client and backup-agent tokens are bound to a client', [
        { field: '/client', message: `must be omitted for role ${input.role}` },
      ]);
    const token = newToken();
    const row = await withTx(this.pool, async (tx) => {
      const created = await store.insert(tx, {
        name: input.name,
        role: input.role,
        clientId,
        hash: hashToken(token),
        prefix: prefixOf(token),
      });
      await this.audit.record(tx, auth, requestId, {
        action: 'token.create',
        targetType: 'token',
        targetId: created.id,
        after: view(created),
      });
      return created;
    });
    return { ...view(row), token };
  }

  async list(): Promise<TokenView[]> {
    return (await store.list(this.pool)).map(view);
  }

  /** One token (never its secret); 404 when there is none with this id. */
  async get(id: string): Promise<TokenView> {
    const row = /^[0-9a-f-]{36}$/i.test(id) ? await store.byId(this.pool, id) : undefined;
    if (!row) throw new NotFoundError('token');
    return view(row);
  }

  /**
   * A page of tokens for the console, newest first (live ones only unless `all`), and the cursor of the next
   * page, if any. An unreadable cursor is a 400 naming `/after`.
   */
  async page(q: {
    all: boolean;
    limit: number;
    after?: string;
  }): Promise<{ tokens: TokenView[]; next: string | null }> {
    let after: { createdAt: string; id: string } | undefined;
    if (q.after !== undefined) {
      const m = /^([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z)~([0-9a-f-]{36})$/.exec(
        q.after,
      );
      if (!m || Number.isNaN(Date.parse(m[1]!)))
        throw new ValidationError('query string is invalid', [
          { field: '/after', message: 'must be a cursor from the previous page' },
        ]);
      after = { createdAt: m[1]!, id: m[2]! };
    }
    const rows = await store.page(this.pool, { all: q.all, limit: q.limit + 1, ...(after ? { after } : {}) });
    const tokens = rows.slice(0, q.limit);
    return {
      tokens: tokens.map(view),
      next: rows.length > q.limit ? tokens[tokens.length - 1]!.cursor : null,
    };
  }

  async revoke(auth: Auth, requestId: string, id: string): Promise<TokenView> {
    if (!/^[0-9a-f-]{36}$/i.test(id)) throw new NotFoundError('token');
    const revoked = await withTx(this.pool, async (tx) => {
      const row = await store.revoke(tx, id);
      if (!row) throw new NotFoundError('token');
      await this.audit.record(tx, auth, requestId, {
        action: 'token.revoke',
        targetType: 'token',
        targetId: id,
        after: view(row),
      });
      return view(row);
    });
    // Refused from now on in this process (other replicas: within CACHE_MS).
    this.forget([id]);
    return revoked;
  }

  /**
   * Makes the tokens in the secret files live (PROVISION_TOKENS_DIR), in one transaction under the bootstrap
   * lock so replicas starting together agree. A file seen before with the same secret changes nothing (no
   * audit record); a new secret revokes the file's old token and creates the new one, audited as
   * `token.rotate` by `system`. A secret that an unprovisioned live token of the same role already has (a
   * former BOOTSTRAP_ADMIN_TOKEN) is adopted, not duplicated; a revoked one is refused: secrets are not reused.
   */
  async provision(files: readonly TokenFile[]): Promise<Provisioned> {
    const done: Provisioned = { created: [], rotated: [], unchanged: [] };
    if (files.length === 0) return done;
    const rotated: string[] = [];
    await withTx(this.pool, async (tx) => {
      await store.lockBootstrap(tx);
      for (const f of files) {
        const hash = hashToken(f.token);
        const live = await store.findProvisioned(tx, f.key);
        if (live?.token_hash.equals(hash)) {
          done.unchanged.push(f.key);
          continue;
        }
        const holder = await store.findByHash(tx, hash);
        if (holder && (holder.revoked_at || holder.role !== f.role || holder.provisioned_from))
          throw new ProvisionError(
            `${f.file}: this token is already ${holder.revoked_at ? 'revoked' : `token ${holder.name} (${holder.role})`}; write a new one`,
          );
        const from = { provisionedFrom: f.key, file: f.file };
        if (live) {
          await store.revoke(tx, live.id);
          rotated.push(live.id);
        }
        const row = holder
          ? await store.claim(tx, holder.id, f.key)
          : await store.insert(tx, {
              name: f.key,
              role: f.role,
              clientId: null,
              hash,
              prefix: prefixOf(f.token),
              provisionedFrom: f.key,
            });
        await this.audit.record(tx, 'system', null, {
          action: live ? 'token.rotate' : 'token.provision',
          targetType: 'token',
          targetId: row.id,
          before: live ? { ...view(live), ...from } : holder ? view(holder) : null,
          after: { ...view(row), ...from },
        });
        (live ? done.rotated : done.created).push(f.key);
      }
    });
    if (rotated.length > 0) this.forget(rotated);
    return done;
  }

  private forget(ids: string[]): void {
    this.revocations++;
    for (const [key, entry] of this.cache) if (ids.includes(entry.auth.tokenId)) this.cache.delete(key);
  }

  /**
   * On an empty token table, creates the first admin token: BOOTSTRAP_ADMIN_TOKEN when given, else a new
   * random one, returned so main can print it once. Returns undefined when tokens already exist.
   */
  async bootstrap(given: string | undefined): Promise<{ token: string; generated: boolean } | undefined> {
    return withTx(this.pool, async (tx) => {
      await store.lockBootstrap(tx);
      if (await store.anyExists(tx)) return undefined;
      const token = given ?? newToken();
      const row = await store.insert(tx, {
        name: 'bootstrap-admin',
        role: 'admin',
        clientId: null,
        hash: hashToken(token),
        prefix: prefixOf(token),
      });
      await this.audit.record(tx, 'system', null, {
        action: 'token.bootstrap',
        targetType: 'token',
        targetId: row.id,
        after: view(row),
      });
      return { token, generated: given === undefined };
    });
  }
}

export const TOKEN_ROLES = ROLES;

/** A token file that cannot become a token (its secret belongs to another or a revoked token). */
export class ProvisionError extends Error {
  override name = 'ProvisionError';
}

export interface Provisioned {
  created: string[];
  rotated: string[];
  unchanged: string[];
}
