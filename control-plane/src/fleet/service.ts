import { randomBytes } from 'node:crypto';
import type { Pool, Queryable } from '../db/pool.ts';
import { withTx } from '../db/pool.ts';
import type { AuditService, Who } from '../audit/service.ts';
import { canSeeClient, type Auth } from '../http/auth.ts';
import { NotFoundError, ValidationError } from '../http/errors.ts';
import { checkProbes } from './probes.ts';
import * as store from './store.ts';
import type {
  Client,
  ClientInput,
  ClientPatch,
  Instance,
  InstanceInput,
  InstancePatch,
  ServiceSpec,
  StatusContact,
  StatusContactInput,
} from './types.ts';

function statusContactView(s: store.DbStatusContactJson): StatusContact {
  return {
    email: s.email,
    ...(s.name !== null ? { name: s.name } : {}),
    ...(s.sms !== null ? { sms: s.sms } : {}),
    unsubscribedAt: s.unsubscribed_at && new Date(s.unsubscribed_at).toISOString(),
  };
}

export function clientView(c: store.DbClient): Client {
  return {
    id: c.id,
    slug: c.slug,
    name: c.name,
    timeZone: c.time_zone,
    slaTarget: c.sla_target,
    reportContacts: c.report_contacts,
    statusContacts: c.status_contacts.map(statusContactView),
    slaServices: c.sla_services,
    status: c.status,
    decommissionedAt: c.decommissioned_at?.toISOString() ?? null,
    createdAt: c.created_at.toISOString(),
    updatedAt: c.updated_at.toISOString(),
  };
}

export function instanceView(i: store.DbInstance): Instance {
  return {
    id: i.id,
    client: { id: i.client_id, slug: i.client_slug },
    slug: i.slug,
    environment: i.environment,
    baseUrl: i.base_url,
    metricsUrl: i.metrics_url,
    nodeExporterUrl: i.node_exporter_url,
    postgresExporterUrl: i.postgres_exporter_url,
    labels: i.labels,
    services: i.services,
    status: i.status,
    decommissionedAt: i.decommissioned_at?.toISOString() ?? null,
    monitoredSince: i.monitored_since.toISOString(),
    createdAt: i.created_at.toISOString(),
    updatedAt: i.updated_at.toISOString(),
  };
}

/** Monitoring cannot have begun in the future. */
function checkMonitoredSince(at: string | undefined): void {
  if (at !== undefined && Date.parse(at) > Date.now())
    throw new ValidationError('monitoredSince is in the future', [
      { field: '/monitoredSince', message: 'must not be in the future' },
    ]);
}

function checkServiceNames(services: ServiceSpec[]): void {
  const seen = new Set<string>();
  services.forEach((s, i) => {
    if (seen.has(s.name))
      throw new ValidationError('service names must be unique within an instance', [
        {
          field: `/services/${i}/name`,
          message: `must differ from the other services' names (${s.name} is taken)`,
        },
      ]);
    seen.add(s.name);
  });
}

/** One contact per address (case aside): a second would get every update twice. 400 naming it, otherwise. */
function checkStatusContacts(contacts: StatusContactInput[] | undefined): void {
  const seen = new Set<string>();
  contacts?.forEach((c, i) => {
    const address = c.email.toLowerCase();
    if (seen.has(address))
      throw new ValidationError('status contacts must be unique by e-mail address', [
        { field: `/statusContacts/${i}/email`, message: `duplicate address ${c.email}` },
      ]);
    seen.add(address);
  });
}

/** A new contact's unsubscribe link secret: 32 random bytes, so that no one can guess another's link. */
const unsubscribeToken = () => randomBytes(32).toString('base64url');

async function writeStatusContacts(tx: Queryable, clientId: string, contacts: StatusContactInput[]) {
  await store.replaceStatusContacts(
    tx,
    clientId,
    contacts.map((c) => ({
      email: c.email,
      name: c.name ?? null,
      sms: c.sms ?? null,
      token: unsubscribeToken(),
    })),
  );
}

