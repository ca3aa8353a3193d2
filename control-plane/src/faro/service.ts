import type { Pool } from '../db/pool.ts';
import { withTx } from '../db/pool.ts';
import type { AuditService } from '../audit/service.ts';
import type { FleetService } from '../fleet/service.ts';
import type { Instance } from '../fleet/types.ts';
import { actorName, type Auth } from '../http/auth.ts';
import { ConflictError, NotFoundError, ValidationError, type FieldError } from '../http/errors.ts';
import { PageRoutes, errorTypeLabel, normalOrigin, routeErrors } from './labels.ts';
import { VITALS, type FaroMetrics, type Vital } from './metrics.ts';
import type { FaroPayload, KeyInput, RotateInput } from './schemas.ts';
import * as store from './store.ts';
import { hashSecret, newSecret } from '../security/secrets.ts';

/** What a working app key stands for, as the receiver needs it on every request. */
export interface ResolvedKey {
  keyId: string;
  client: string;
  instance: string;
  allowedOrigins: ReadonlySet<string>;
  pages: PageRoutes;
}

export interface KeyView {
  id: string;
  instance: { id: string; slug: string; client: string };
  prefix: string;
  allowedOrigins: string[];
  pageRoutes: string[];
  createdBy: string;
  createdAt: string;
  expiresAt: string | null;
  current: boolean;
}

const KEY_FORMAT = /^faro_[A-Za-z0-9_-]{43}$/;
const SYSTEM: Auth = { tokenId: '00000000-faro', name: 'faro', role: 'admin', clientId: null };
// A key lookup is cached this long: rotation and revocation reach other replicas within it.
const CACHE_MS = 10_000;
const CACHE_MAX = 10_000;
// Beyond these a browser-sent number is broken, not slow: it is dropped rather than put in +Inf.
const MAX_SECONDS = 3600;
const MAX_CLS = 100;

const hashKey = hashSecret;

function keyView(k: store.DbFaroKey, i: Instance): KeyView {
  return {
    id: k.id,
    instance: { id: i.id, slug: i.slug, client: i.client.slug },
    prefix: k.prefix,
    allowedOrigins: k.allowed_origins,
    pageRoutes: k.page_routes,
    createdBy: k.created_by,
    createdAt: k.created_at.toISOString(),
    expiresAt: k.expires_at?.toISOString() ?? null,
    current: k.expires_at === null,
  };
}

/** Checks and normalises a key's settings; every bad entry is named. */
function settings(input: KeyInput, fallback: { origins: string[]; routes: string[] }) {
  const errors: FieldError[] = [];
  const origins = (input.allowedOrigins ?? fallback.origins).map((o, i) => {
    const n = normalOrigin(o);
    if (!n)
      errors.push({
        field: `/allowedOrigins/${i}`,
        message: 'must be an origin: http(s)://host[:port], no path, query or credentials',
      });
    return n ?? o;
  });
  const routes = input.pageRoutes ?? fallback.routes;
  errors.push(...routeErrors(routes, '/pageRoutes'));
  if (errors.length) throw new ValidationError('app key settings are invalid', errors);
  return { origins: [...new Set(origins)], routes };
}

/** Faro app keys per client instance, and the turning of accepted payloads into bounded metrics. */
export class FaroService {
  private readonly cache = new Map<string, { value: ResolvedKey; until: number }>();

  constructor(
    private readonly pool: Pool,
    private readonly audit: AuditService,
    private readonly fleet: FleetService,
    private readonly metrics: FaroMetrics,
  ) {}

  // ---- keys (staff, audited) ----

  async listKeys(auth: Auth, instanceIdOrSlug: string): Promise<KeyView[]> {
    const instance = await this.fleet.getInstance(auth, instanceIdOrSlug);
    return (await store.listKeys(this.pool, instance.id)).map((k) => keyView(k, instance));
  }

  /** The instance's first key; the key itself is in this answer only. 409 when it already has one. */
  async createKey(auth: Auth, requestId: string, instanceIdOrSlug: string, input: KeyInput) {
    const instance = await this.activeInstance(auth, instanceIdOrSlug);
    const s = settings(input, { origins: [new URL(instance.baseUrl).origin], routes: ['/'] });
    return withTx(this.pool, async (tx) => {
      if (await store.findCurrent(tx, instance.id, true))
        throw new ConflictError('the instance already has a Faro app key: rotate it instead');
      return this.issue(tx, auth, requestId, instance, s, 'faro_key.create', undefined);
    });
  }

  /** A new key replaces the current one, which keeps working for `graceSeconds` (default 0). */
  async rotateKey(auth: Auth, requestId: string, instanceIdOrSlug: string, input: RotateInput) {
    const instance = await this.activeInstance(auth, instanceIdOrSlug);
    const result = await withTx(this.pool, async (tx) => {
      const cur = await store.findCurrent(tx, instance.id, true);
      if (!cur) throw new NotFoundError('current Faro app key of the instance');
      const s = settings(input, { origins: cur.allowed_origins, routes: cur.page_routes });
      const old = (await store.expireCurrent(tx, instance.id, input.graceSeconds ?? 0))!;
      return this.issue(tx, auth, requestId, instance, s, 'faro_key.rotate', keyView(old, instance));
    });
    this.cache.clear();
    return result;
  }

