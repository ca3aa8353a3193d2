import { clientBody, instanceBody } from '../control-plane.ts';
import type { AttackTarget } from './target.ts';

/** What the attack suites refer to of one tenant: in paths, queries and bodies. */
export interface Tenant {
  slug: string;
  clientId: string;
  instance: string;
  instanceId: string;
  incidentId: string;
  incidentCode: string;
  windowId: string;
  policyId: string;
  reportId: string;
  /** The tenant's monthly audit report (admins only). */
  auditReportId: string;
  month: string;
  clientTokenId: string;
  clientToken: string;
  faroKey: string;
  heartbeatId: string;
  /** The heartbeat's push token: the only credential of GET/POST /api/v1/push/{token}. */
  heartbeatToken: string;
  runId: string;
  /** Every id, slug, code and key the seeding answered for this tenant: none may reach another tenant. */
  secrets: string[];
}

export interface Fleet {
  a: Tenant;
  b: Tenant;
  responders: string[];
  rotationId: string;
  overrideId: string;
  /** A drill of the rotation and a drill schedule: staff-only things of no tenant. */
  drillId: string;
  drillScheduleId: string;
  /** A token nobody uses, for the revoke route. */
  spareTokenId: string;
}

/** The month the seeded reports are for (generated as sent on 2026-11-02). */
export const REPORT_MONTH = '2026-10';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- seeding reads whatever the API answered
async function ok<T = any>(t: AttackTarget, method: string, path: string, body?: unknown): Promise<T> {
  const r = await t.call(method, path, { body });
  if (r.status < 200 || r.status > 299) throw new Error(`seeding ${method} ${path}: ${r.status} ${r.text}`);
  return r.body as T;
}

/** Strings under identifying keys of an answer (ids, slugs, codes, keys), to look for in other answers. */
function identifiers(value: unknown, out: Set<string>): void {
  if (Array.isArray(value)) for (const v of value) identifiers(v, out);
  else if (value && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) {
      if (typeof v === 'string' && /^(id|slug|code|runId|testId|key|appKey|token)$/.test(k) && v.length >= 6)
        out.add(v);
      else identifiers(v, out);
    }
}

async function seedTenant(t: AttackTarget, slug: string, responders: string[]): Promise<Tenant> {
  const seen: unknown[] = [];
  const keep = <T>(v: T): T => (seen.push(v), v);
  const client = keep(await ok(t, 'POST', '/api/v1/clients', clientBody(slug)));
  const instance = keep(await ok(t, 'POST', '/api/v1/instances', instanceBody(slug, `${slug}-prod`)));
  const token = keep(
    await ok(t, 'POST', '/api/v1/tokens', { name: `${slug} portal`, role: 'client', client: slug }),
  );
  const policy = keep(
    await ok(t, 'POST', '/api/v1/escalation-policies', {
      name: `${slug} escalation`,
      client: slug,
      levels: [
        { delaySeconds: 0, targets: { roles: ['oncall-engineer'] }, channels: { warning: ['email'] } },
        { delaySeconds: 300, targets: { responders } },
      ],
    }),
  );
  const window = keep(
    await ok(t, 'POST', '/api/v1/maintenance-windows', {
      instance: `${slug}-prod`,
      start: '2026-10-10T02:00:00Z',
      end: '2026-10-10T03:00:00Z',
      reason: `${slug} database upgrade`,
    }),
  );
  keep(
    await ok(t, 'POST', '/api/v1/maintenance-windows', {
      client: slug,
      start: '2026-01-01T00:00:00Z',
      reason: `${slug} weekly patching`,
      recurrence: { freq: 'weekly', byDay: ['SU'], startTime: '03:00', durationMinutes: 60 },
    }),
  );
  keep(
    await ok(t, 'POST', '/api/v1/availability/intervals', {
      instance: `${slug}-prod`,
      service: 'backend',
      state: 'down',
      start: '2026-10-12T10:00:00Z',
      end: '2026-10-12T10:20:00Z',
      reason: `${slug} backend outage`,
    }),
  );
  const runId = `${slug}-run-0001`;
  keep(
    await ok(t, 'POST', '/api/v1/backups/runs', {
      runId,
      instance: `${slug}-prod`,
      tool: 'pg_dump',
      kind: 'full',
      startedAt: '2026-10-20T01:00:00Z',
      finishedAt: '2026-10-20T01:05:00Z',
      status: 'success',
      sizeBytes: 123456,
      checksum: 'sha256:' + 'ab'.repeat(32),
      location: `s3://backups/${slug}/2026-10-20.dump`,
    }),
  );
  keep(
    await ok(t, 'POST', '/api/v1/backups/restore-tests', {
      testId: `${slug}-restore-0001`,
      instance: `${slug}-prod`,
      backupRunId: runId,
      startedAt: '2026-10-21T01:00:00Z',
      finishedAt: '2026-10-21T01:10:00Z',
      success: true,
    }),
  );
  const incident = keep(
    await ok(t, 'POST', '/api/v1/incidents', {
      title: `${slug} backend down`,
      severity: 'warning',
      client: slug,
      instance: `${slug}-prod`,
      service: 'backend',
      summary: `${slug} internal: pool exhausted`,
      publicSummary: `${slug}: the assistant did not answer for 20 minutes`,
    }),
  );
  keep(
    await ok(t, 'POST', `/api/v1/incidents/${incident.id}/notes`, {
      text: `${slug} note`,
      visibility: 'public',
    }),
  );
  const faro = keep(await ok(t, 'POST', `/api/v1/instances/${instance.id}/faro-keys`, {}));
  const heartbeat = keep(
    await ok(t, 'POST', '/api/v1/heartbeats', {
      instance: `${slug}-prod`,
      name: 'nightly-export',
      intervalSeconds: 3600,
    }),
  );
  const found = new Set<string>([slug]);
  identifiers(seen, found);
  return {
    slug,
    clientId: client.id,
    instance: `${slug}-prod`,
    instanceId: instance.id,
    incidentId: incident.id,
    incidentCode: incident.code,
    windowId: window.id,
    policyId: policy.id,
    reportId: '',
    auditReportId: '',
    month: REPORT_MONTH,
    clientTokenId: token.id,
    clientToken: token.token,
    faroKey: faro.key ?? faro.appKey ?? '',
    heartbeatId: heartbeat.heartbeat.id,
    heartbeatToken: heartbeat.token,
    runId,
    secrets: [...found],
  };
}

