import type { AuditService } from '../audit/service.ts';
import { withTx, type Pool } from '../db/pool.ts';
import type { Auth } from '../http/auth.ts';
import type { FleetService } from '../fleet/service.ts';
import type { SettingsInput } from './schemas.ts';
import * as store from './store.ts';
import { hashSecretHex, newSecret } from '../security/secrets.ts';

const sha256 = hashSecretHex;
/** 32 random bytes in base64url: 43 characters, 256 bits nobody can guess. */
const TOKEN = /^[A-Za-z0-9_-]{43}$/;

export interface StatusPageSettings {
  client: { id: string; slug: string };
  enabled: boolean;
  showName: boolean;
  /** Only in the answer that made the token: the table keeps its hash alone. */
  url: string | null;
  updatedAt: string | null;
}

/** The public page a token opens: whose, and whether it may name them. */
export interface PublicPage {
  clientId: string;
  showName: boolean;
}

/**
 * A client's optional public status page (off by default) behind an unguessable URL, as Uptime Kuma and
 * OpenStatus give: staff switch it on or off, choose whether it shows the client's name, and rotate its URL.
 * Only the token's SHA-256 is kept (as for calendar links), so the URL is shown once, when it is made.
 */
export class StatusPageService {
  constructor(
    private readonly pool: Pool,
    private readonly audit: AuditService,
    private readonly fleet: FleetService,
    private readonly publicUrl: string,
  ) {}

  async get(auth: Auth, clientIdOrSlug: string): Promise<StatusPageSettings> {
    const client = await this.fleet.getClient(auth, clientIdOrSlug);
    const row = await store.find(this.pool, client.id);
    return {
      client: { id: client.id, slug: client.slug },
      enabled: row?.enabled ?? false,
      showName: row?.show_name ?? false,
      url: null,
      updatedAt: row?.updated_at.toISOString() ?? null,
    };
  }

  /** Every active client's page settings (the console's list), in one query. */
  async list(auth: Auth): Promise<(StatusPageSettings & { name: string })[]> {
    const clients = await this.fleet.listClients(auth, 'active');
    const rows = new Map(
      (
        await store.listFor(
          this.pool,
          clients.map((c) => c.id),
        )
      ).map((r) => [r.client_id, r]),
    );
    return clients.map((c) => {
      const row = rows.get(c.id);
      return {
        client: { id: c.id, slug: c.slug },
        name: c.name,
        enabled: row?.enabled ?? false,
        showName: row?.show_name ?? false,
        url: null,
        updatedAt: row?.updated_at.toISOString() ?? null,
      };
    });
  }

  /** Switches the page on or off; the first call also makes its URL (shown in this answer only). */
  async set(
    auth: Auth,
    requestId: string,
    clientIdOrSlug: string,
    input: SettingsInput,
  ): Promise<StatusPageSettings> {
    const client = await this.fleet.getClient(auth, clientIdOrSlug);
    const token = newSecret();
    return withTx(this.pool, async (tx) => {
      const before = await store.find(tx, client.id);
      const showName = input.showName ?? before?.show_name ?? false;
      const { row, created } = await store.upsert(tx, client.id, sha256(token), input.enabled, showName);
      await this.audit.record(tx, auth, requestId, {
        action: 'client.status_page',
        targetType: 'client',
        targetId: client.id,
        before: before ? { enabled: before.enabled, showName: before.show_name } : null,
        // Never the token: whoever reads the audit log must not learn the URL.
        after: { enabled: row.enabled, showName: row.show_name, urlMade: created },
      });
      return this.view(client, row, created ? token : null);
    });
  }

  /** A new URL; the old one answers 404 from the moment this commits. */
  async rotate(auth: Auth, requestId: string, clientIdOrSlug: string): Promise<StatusPageSettings> {
    const client = await this.fleet.getClient(auth, clientIdOrSlug);
    const token = newSecret();
    return withTx(this.pool, async (tx) => {
      const row = await store.setToken(tx, client.id, sha256(token));
      await this.audit.record(tx, auth, requestId, {
        action: 'client.status_page_rotate',
        targetType: 'client',
        targetId: client.id,
        after: { enabled: row.enabled, showName: row.show_name, rotated: true },
      });
      return this.view(client, row, token);
    });
  }

  /** The enabled page a token opens, else undefined (unknown, rotated away and disabled look the same). */
  async open(token: string): Promise<PublicPage | undefined> {
    if (!TOKEN.test(token)) return undefined;
    const row = await store.byToken(this.pool, sha256(token));
    return row ? { clientId: row.client_id, showName: row.show_name } : undefined;
  }

  private view(
    client: { id: string; slug: string },
    row: store.DbStatusPage,
    token: string | null,
  ): StatusPageSettings {
    return {
      client: { id: client.id, slug: client.slug },
      enabled: row.enabled,
      showName: row.show_name,
      url: token ? `${this.publicUrl}/status/${token}` : null,
      updatedAt: row.updated_at.toISOString(),
    };
  }
}