  async updateKey(auth: Auth, requestId: string, instanceIdOrSlug: string, input: KeyInput) {
    const instance = await this.fleet.getInstance(auth, instanceIdOrSlug);
    const result = await withTx(this.pool, async (tx) => {
      const cur = await store.findCurrent(tx, instance.id, true);
      if (!cur) throw new NotFoundError('current Faro app key of the instance');
      const s = settings(input, { origins: cur.allowed_origins, routes: cur.page_routes });
      const row = await store.updateKey(tx, cur.id, s.origins, s.routes);
      const after = keyView(row, instance);
      await this.audit.record(tx, auth, requestId, {
        action: 'faro_key.update',
        targetType: 'instance',
        targetId: instance.id,
        before: keyView(cur, instance),
        after,
      });
      return after;
    });
    this.cache.clear();
    return result;
  }

  /** Stops every working key of the instance at once (a leaked key, or Faro turned off). */
  async revokeKeys(auth: Auth, requestId: string, instanceIdOrSlug: string) {
    const instance = await this.fleet.getInstance(auth, instanceIdOrSlug);
    const result = await withTx(this.pool, async (tx) => {
      const rows = await store.expireAll(tx, instance.id);
      if (rows.length === 0) throw new NotFoundError('working Faro app key of the instance');
      const after = rows.map((k) => keyView(k, instance));
      await this.audit.record(tx, auth, requestId, {
        action: 'faro_key.revoke',
        targetType: 'instance',
        targetId: instance.id,
        after,
      });
      return after;
    });
    this.cache.clear();
    return result;
  }

  private async activeInstance(auth: Auth, idOrSlug: string): Promise<Instance> {
    const instance = await this.fleet.getInstance(auth, idOrSlug);
    if (instance.status !== 'active') throw new ConflictError('the instance is decommissioned');
    return instance;
  }

  private async issue(
    tx: Parameters<typeof store.insertKey>[0],
    auth: Auth,
    requestId: string,
    instance: Instance,
    s: { origins: string[]; routes: string[] },
    action: string,
    before: KeyView | undefined,
  ) {
    const key = newSecret('faro_');
    const row = await store.insertKey(tx, {
      instanceId: instance.id,
      hash: hashKey(key),
      prefix: key.slice(0, 10),
      allowedOrigins: s.origins,
      pageRoutes: s.routes,
      createdBy: actorName(auth),
    });
    const view = keyView(row, instance);
    // The audit record holds the prefix, never the key.
    await this.audit.record(tx, auth, requestId, {
      action,
      targetType: 'instance',
      targetId: instance.id,
      before,
      after: view,
    });
    return { ...view, key, collectPath: `/api/v1/faro/collect/${key}` };
  }

  // ---- the receiver ----

  /** The instance an app key stands for, or undefined (unknown, malformed, expired, decommissioned). */
  async resolve(appKey: string): Promise<ResolvedKey | undefined> {
    if (!KEY_FORMAT.test(appKey)) return undefined;
    const hash = hashKey(appKey);
    const id = hash.toString('hex');
    const now = Date.now();
    const hit = this.cache.get(id);
    if (hit && hit.until > now) return hit.value;
    this.cache.delete(id);
    // Unknown keys are not cached: strangers' guesses must not fill this map.
    const row = await store.findWorkingByHash(this.pool, hash);
    if (!row) return undefined;
    const instance = await this.fleet.getInstance(SYSTEM, row.instance_id).catch(() => undefined);
    if (!instance || instance.status !== 'active') return undefined;
    const value: ResolvedKey = {
      keyId: row.id,
      client: instance.client.slug,
      instance: instance.slug,
      allowedOrigins: new Set(row.allowed_origins),
      pages: new PageRoutes(row.page_routes),
    };
    if (this.cache.size >= CACHE_MAX) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(id, { value, until: Math.min(now + CACHE_MS, row.expires_at?.getTime() ?? Infinity) });
    return value;
  }

  /** Turns an accepted payload into metrics. Only numbers and bounded labels leave it; nothing is stored. */
  ingest(key: ResolvedKey, payload: FaroPayload): { vitals: number; errors: number; sessions: number } {
    const labels = { client: key.client, instance: key.instance };
    const page = key.pages.label(payload.meta.page?.url);
    let vitals = 0;
    for (const m of payload.measurements ?? []) {
      if (m.type !== 'web-vitals' || !m.values) continue;
      for (const name of Object.keys(VITALS) as Vital[]) {
        const raw = m.values[name];
        if (raw === undefined || !Number.isFinite(raw) || raw < 0) continue;
        const value = raw * VITALS[name].scale;
        if (value > (name === 'cls' ? MAX_CLS : MAX_SECONDS)) continue;
        this.metrics.vitals[name].observe({ ...labels, page }, value);
        vitals++;
      }
    }
    const exceptions = payload.exceptions ?? [];
    for (const e of exceptions) this.metrics.errors.inc({ ...labels, page, type: errorTypeLabel(e.type) });
    // One payload comes from one session (meta.session), so it starts at most one: a forged payload listing
    // a thousand session_start events counts once.
    const sessions = (payload.events ?? []).some((e) => e.name === 'session_start') ? 1 : 0;
    if (sessions > 0) this.metrics.sessions.inc(labels);
    this.metrics.payloads.inc(labels);
    return { vitals, errors: exceptions.length, sessions };
  }
}
