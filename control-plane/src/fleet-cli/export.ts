/** Today's fleet as files: what `plan` then reads back as no changes. */
import fs from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { SCHEMA_FILE } from './write-schema.ts';
import type { Current } from './state.ts';

type Obj = Record<string, unknown>;
const defined = (o: Obj): Obj =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== null));

export function exportFiles(cur: Current): Record<string, Obj> {
  const responderName = new Map(cur.responders.map((r) => [r.id, r.name]));
  const rotationName = new Map(cur.rotations.map((r) => [r.id, r.name]));
  const clientSlug = new Map(cur.clients.map((c) => [c.id, c.slug]));
  const clients = cur.clients
    .filter((c) => c.status === 'active')
    .map((c) =>
      defined({
        slug: c.slug,
        name: c.name,
        timeZone: c.timeZone,
        slaTarget: c.slaTarget,
        reportContacts: c.reportContacts,
        statusContacts: c.statusContacts.length
          ? c.statusContacts.map((s) => defined({ email: s.email, name: s.name, sms: s.sms }))
          : undefined,
        slaServices: c.slaServices,
        backupPolicy: cur.backupPolicies.get(c.slug),
      }),
    );
  const instances = cur.instances
    .filter((i) => i.status === 'active')
    .map((i) =>
      defined({
        client: i.client.slug,
        slug: i.slug,
        environment: i.environment,
        baseUrl: i.baseUrl,
        metricsUrl: i.metricsUrl,
        nodeExporterUrl: i.nodeExporterUrl,
        postgresExporterUrl: i.postgresExporterUrl,
        labels: Object.keys(i.labels).length ? i.labels : undefined,
        monitoredSince: i.monitoredSince,
        services: i.services,
      }),
    );
  const responders = cur.responders.map((r) =>
    defined({
      name: r.name,
      role: r.role,
      phone: r.phone,
      email: r.email,
      active: r.active ? undefined : false,
    }),
  );
  const rotations = cur.rotations.map((r) => ({
    name: r.name,
    timeZone: r.timeZone,
    handoff: r.handoff,
    handoffTime: r.handoffTime,
    startDate: r.startDate,
    members: r.members.map((id) => responderName.get(id) ?? id),
  }));
  const names = (ids: string[] | null, map: Map<string, string>) =>
    ids && ids.length ? ids.map((id) => map.get(id) ?? id) : undefined;
  const escalationPolicies = cur.policies.map((p) =>
    defined({
      name: p.name,
      client: p.clientId ? clientSlug.get(p.clientId) : undefined,
      severities: p.severities,
      repeatCount: p.repeatCount,
      repeatIntervalSeconds: p.repeatIntervalSeconds,
      autoResolve: p.autoResolve,
      hours: p.hours,
      levels: p.levels.map((l) =>
        defined({
          delaySeconds: l.delaySeconds,
          targets: defined({
            roles: l.targets.roles && l.targets.roles.length ? l.targets.roles : undefined,
            responders: names(l.targets.responders, responderName),
            rotations: names(l.targets.rotations, rotationName),
          }),
          channels: l.channels,
          hours: l.hours,
          offHoursChannels: l.offHoursChannels,
        }),
      ),
    }),
  );
  const maintenanceWindows = cur.windows.map((w) =>
    defined({
      ...(w.instance ? { instance: w.instance.slug } : { client: w.client.slug }),
      start: w.start,
      end: w.end,
      reason: w.reason,
      recurrence: w.recurrence,
    }),
  );
  return {
    'clients.yaml': { clients },
    'instances.yaml': { instances },
    'oncall.yaml': { responders, rotations },
    'escalation.yaml': { escalationPolicies },
    'maintenance.yaml': { maintenanceWindows },
  };
}

/** Writes the files into `dir` (created if need be), each naming the schema for editors; returns their paths. */
export function writeExport(dir: string, cur: Current): string[] {
  fs.mkdirSync(dir, { recursive: true });
  const schemaRef = path.relative(dir, SCHEMA_FILE).split(path.sep).join('/');
  return Object.entries(exportFiles(cur)).map(([name, content]) => {
    const file = path.join(dir, name);
    fs.writeFileSync(
      file,
      `# yaml-language-server: $schema=${schemaRef}\n${stringify(content, { lineWidth: 0 })}`,
    );
    return file;
  });
}
