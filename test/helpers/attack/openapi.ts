import type { Fleet, Tenant } from './fleet.ts';

/* eslint-disable @typescript-eslint/no-explicit-any -- JSON Schemas and bodies are untyped JSON here */
export interface Operation {
  method: string;
  /** OpenAPI path, e.g. `/api/v1/clients/{id}`. */
  path: string;
  /** Undefined for public routes. */
  roles: string[] | undefined;
  query: { name: string; schema: any }[];
  body: any;
}

export function operations(doc: any): Operation[] {
  return Object.entries(doc.paths as Record<string, Record<string, any>>).flatMap(([path, ops]) =>
    Object.entries(ops).map(([method, op]) => ({
      method: method.toUpperCase(),
      path,
      roles: op['x-roles'],
      query: (op.parameters ?? []).filter((p: any) => p.in === 'query'),
      body: op.requestBody?.content?.['application/json']?.schema,
    })),
  );
}

export const key = (op: Pick<Operation, 'method' | 'path'>) => `${op.method} ${op.path}`;

/** Routes that remove or end what they name: run last, so that they do not take the seeded world away early. */
export const destroys = (op: Operation) => op.method === 'DELETE' || /\/(decommission|revoke)$/.test(op.path);

/** The value of each path parameter naming one of `t`'s things (shared things for the others). */
export function pathValues(fleet: Fleet, t: Tenant): Record<string, (path: string) => string> {
  const byPath = (path: string) => {
    if (path.startsWith('/api/v1/clients/')) return t.slug;
    if (path.startsWith('/api/v1/instances/')) return t.instance;
    if (path.startsWith('/api/v1/incidents/')) return t.incidentId;
    if (path.startsWith('/api/v1/rotations/')) return fleet.rotationId;
    if (path.startsWith('/api/v1/responders/')) return fleet.responders[0]!;
    if (path.startsWith('/api/v1/escalation-policies/')) return t.policyId;
    if (path.startsWith('/api/v1/maintenance-windows/')) return t.windowId;
    if (path.startsWith('/api/v1/tokens/')) return t.clientTokenId;
    if (path.startsWith('/api/v1/heartbeats/')) return t.heartbeatId;
    if (path.startsWith('/api/v1/drills/')) return fleet.drillId;
    if (path.startsWith('/api/v1/drill-schedules/')) return fleet.drillScheduleId;
    return t.clientId;
  };
  return {
    id: byPath,
    rid: () => t.reportId,
    arid: () => t.auditReportId,
    month: () => t.month,
    overrideId: () => fleet.overrideId,
    appKey: () => t.faroKey,
    token: () => t.heartbeatToken,
  };
}

export function realPath(fleet: Fleet, t: Tenant, path: string): string {
  const values = pathValues(fleet, t);
  return path.replace(/\{(\w+)\}/g, (_, name: string) => {
    const f = values[name];
    if (!f) throw new Error(`no value for {${name}} in ${path}: add it to pathValues in test/helpers/attack`);
    return encodeURIComponent(f(path));
  });
}

const PATTERN_CANDIDATES = [
  '09:00',
  'fuzz-1',
  'backend',
  'sha256:' + 'ab'.repeat(32),
  '+15551230009',
  'prober-1',
  'INC-000001',
];

/** A value the schema accepts, built from the schema alone (no route-specific knowledge). */
export function example(schema: any): any {
  if (!schema || typeof schema !== 'object') return {};
  if ('const' in schema) return schema.const;
  if (schema.enum) return schema.enum[0];
  const branch = schema.oneOf?.[0] ?? schema.anyOf?.[0];
  if (branch) {
    const merged = { ...schema, ...branch, properties: { ...schema.properties, ...branch.properties } };
    delete merged.oneOf;
    delete merged.anyOf;
    return example(merged);
  }
  const type = Array.isArray(schema.type) ? schema.type.find((x: string) => x !== 'null') : schema.type;
  switch (type ?? (schema.properties ? 'object' : undefined)) {
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const name of schema.required ?? []) out[name] = example(schema.properties?.[name]);
      return out;
    }
    case 'array':
      return Array.from({ length: Math.max(1, schema.minItems ?? 1) }, () => example(schema.items));
    case 'integer':
    case 'number':
      return Math.min(Math.max(schema.minimum ?? 1, 1), schema.maximum ?? 1);
    case 'boolean':
      return true;
    case 'string': {
      const formats: Record<string, string> = {
        'date-time': '2026-10-05T10:00:00Z',
        date: '2026-10-05',
        email: 'someone@example.test',
        uri: 'https://example.test/',
        uuid: '00000000-0000-4000-8000-000000000001',
        'iana-time-zone': 'Europe/Berlin',
      };
      if (schema.format && formats[schema.format]) return formats[schema.format];
      if (schema.pattern) {
        const re = new RegExp(schema.pattern);
        const hit = PATTERN_CANDIDATES.find((c) => re.test(c));
        if (hit) return hit;
      }
      return 'fuzz'.padEnd(schema.minLength ?? 1, 'z');
    }
    default:
      return {};
  }
}

