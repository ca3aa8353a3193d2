/** What the control plane holds now, read through the API and put in the files' terms (names, not ids). */
import type { Client, Instance } from '../fleet/types.ts';
import type { ControlPlane } from './http.ts';

export interface Responder {
  id: string;
  name: string;
  role: string;
  phone: string | null;
  email: string | null;
  active: boolean;
}
export interface Rotation {
  id: string;
  name: string;
  timeZone: string;
  handoff: string;
  handoffTime: string;
  startDate: string;
  members: string[];
}
type Targets = { roles: string[] | null; responders: string[] | null; rotations: string[] | null };
export interface Policy {
  id: string;
  name: string;
  isDefault: boolean;
  clientId: string | null;
  severities: string[] | null;
  repeatCount: number | 'unlimited';
  repeatIntervalSeconds: number;
  autoResolve: boolean;
  hours: unknown;
  levels: {
    delaySeconds: number;
    targets: Targets;
    channels: unknown;
    hours: unknown;
    offHoursChannels: unknown;
  }[];
}
export interface Window {
  id: string;
  client: { id: string; slug: string };
  instance: { id: string; slug: string } | null;
  start: string;
  end: string | null;
  recurrence: unknown;
  reason: string;
}

export interface Current {
  clients: Client[];
  backupPolicies: Map<string, Record<string, number>>;
  instances: Instance[];
  responders: Responder[];
  rotations: Rotation[];
  policies: Policy[];
  windows: Window[];
}

/** Maintenance windows are listed by the occurrences they have in a range: a year ahead is the API's most. */
const YEAR_MS = 366 * 86_400_000;

export async function readCurrent(cp: ControlPlane, now = new Date()): Promise<Current> {
  const [clients, instances, responders, rotations, policies] = await Promise.all([
    cp.call<Client[]>('GET', '/api/v1/clients?status=all'),
    cp.call<Instance[]>('GET', '/api/v1/instances?status=all'),
    cp.call<Responder[]>('GET', '/api/v1/responders'),
    cp.call<Rotation[]>('GET', '/api/v1/rotations'),
    cp.call<Policy[]>('GET', '/api/v1/escalation-policies'),
  ]);
  const backupPolicies = new Map<string, Record<string, number>>();
  const windows: Window[] = [];
  const range = `from=${encodeURIComponent(now.toISOString())}&to=${encodeURIComponent(new Date(now.getTime() + YEAR_MS - 60_000).toISOString())}`;
  // One client at a time: an answer holds a bounded number of occurrences, and a client's windows fit in it.
  for (const c of clients.filter((x) => x.status === 'active')) {
    const status = await cp.call<{ policy: Record<string, number> }>(
      'GET',
      `/api/v1/clients/${c.id}/backups/status`,
    );
    backupPolicies.set(c.slug, status.policy);
    windows.push(...(await cp.call<Window[]>('GET', `/api/v1/maintenance-windows?client=${c.id}&${range}`)));
  }
  return { clients, backupPolicies, instances, responders, rotations, policies, windows };
}