const statusFilter = (s: string | undefined) => (s === 'all' ? null : (s ?? 'active'));

/** An instance's place in the list order, as the `after` of the page that follows it. */
export const cursorOf = (i: Instance) => `${i.client.slug}/${i.slug}`;

export interface InstanceQuery {
  status?: string;
  client?: string;
  q?: string;
  after?: string;
  limit?: string;
}

/** The fleet registry: clients and their concierge instances, with the services each one runs. */
export class FleetService {
  constructor(
    private readonly pool: Pool,
    private readonly audit: AuditService,
  ) {}

  /** A client visible to `auth`, or 404: a foreign client's token never learns whether it exists. */
  async getClient(auth: Auth, idOrSlug: string): Promise<Client> {
    const c = await store.findClient(this.pool, idOrSlug);
    if (!c || !canSeeClient(auth, c.id)) throw new NotFoundError('client');
    return clientView(c);
  }

  async resolveClientId(idOrSlug: string): Promise<string | undefined> {
    return (await store.findClient(this.pool, idOrSlug))?.id;
  }

  async listClients(auth: Auth, status?: string): Promise<Client[]> {
    const rows = await store.listClients(this.pool, { status: statusFilter(status), onlyId: auth.clientId });
    return rows.filter((c) => canSeeClient(auth, c.id)).map(clientView);
  }

  async createClient(auth: Auth, requestId: string, input: ClientInput): Promise<Client> {
    checkStatusContacts(input.statusContacts);
    return withTx(this.pool, async (tx) => {
      const id = await store.insertClient(tx, {
        slug: input.slug,
        name: input.name,
        timeZone: input.timeZone,
        slaTarget: input.slaTarget,
        reportContacts: input.reportContacts ?? [],
        slaServices: input.slaServices ?? null,
      });
      if (input.statusContacts?.length) await writeStatusContacts(tx, id, input.statusContacts);
      const after = clientView((await store.findClient(tx, id))!);
      await this.audit.record(tx, auth, requestId, {
        action: 'client.create',
        targetType: 'client',
        targetId: id,
        after,
      });
      return after;
    });
  }

  async updateClient(auth: Auth, requestId: string, idOrSlug: string, patch: ClientPatch): Promise<Client> {
    checkStatusContacts(patch.statusContacts);
    return withTx(this.pool, async (tx) => {
      const cur = await store.findClient(tx, idOrSlug, true);
      if (!cur) throw new NotFoundError('client');
      const before = clientView(cur);
      await store.updateClient(tx, cur.id, {
        name: patch.name ?? cur.name,
        timeZone: patch.timeZone ?? cur.time_zone,
        slaTarget: patch.slaTarget ?? cur.sla_target,
        reportContacts: patch.reportContacts ?? cur.report_contacts,
        slaServices: patch.slaServices !== undefined ? patch.slaServices : cur.sla_services,
      });
      if (patch.statusContacts) await writeStatusContacts(tx, cur.id, patch.statusContacts);
      const after = clientView((await store.findClient(tx, cur.id))!);
      await this.audit.record(tx, auth, requestId, {
        action: 'client.update',
        targetType: 'client',
        targetId: cur.id,
        before,
        after,
      });
      return after;
    });
  }

  /** Stops monitoring a client and its instances; rows and history stay. */
  async decommissionClient(auth: Auth, requestId: string, idOrSlug: string): Promise<Client> {
    return withTx(this.pool, async (tx) => {
      const cur = await store.findClient(tx, idOrSlug, true);
      if (!cur) throw new NotFoundError('client');
      await store.decommissionClient(tx, cur.id);
      const row = (await store.findClient(tx, cur.id))!;
      const instances = await store.decommissionInstances(tx, { clientId: cur.id });
      await this.audit.record(tx, auth, requestId, {
        action: 'client.decommission',
        targetType: 'client',
        targetId: cur.id,
        before: clientView(cur),
        after: { ...clientView(row), instancesDecommissioned: instances },
      });
      return clientView(row);
    });
  }