/**
 * Valid bodies naming `t`'s things, for the routes whose schema alone cannot say which of them (references,
 * cross-field rules). Any other writing route gets `example(schema)`: a new route is attacked without an entry.
 */
export function validBodies(fleet: Fleet, t: Tenant): Record<string, unknown> {
  const future = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString();
  const level = { delaySeconds: 0, targets: { roles: ['oncall-engineer'] } };
  return {
    'POST /api/v1/alertmanager/webhook': {
      version: '4',
      receiver: 'control-plane',
      status: 'firing',
      groupKey: `{}:{client="${t.slug}"}`,
      truncatedAlerts: 0,
      groupLabels: {},
      commonLabels: {},
      commonAnnotations: {},
      externalURL: 'http://alertmanager.example.test',
      alerts: [
        {
          status: 'firing',
          labels: { alertname: 'ServiceDown', client: t.slug, instance: t.instance, severity: 'warning' },
          annotations: { summary: 'backend down' },
          startsAt: '2026-10-05T10:00:00Z',
          endsAt: '0001-01-01T00:00:00Z',
          generatorURL: 'http://prometheus.example.test',
          fingerprint: 'a1b2c3d4e5f60718',
        },
      ],
    },
    'POST /api/v1/incidents': {
      title: 'fuzzed',
      severity: 'info',
      client: t.slug,
      instance: t.instance,
      service: 'backend',
    },
    'POST /api/v1/incidents/{id}/reassign': { responder: fleet.responders[1] },
    'POST /api/v1/tokens': { name: 'fuzzed', role: 'client', client: t.slug },
    'POST /api/v1/clients': { slug: 'fuzzed-client', name: 'Fuzzed', timeZone: 'UTC' },
    'POST /api/v1/instances': {
      client: t.slug,
      slug: `${t.slug}-fuzz`,
      environment: 'prod',
      baseUrl: 'https://fuzz.example.test',
      monitoredSince: '2026-01-01T00:00:00Z',
      services: [
        { name: 'backend', kind: 'backend', probe: { type: 'http', url: 'https://fuzz.example.test/h' } },
      ],
    },
    'POST /api/v1/backups/runs': {
      runId: 'fuzz-run-1',
      instance: t.instance,
      tool: 'restic',
      kind: 'full',
      startedAt: '2026-10-22T01:00:00Z',
      finishedAt: '2026-10-22T01:05:00Z',
      status: 'success',
      location: 's3://backups/x',
    },
    'POST /api/v1/backups/restore-tests': {
      testId: 'fuzz-restore-1',
      instance: t.instance,
      backupRunId: t.runId,
      startedAt: '2026-10-23T01:00:00Z',
      finishedAt: '2026-10-23T01:10:00Z',
      success: true,
    },
    'POST /api/v1/availability/transitions': {
      prober: 'prober-1',
      transitions: [
        {
          id: '00000000-0000-4000-8000-00000000abcd',
          instanceId: t.instanceId,
          service: 'backend',
          state: 'down',
          at: '2026-10-25T10:00:00Z',
        },
      ],
    },
    'POST /api/v1/availability/intervals': {
      instance: t.instance,
      service: 'proxy',
      state: 'degraded',
      start: '2026-10-26T10:00:00Z',
      end: '2026-10-26T10:10:00Z',
      reason: 'fuzzed',
    },
    'POST /api/v1/maintenance-windows': {
      instance: t.instance,
      start: '2026-10-27T02:00:00Z',
      end: '2026-10-27T03:00:00Z',
      reason: 'fuzzed',
    },
    'POST /api/v1/rotations': {
      name: 'fuzzed',
      timeZone: 'America/New_York',
      handoff: 'daily',
      handoffTime: '08:00',
      startDate: '2026-10-01',
      members: fleet.responders,
    },
    'PATCH /api/v1/rotations/{id}': { members: fleet.responders },
    'POST /api/v1/rotations/{id}/overrides': {
      responder: fleet.responders[0],
      start: future(3),
      end: future(4),
    },
    'POST /api/v1/drills': { kind: 'rotation', rotation: fleet.rotationId },
    'POST /api/v1/drill-schedules': {
      name: 'fuzzed',
      kind: 'rotation',
      rotation: fleet.rotationId,
      every: 'week',
      firstRunAt: future(5),
    },
    'POST /api/v1/escalation-policies': { name: 'fuzzed', client: t.slug, levels: [level] },
    'PUT /api/v1/escalation-policies/{id}': { name: `${t.slug} escalation`, client: t.slug, levels: [level] },
    'PATCH /api/v1/reports/{rid}': { publicSummaries: { [t.incidentCode]: 'fuzzed summary' } },
    'POST /api/v1/clients/{id}/reports/{month}/corrections': { reason: 'fuzzed correction' },
    'POST /api/v1/instances/{id}/faro-keys': { allowedOrigins: ['https://fuzz.example.test'] },
  };
}

export function validBody(fleet: Fleet, t: Tenant, op: Operation): unknown {
  const given = validBodies(fleet, t)[key(op)];
  return given !== undefined ? structuredClone(given) : example(op.body);
}