/**
 * Two clients with everything a route can name: instance with services, policy, maintenance windows (one-off
 * and weekly), an outage, a backup run and restore test, an incident with a public note, a Faro key, and a
 * sent monthly report; plus responders, a rotation with an override. All through the API but the report, which
 * the monthly job writes.
 */
export async function seedFleet(t: AttackTarget, slugs: [string, string]): Promise<Fleet> {
  const responders: string[] = [];
  for (const [name, role, phone] of [
    ['Avery Oncall', 'oncall-engineer', '+15551230001'],
    ['Blake Lead', 'devops-lead', '+15551230002'],
  ] as const) {
    const r = await ok(t, 'POST', '/api/v1/responders', {
      name,
      role,
      phone,
      email: `${role}@ops.example.test`,
    });
    responders.push(r.id);
  }
  const rotation = await ok(t, 'POST', '/api/v1/rotations', {
    name: 'primary',
    timeZone: 'Europe/Berlin',
    handoff: 'weekly',
    handoffTime: '09:00',
    startDate: '2026-01-05',
    members: responders,
  });
  const override = await ok(t, 'POST', `/api/v1/rotations/${rotation.id}/overrides`, {
    responder: responders[1],
    // Overrides must lie ahead.
    start: new Date(Date.now() + 86_400_000).toISOString(),
    end: new Date(Date.now() + 2 * 86_400_000).toISOString(),
    reason: 'swap',
  });
  const drill = await ok(t, 'POST', '/api/v1/drills', { kind: 'rotation', rotation: rotation.id });
  const drillSchedule = await ok(t, 'POST', '/api/v1/drill-schedules', {
    name: 'monthly primary',
    kind: 'rotation',
    rotation: rotation.id,
    every: 'month',
    firstRunAt: new Date(Date.now() + 7 * 86_400_000).toISOString(),
  });
  const a = await seedTenant(t, slugs[0], responders);
  const b = await seedTenant(t, slugs[1], responders);
  const spare = await ok(t, 'POST', '/api/v1/tokens', { name: 'spare', role: 'operator' });
  await t.ctx.reports.runMonthly(new Date('2026-11-02T12:00:00Z'));
  const { rows } = await t.db.query<{ slug: string; id: string; status: string }>(
    'select c.slug, r.id, r.status from reports r join clients c on c.id = r.client_id',
  );
  for (const tenant of [a, b]) {
    const report = rows.find((r) => r.slug === tenant.slug);
    if (!report) throw new Error(`no report generated for ${tenant.slug}: ${JSON.stringify(rows)}`);
    tenant.reportId = report.id;
    tenant.secrets.push(report.id);
    const audit = await ok(t, 'POST', '/api/v1/audit/reports', { month: REPORT_MONTH, client: tenant.slug });
    tenant.auditReportId = audit.id;
    tenant.secrets.push(audit.id);
  }
  // Shared things (responders, rotation) are nobody's secret; drop them if an answer carried their ids.
  const shared = new Set([...responders, rotation.id, override.id, spare.id, drill.id, drillSchedule.id]);
  for (const [mine, other] of [
    [a, b],
    [b, a],
  ] as const)
    mine.secrets = mine.secrets.filter((s) => !shared.has(s) && !other.secrets.includes(s));
  return {
    a,
    b,
    responders,
    rotationId: rotation.id,
    overrideId: override.id,
    drillId: drill.id,
    drillScheduleId: drillSchedule.id,
    spareTokenId: spare.id,
  };
}