  /**
   * Who an update to the client goes to now (listed, not unsubscribed; none once it is decommissioned), with
   * the client's name and time zone, read in the caller's transaction.
   */
  async statusAudience(db: Queryable, clientId: string) {
    const rows = await store.subscribedStatusContacts(db, clientId);
    return {
      clientName: rows[0]?.client_name ?? '',
      timeZone: rows[0]?.time_zone ?? 'UTC',
      contacts: rows.map((c) => ({ id: c.id, email: c.email, name: c.name, sms: c.sms })),
    };
  }

  /** The contact an unsubscribe link names, for its confirmation page; undefined for an unknown link. */
  async statusContactByToken(token: string) {
    const c = await store.statusContactByToken(this.pool, token);
    return c && { email: c.email, clientName: c.client_name, unsubscribed: c.unsubscribed_at !== null };
  }

  /**
   * The unsubscribe link used (`subscribed` false): the contact is sent nothing more (an update already queued
   * for it is not sent either); or its way back (true), which only the link's holder has. Audited under `who`
   * when it changes something; idempotent; undefined for an unknown link. `listed` says whether the provider
   * still lists the address (an unlisted one gets nothing even when subscribed).
   */
  async setStatusContactSubscribed(who: Who, requestId: string | null, token: string, subscribed: boolean) {
    return withTx(this.pool, async (tx) => {
      const c = await store.statusContactByToken(tx, token, true);
      if (!c) return undefined;
      if ((c.unsubscribed_at === null) !== subscribed) {
        await (subscribed ? store.resubscribeStatusContact : store.unsubscribeStatusContact)(tx, c.id);
        await this.audit.record(tx, who, requestId, {
          action: subscribed ? 'client.status_contact_resubscribe' : 'client.status_contact_unsubscribe',
          targetType: 'client',
          targetId: c.client_id,
          after: { email: c.email },
        });
      }
      return { email: c.email, clientName: c.client_name, listed: c.position !== null };
    });
  }

  async getInstance(auth: Auth, idOrSlug: string): Promise<Instance> {
    const i = await store.findInstance(this.pool, idOrSlug);
    if (!i || !canSeeClient(auth, i.client_id)) throw new NotFoundError('instance');
    return instanceView(i);
  }

  /**
   * Instances by client and instance slug, filtered; `limit` (with `after`, the last one's
   * `client/instance`) pages them, so a request's work is bounded by what it returns.
   */
  async listInstances(auth: Auth, f: InstanceQuery): Promise<Instance[]> {
    const filter = await this.instanceFilter(auth, f);
    const rows = await store.listInstances(this.pool, filter);
    return rows.filter((i) => canSeeClient(auth, i.client_id)).map(instanceView);
  }

  /** One page of instances, how many match in all, and the cursor of the next page (null on the last). */
  async pageInstances(
    auth: Auth,
    f: InstanceQuery & { limit: string },
  ): Promise<{ instances: Instance[]; total: number; next: string | null }> {
    const filter = await this.instanceFilter(auth, f);
    // One more than a page tells whether there is a next one.
    const [rows, total] = await Promise.all([
      store.listInstances(this.pool, { ...filter, limit: filter.limit! + 1 }),
      store.countInstances(this.pool, filter),
    ]);
    const page = rows.slice(0, filter.limit!).map(instanceView);
    const last = page[page.length - 1];
    return { instances: page, total, next: rows.length > page.length && last ? cursorOf(last) : null };
  }

  private async instanceFilter(auth: Auth, f: InstanceQuery): Promise<store.InstanceFilter> {
    let clientId = auth.clientId;
    if (f.client !== undefined) {
      const c = await store.findClient(this.pool, f.client);
      if (!c || !canSeeClient(auth, c.id)) throw new NotFoundError('client');
      clientId = c.id;
    }
    const after = f.after?.split('/');
    return {
      status: statusFilter(f.status),
      clientId,
      text: f.q?.trim() || null,
      after: after?.length === 2 ? [after[0]!, after[1]!] : null,
      limit: f.limit === undefined ? null : Number(f.limit),
    };
  }

