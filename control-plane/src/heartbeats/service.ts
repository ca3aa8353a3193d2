import type { AuditService } from '../audit/service.ts';
import type { Pool } from '../db/pool.ts';
import { withTx } from '../db/pool.ts';
import type { FleetService } from '../fleet/service.ts';
import { actorName, type Auth } from '../http/auth.ts';
import { ConflictError, NotFoundError } from '../http/errors.ts';
import type { CreateInput, UpdateInput } from './schemas.ts';
import * as store from './store.ts';
import { hashSecret, newSecret } from '../security/secrets.ts';

export const PUSH_PATH = '/api/v1/push/:token';
const TOKEN_FORMAT = /^hb_[A-Za-z0-9_-]{43}$/;
const DEFAULT_GRACE = 300;

const hashToken = hashSecret;

export interface HeartbeatView {
  id: string;
  instance: { id: string; slug: string; client: string };
  name: string;
  intervalSeconds: number;
  graceSeconds: number;
  severity: 'critical' | 'warning';
  tokenPrefix: string;
  state: store.DbHeartbeat['state'];
  lastPushAt: string | null;
  lastStatus: 'up' | 'down' | null;
  createdBy: string;
  createdAt: string;
}

function view(h: store.DbHeartbeat): HeartbeatView {
  return {
    id: h.id,
    instance: { id: h.instance_id, slug: h.instance_slug, client: h.client_slug },
    name: h.name,
    intervalSeconds: h.interval_seconds,
    graceSeconds: h.grace_seconds,
    severity: h.severity,
    tokenPrefix: h.token_prefix,
    state: h.state,
    lastPushAt: h.last_push_at?.toISOString() ?? null,
    lastStatus: h.last_status,
    createdBy: h.created_by,
    createdAt: h.created_at.toISOString(),
  };
}

/** The state the change leaves, for the audit record: settings only, never the token or its hash. */
const settings = (h: HeartbeatView) => ({
  instance: h.instance.slug,
  name: h.name,
  intervalSeconds: h.intervalSeconds,
  graceSeconds: h.graceSeconds,
  severity: h.severity,
  tokenPrefix: h.tokenPrefix,
});

function newToken() {
  const token = newSecret('hb_');
  return { token, hash: hashToken(token), prefix: token.slice(0, 10) };
}

/**
 * Heartbeat (push) monitors, as Uptime Kuma's push monitors and healthchecks.io work: a job reports in on a secret
 * URL; no report within its interval and grace is an alert (HeartbeatMissing), never downtime of any SLA.
 */
export class HeartbeatService {
  constructor(
    private readonly pool: Pool,
    private readonly audit: AuditService,
    private readonly fleet: FleetService,
  ) {}

  async create(auth: Auth, requestId: string, input: CreateInput) {
    const instance = await this.fleet.getInstance(auth, input.instance);
    if (instance.status !== 'active') throw new ConflictError('the instance is decommissioned');
    const t = newToken();
    return withTx(this.pool, async (tx) => {
      const id = await store.insert(tx, {
        instanceId: instance.id,
        name: input.name,
        intervalSeconds: input.intervalSeconds,
        graceSeconds: input.graceSeconds ?? DEFAULT_GRACE,
        severity: input.severity ?? 'warning',
        hash: t.hash,
        prefix: t.prefix,
        createdBy: actorName(auth),
      });
      if (!id) throw new ConflictError(`the instance already has a heartbeat named ${input.name}`);
      const heartbeat = view((await store.find(tx, id))!);
      await this.audit.record(tx, auth, requestId, {
        action: 'heartbeat.create',
        targetType: 'instance',
        targetId: instance.id,
        after: settings(heartbeat),
      });
      return { heartbeat, token: t.token, pushPath: PUSH_PATH.replace(':token', t.token) };
    });
  }

  async list(auth: Auth, q: { instance?: string; limit?: string }): Promise<HeartbeatView[]> {
    const instance = q.instance ? await this.fleet.getInstance(auth, q.instance) : undefined;
    const limit = Math.min(Number(q.limit ?? 100), 1000);
    const rows = await store.list(this.pool, { clientId: auth.clientId, instanceId: instance?.id, limit });
    return rows.map(view);
  }

  async get(auth: Auth, id: string): Promise<HeartbeatView> {
    return view(await this.visible(this.pool, auth, id));
  }

  async update(auth: Auth, requestId: string, id: string, input: UpdateInput): Promise<HeartbeatView> {
    return withTx(this.pool, async (tx) => {
      const before = view(await this.visible(tx, auth, id, true));
      await store.update(tx, id, {
        intervalSeconds: input.intervalSeconds ?? before.intervalSeconds,
        graceSeconds: input.graceSeconds ?? before.graceSeconds,
        severity: input.severity ?? before.severity,
      });
      const after = view((await store.find(tx, id))!);
      await this.audit.record(tx, auth, requestId, {
        action: 'heartbeat.update',
        targetType: 'instance',
        targetId: after.instance.id,
        before: settings(before),
        after: settings(after),
      });
      return after;
    });
  }

  /** A new push URL; the old one stops at once. */
  async rotate(auth: Auth, requestId: string, id: string) {
    const t = newToken();
    return withTx(this.pool, async (tx) => {
      const before = view(await this.visible(tx, auth, id, true));
      await store.setToken(tx, id, t.hash, t.prefix);
      const heartbeat = view((await store.find(tx, id))!);
      await this.audit.record(tx, auth, requestId, {
        action: 'heartbeat.rotate',
        targetType: 'instance',
        targetId: heartbeat.instance.id,
        before: settings(before),
        after: settings(heartbeat),
      });
      return { heartbeat, token: t.token, pushPath: PUSH_PATH.replace(':token', t.token) };
    });
  }

  async remove(auth: Auth, requestId: string, id: string): Promise<void> {
    await withTx(this.pool, async (tx) => {
      const before = view(await this.visible(tx, auth, id, true));
      await store.remove(tx, id);
      await this.audit.record(tx, auth, requestId, {
        action: 'heartbeat.delete',
        targetType: 'instance',
        targetId: before.instance.id,
        before: settings(before),
      });
    });
  }

  /** A job reports in. False for a token no active heartbeat holds (the caller answers 404, nothing more). */
  async push(token: string, status: 'up' | 'down'): Promise<boolean> {
    if (!TOKEN_FORMAT.test(token)) return false;
    return store.push(this.pool, hashToken(token), status);
  }

  /** Every active heartbeat with its state, for /metrics. */
  listActive(): Promise<store.DbHeartbeat[]> {
    return store.listActive(this.pool);
  }

  private async visible(db: Pool | Parameters<typeof store.find>[0], auth: Auth, id: string, lock = false) {
    const h = await store.find(db, id, lock);
    if (!h || (auth.clientId !== null && auth.clientId !== h.client_id)) throw new NotFoundError('heartbeat');
    return h;
  }
}
