import type { DnsRecordType } from '@concierge-ops/shared/probes';
import type { SERVICE_KINDS } from './schemas.ts';

export type ServiceKind = (typeof SERVICE_KINDS)[number];
export interface HttpProbe {
  type: 'http';
  url: string;
  expectStatus: number;
  timeoutMs: number;
  healthJson: boolean;
  bodyRegex?: string;
  bodyJson?: { path: string; equals: string | number | boolean | null };
  tlsExpiry?: { warningDays: number; criticalDays: number };
}
export interface DnsProbe {
  type: 'dns';
  name: string;
  recordType: DnsRecordType;
  server?: string;
  expect?: string;
  timeoutMs: number;
}
export type Probe = HttpProbe | { type: 'tcp'; host: string; port: number; timeoutMs: number } | DnsProbe;

export interface ServiceSpec {
  name: string;
  kind: ServiceKind;
  probe: Probe;
}

/** A clinic's person told of incidents and maintenance, as a request gives it. */
export interface StatusContactInput {
  email: string;
  name?: string;
  sms?: string;
}

export interface StatusContact extends StatusContactInput {
  /** Set once the contact used its unsubscribe link: it is sent nothing more. */
  unsubscribedAt: string | null;
}

export interface Client {
  id: string;
  slug: string;
  name: string;
  timeZone: string;
  slaTarget: number;
  reportContacts: string[];
  statusContacts: StatusContact[];
  slaServices: string[] | null;
  status: 'active' | 'decommissioned';
  decommissionedAt: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface Instance {
  id: string;
  client: { id: string; slug: string };
  slug: string;
  environment: string;
  baseUrl: string;
  metricsUrl: string | null;
  /** The instance host's node_exporter endpoint (job="node"). */
  nodeExporterUrl: string | null;
  /** The instance database's postgres_exporter endpoint (job="postgres"). */
  postgresExporterUrl: string | null;
  labels: Record<string, string>;
  services: ServiceSpec[];
  status: 'active' | 'decommissioned';
  decommissionedAt: string | null;
  /** When monitoring began: the instance's SLA period starts here (default: registration). */
  monitoredSince: string;
  createdAt: string;
  updatedAt: string;
}

export interface ClientInput {
  slug: string;
  name: string;
  timeZone: string;
  slaTarget: number;
  reportContacts?: string[];
  statusContacts?: StatusContactInput[];
  slaServices?: string[] | null;
}
export type ClientPatch = Partial<Omit<ClientInput, 'slug'>>;

export interface InstanceInput {
  client: string;
  slug: string;
  environment: string;
  baseUrl: string;
  metricsUrl?: string;
  nodeExporterUrl?: string;
  postgresExporterUrl?: string;
  labels?: Record<string, string>;
  monitoredSince?: string;
  services: ServiceSpec[];
}
/** A PATCH: what it leaves out stays; a null endpoint is removed. */
export type InstancePatch = Partial<
  Omit<InstanceInput, 'client' | 'slug' | 'metricsUrl' | 'nodeExporterUrl' | 'postgresExporterUrl'>
> & {
  metricsUrl?: string | null;
  nodeExporterUrl?: string | null;
  postgresExporterUrl?: string | null;
};