  async listMonitored(): Promise<Instance[]> {
    return (await store.listMonitored(this.pool)).map(instanceView);
  }

  async createInstance(auth: Auth, requestId: string, input: InstanceInput): Promise<Instance> {
    checkServiceNames(input.services);
    checkProbes(input.services);
    checkMonitoredSince(input.monitoredSince);
    return withTx(this.pool, async (tx) => {
      const client = await store.findClient(tx, input.client);
      if (!client)
        throw new ValidationError('unknown client', [
          { field: '/client', message: 'must name a registered client' },
        ]);
      if (client.status !== 'active')
        throw new ValidationError('client is decommissioned', [
          { field: '/client', message: 'is decommissioned' },
        ]);
      const id = await store.insertInstance(tx, {
        clientId: client.id,
        slug: input.slug,
        environment: input.environment,
        baseUrl: input.baseUrl,
        metricsUrl: input.metricsUrl ?? null,
        nodeExporterUrl: input.nodeExporterUrl ?? null,
        postgresExporterUrl: input.postgresExporterUrl ?? null,
        labels: input.labels ?? {},
        monitoredSince: input.monitoredSince ?? null,
      });
      await store.replaceServices(tx, id, input.services);
      const after = instanceView((await store.findInstance(tx, id))!);
      await this.audit.record(tx, auth, requestId, {
        action: 'instance.create',
        targetType: 'instance',
        targetId: id,
        after,
      });
      return after;
    });
  }

  async updateInstance(
    auth: Auth,
    requestId: string,
    idOrSlug: string,
    patch: InstancePatch,
  ): Promise<Instance> {
    if (patch.services) {
      checkServiceNames(patch.services);
      checkProbes(patch.services);
    }
    checkMonitoredSince(patch.monitoredSince);
    return withTx(this.pool, async (tx) => {
      const cur = await store.findInstance(tx, idOrSlug, true);
      if (!cur) throw new NotFoundError('instance');
      await store.updateInstance(tx, cur.id, {
        environment: patch.environment ?? cur.environment,
        baseUrl: patch.baseUrl ?? cur.base_url,
        // Left out: kept; null: removed.
        metricsUrl: patch.metricsUrl === undefined ? cur.metrics_url : patch.metricsUrl,
        nodeExporterUrl: patch.nodeExporterUrl === undefined ? cur.node_exporter_url : patch.nodeExporterUrl,
        postgresExporterUrl:
          patch.postgresExporterUrl === undefined ? cur.postgres_exporter_url : patch.postgresExporterUrl,
        labels: patch.labels ?? cur.labels,
        monitoredSince: patch.monitoredSince ?? cur.monitored_since,
      });
      if (patch.services) await store.replaceServices(tx, cur.id, patch.services);
      const after = instanceView((await store.findInstance(tx, cur.id))!);
      await this.audit.record(tx, auth, requestId, {
        action: 'instance.update',
        targetType: 'instance',
        targetId: cur.id,
        before: instanceView(cur),
        after,
      });
      return after;
    });
  }

  async decommissionInstance(auth: Auth, requestId: string, idOrSlug: string): Promise<Instance> {
    return withTx(this.pool, async (tx) => {
      const cur = await store.findInstance(tx, idOrSlug, true);
      if (!cur) throw new NotFoundError('instance');
      await store.decommissionInstances(tx, { id: cur.id });
      const after = instanceView((await store.findInstance(tx, cur.id))!);
      await this.audit.record(tx, auth, requestId, {
        action: 'instance.decommission',
        targetType: 'instance',
        targetId: cur.id,
        before: instanceView(cur),
        after,
      });
      return after;
    });
  }
}
