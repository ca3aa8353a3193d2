import type { Context } from '../context.ts';
import type { Auth } from '../http/auth.ts';
import type { Incident } from '../incidents/types.ts';

/** What a page may show at most: a clinic has a handful of instances and incidents; this bounds the work. */
export const MAX_INSTANCES = 50;
export const MAX_OPEN_INCIDENTS = 20;
export const MAX_MAINTENANCE = 20;
/** Scheduled maintenance shown ahead. */
const MAINTENANCE_DAYS = 30;

export type State = 'up' | 'degraded' | 'down' | 'maintenance';

export interface InstanceState {
  slug: string;
  environment: string;
  state: State;
  /** Since when it is down or degraded, or until when in maintenance. */
  since: string | null;
  until: string | null;
  /** Services down or degraded now (names only). */
  services: string[];
}

export interface PublicUpdate {
  at: string;
  text: string;
}

export interface OpenIncident {
  incident: Incident;
  updates: PublicUpdate[];
}

export interface MaintenanceItem {
  instance: string | null;
  start: string;
  end: string;
  reason: string;
}

export interface Overview {
  client: { id: string; slug: string; name: string; timeZone: string; slaTarget: number };
  instances: InstanceState[];
  incidents: OpenIncident[];
  maintenance: MaintenanceItem[];
}

/** An incident's public updates: the notes written for clients, never an internal one, oldest first. */
export async function publicUpdates(ctx: Context, auth: Auth, incidentId: string): Promise<PublicUpdate[]> {
  const timeline = await ctx.paging.incidents.timeline(auth, incidentId);
  return timeline
    .filter((e) => e.kind === 'note' && !e.internal && e.detail.visibility === 'public')
    .map((e) => ({ at: e.at, text: typeof e.detail.text === 'string' ? e.detail.text : '' }))
    .filter((u) => u.text !== '');
}

/**
 * One client's status now, read through the services with `auth` as the caller (a client user, or the status
 * page acting as its client), so the API's tenant rules and its client view (no internal summary, no
 * operator's name) apply. Queries are bounded by the caps above, whatever the history holds.
 */
export async function overview(ctx: Context, auth: Auth, clientId: string): Promise<Overview> {
  const now = new Date();
  const client = await ctx.fleet.getClient(auth, clientId);
  const [instances, open, acknowledged, windows] = await Promise.all([
    ctx.fleet.listInstances(auth, { client: client.id, status: 'active' }),
    ctx.paging.incidents.list(auth, { client: client.id, status: 'open', limit: String(MAX_OPEN_INCIDENTS) }),
    ctx.paging.incidents.list(auth, {
      client: client.id,
      status: 'acknowledged',
      limit: String(MAX_OPEN_INCIDENTS),
    }),
    ctx.maintenance.list(auth, {
      client: client.id,
      from: now.toISOString(),
      to: new Date(now.getTime() + MAINTENANCE_DAYS * 86_400_000).toISOString(),
    }),
  ]);
  const shown = instances.slice(0, MAX_INSTANCES);
  const maintenance: MaintenanceItem[] = windows
    .flatMap((w) =>
      w.occurrences.map((o) => ({
        instance: w.instance?.slug ?? null,
        start: o.start,
        end: o.end,
        reason: w.reason,
      })),
    )
    .sort((a, b) => a.start.localeCompare(b.start))
    .slice(0, MAX_MAINTENANCE);
  // Occurrences are clipped to [now, ...): one that starts at `now` is under way.
  const nowIso = now.toISOString();
  const ongoing = maintenance.filter((m) => m.start <= nowIso && m.end > nowIso);
  const states = await Promise.all(
    shown.map(async (i): Promise<InstanceState> => {
      const inMaintenance = ongoing.find((m) => m.instance === null || m.instance === i.slug);
      const { intervals } = await ctx.availability.listForInstance(auth, i.id, {
        from: new Date(now.getTime() - 60_000).toISOString(),
        to: nowIso,
      });
      const current = intervals.filter((v) => v.end === null);
      const down = current.filter((v) => v.state === 'down');
      const worst = down.length ? down : current;
      const state: State = inMaintenance
        ? 'maintenance'
        : down.length
          ? 'down'
          : current.length
            ? 'degraded'
            : 'up';
      return {
        slug: i.slug,
        environment: i.environment,
        state,
        since: state === 'down' || state === 'degraded' ? worst.map((v) => v.start).sort()[0]! : null,
        until: inMaintenance ? inMaintenance.end : null,
        services: [...new Set(worst.map((v) => v.service))].sort(),
      };
    }),
  );
  const incidents = [...open, ...acknowledged]
    .sort((a, b) => b.openedAt.localeCompare(a.openedAt))
    .slice(0, MAX_OPEN_INCIDENTS);
  const withUpdates = await Promise.all(
    incidents.map(async (incident) => ({
      incident,
      updates: await publicUpdates(ctx, auth, incident.id),
    })),
  );
  return {
    client: {
      id: client.id,
      slug: client.slug,
      name: client.name,
      timeZone: client.timeZone,
      slaTarget: client.slaTarget,
    },
    instances: states,
    incidents: withUpdates,
    maintenance,
  };
}
