/**
 * The difference between a fleet directory and the control plane: the changes `apply` would make, each with
 * where it comes from, and the problems that stop any change (references to nothing, duplicates, what the API
 * cannot do). Everything here is checked before `apply` writes anything.
 */
import { DEFAULT_CHANNELS } from '../escalation/service.ts';
import type { Desired, Item, Problem } from './files.ts';
import type { Place } from './files.ts';
import type { Kind } from './schema.ts';
import type { Current } from './state.ts';

export type Action = 'create' | 'update' | 'decommission' | 'delete' | 'deactivate';

/** Ids the apply learns as it goes: objects created earlier in the run are referred to by the later ones. */
export interface Ids {
  clients: Map<string, string>;
  responders: Map<string, string>;
  rotations: Map<string, string>;
}

/** One operation of POST /api/v1/fleet/batch: a route's operationId, its {id} and its body. */
export interface Call {
  operationId: string;
  id?: string;
  body?: unknown;
  /** Where the body sits in the file's object: a refusal's field is read below it. */
  prefix?: string;
}

export interface Change {
  kind: Kind;
  action: Action;
  key: string;
  place?: Place;
  /** What differs, `field: old -> new`, for an update. */
  detail: string[];
  /** The API calls, in order (a refusal's errors[].field is read below `prefix` in the file). */
  request: (ids: Ids) => Call[];
  /** The phase it runs in: references first, removals after what pointed at them is gone. */
  phase: number;
}

type Obj = Record<string, unknown>;

/** Deterministic JSON: key order does not count as a difference. */
export function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object')
    return `{${Object.keys(v)
      .filter((k) => (v as Obj)[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Obj)[k])}`)
      .join(',')}}`;
  return JSON.stringify(v);
}

function differences(before: Obj, after: Obj): string[] {
  return Object.keys(after)
    .filter((k) => canonical(before[k]) !== canonical(after[k]))
    .map((k) => `${k}: ${canonical(before[k])} -> ${canonical(after[k])}`);
}

const sortByName = (services: Obj[]) =>
  [...services].sort((a, b) => String(a.name).localeCompare(String(b.name)));

function byKey(items: Item[], key: (v: Obj) => string, what: string, problems: Problem[]): Map<string, Item> {
  const out = new Map<string, Item>();
  for (const it of items) {
    const k = key(it.value);
    const first = out.get(k);
    if (first)
      problems.push({ where: it.place.at(), message: `${what} ${k} is also defined at ${first.place.at()}` });
    else out.set(k, it);
  }
  return out;
}

export interface Plan {
  changes: Change[];
  problems: Problem[];
  notes: string[];
}

export function plan(desired: Desired, cur: Current, now = new Date()): Plan {
  const changes: Change[] = [];
  const problems: Problem[] = [];
  const notes: string[] = [];
  const add = (c: Omit<Change, 'detail'> & { detail?: string[] }) => changes.push({ detail: [], ...c });

  // --- clients
  const clients = byKey(desired.clients, (v) => String(v.slug), 'client', problems);
  const curClients = new Map(cur.clients.map((c) => [c.slug, c]));
  const clientSpec = (v: Obj) => ({
    name: v.name,
    timeZone: v.timeZone,
    slaTarget: v.slaTarget,
    reportContacts: v.reportContacts ?? [],
    // The files say who is listed; whether a contact unsubscribed is the contact's, not the files'.
    statusContacts: ((v.statusContacts ?? []) as Obj[]).map((c) => ({
      email: c.email,
      ...(c.name !== undefined ? { name: c.name } : {}),
      ...(c.sms !== undefined ? { sms: c.sms } : {}),
    })),
    slaServices: v.slaServices ?? null,
  });
  for (const [slug, it] of clients) {
    const want = clientSpec(it.value);
    const policy = it.value.backupPolicy as Obj | undefined;
    const have = curClients.get(slug);
    if (!have) {
      add({
        kind: 'clients',
        action: 'create',
        key: slug,
        place: it.place,
        phase: 1,
        request: () => [
          { operationId: 'createClient', body: { slug, ...want } },
          ...(policy && Object.keys(policy).length
            ? [{ operationId: 'updateClientBackupPolicy', id: slug, body: policy, prefix: '/backupPolicy' }]
            : []),
        ],
      });
      continue;
    }
    if (have.status !== 'active') {
      problems.push({
        where: it.place.at(['slug']),
        message: `client ${slug} is decommissioned; the API cannot bring it back (choose a new slug)`,
      });
      continue;
    }
    const detail = differences(clientSpec(have as unknown as Obj), want);
    const curPolicy = cur.backupPolicies.get(slug) ?? {};
    const policyDetail = policy ? differences(curPolicy, policy).map((d) => `backupPolicy.${d}`) : [];
    if (detail.length || policyDetail.length)
      add({
        kind: 'clients',
        action: 'update',
        key: slug,
        place: it.place,
        phase: 1,
        detail: [...detail, ...policyDetail],
        request: () => [
          ...(detail.length ? [{ operationId: 'updateClient', id: slug, body: want }] : []),
          ...(policyDetail.length
            ? [{ operationId: 'updateClientBackupPolicy', id: slug, body: policy, prefix: '/backupPolicy' }]
            : []),
        ],
      });
  }
  for (const c of cur.clients)
    if (c.status === 'active' && !clients.has(c.slug))
      add({
        kind: 'clients',
        action: 'decommission',
        key: c.slug,
        phase: 9,
        request: () => [{ operationId: 'decommissionClient', id: c.id }],
      });
  // The files are the whole fleet: what they leave out is removed, so a reference must be to something in them.
  const clientKnown = (slug: string) => clients.has(slug);

  // --- instances
  const instances = byKey(desired.instances, (v) => String(v.slug), 'instance', problems);
  const curInstances = new Map(cur.instances.map((i) => [i.slug, i]));
  // metricsUrl, the exporter URLs and monitoredSince left out of a file are not managed: a file that leaves one out
  // keeps what the API or the console set.
  const instanceSpec = (v: Obj, ref: Obj) => ({
    environment: v.environment,
    baseUrl: v.baseUrl,
    labels: v.labels ?? {},
    services: sortByName((v.services ?? []) as Obj[]),
    ...(ref.metricsUrl !== undefined ? { metricsUrl: v.metricsUrl ?? null } : {}),
    ...(ref.nodeExporterUrl !== undefined ? { nodeExporterUrl: v.nodeExporterUrl ?? null } : {}),
    ...(ref.postgresExporterUrl !== undefined ? { postgresExporterUrl: v.postgresExporterUrl ?? null } : {}),
    ...(ref.monitoredSince !== undefined
      ? { monitoredSince: new Date(String(v.monitoredSince)).toISOString() }
      : {}),
  });
  for (const [slug, it] of instances) {
    const v = it.value;
    const body = { ...v };
    delete body.client;
    delete body.slug;
    const have = curInstances.get(slug);
    if (!clientKnown(String(v.client))) {
      problems.push({
        where: it.place.at(['client']),
        message: `instance ${slug}: no client ${String(v.client)} in the files`,
      });
      continue;
    }
    if (!have) {
      add({
        kind: 'instances',
        action: 'create',
        key: slug,
        place: it.place,
        phase: 2,
        request: () => [{ operationId: 'createInstance', body: v }],
      });
      continue;
    }
    if (have.status !== 'active') {
      problems.push({
        where: it.place.at(['slug']),
        message: `instance ${slug} is decommissioned; the API cannot bring it back (choose a new slug)`,
      });
      continue;
    }
    if (have.client.slug !== v.client) {
      problems.push({
        where: it.place.at(['client']),
        message: `instance ${slug} belongs to client ${have.client.slug}; the API cannot move it to another client`,
      });
      continue;
    }
    const detail = differences(instanceSpec(have as unknown as Obj, v), instanceSpec(v, v));
    if (detail.length)
      add({
        kind: 'instances',
        action: 'update',
        key: slug,
        place: it.place,
        phase: 2,
        detail,
        request: () => [{ operationId: 'updateInstance', id: slug, body }],
      });
  }
  for (const i of cur.instances)
    if (i.status === 'active' && !instances.has(i.slug))
      add({
        kind: 'instances',
        action: 'decommission',
        key: i.slug,
        phase: 8,
        request: () => [{ operationId: 'decommissionInstance', id: i.id }],
      });

  // --- responders (by name: a name the control plane holds twice cannot be told apart)
  const responders = byKey(desired.responders, (v) => String(v.name), 'responder', problems);
  const curResponders = new Map<string, Current['responders'][number]>();
  for (const r of cur.responders) {
    if (curResponders.has(r.name) && responders.has(r.name))
      problems.push({
        where: responders.get(r.name)!.place.at(['name']),
        message: `the control plane has more than one responder named ${r.name}; rename one through the API first`,
      });
    curResponders.set(r.name, r);
  }
  const responderSpec = (v: Obj) => ({
    role: v.role,
    phone: v.phone ?? null,
    email: v.email ?? null,
    active: v.active ?? true,
  });
  for (const [name, it] of responders) {
    const want = responderSpec(it.value);
    const have = curResponders.get(name);
    if (!have) {
      add({
        kind: 'responders',
        action: 'create',
        key: name,
        place: it.place,
        phase: 3,
        request: () => [{ operationId: 'createResponder', body: { name, ...want } }],
      });
      continue;
    }
    const detail = differences(responderSpec(have as unknown as Obj), want).map((d) =>
      /^(phone|email):/.test(d) ? `${d.split(':')[0]!} (changed)` : d,
    );
    if (detail.length)
      add({
        kind: 'responders',
        action: 'update',
        key: name,
        place: it.place,
        phase: 3,
        detail,
        request: () => [{ operationId: 'updateResponder', id: have.id, body: want }],
      });
  }
  for (const r of cur.responders)
    if (r.active && !responders.has(r.name))
      add({
        kind: 'responders',
        action: 'deactivate',
        key: r.name,
        phase: 7,
        request: () => [{ operationId: 'updateResponder', id: r.id, body: { active: false } }],
      });
  const responderName = new Map(cur.responders.map((r) => [r.id, r.name]));
  const knownResponder = (n: string) => responders.has(n);

  // --- rotations
  const rotations = byKey(desired.rotations, (v) => String(v.name), 'rotation', problems);
  const curRotations = new Map(cur.rotations.map((r) => [r.name, r]));
  const rotationSpec = (v: Obj) => ({
    timeZone: v.timeZone,
    handoff: v.handoff,
    handoffTime: v.handoffTime,
    startDate: v.startDate,
    members: v.members,
  });
  for (const [name, it] of rotations) {
    const members = it.value.members as string[];
    const unknown = members.map((m, i) => [m, i] as const).filter(([m]) => !knownResponder(m));
    for (const [m, i] of unknown)
      problems.push({
        where: it.place.at(['members', i]),
        message: `rotation ${name}: no responder ${m} in the files`,
      });
    if (unknown.length) continue;
    const body = (ids: Ids) => ({ ...it.value, members: members.map((m) => ids.responders.get(m) ?? m) });
    const have = curRotations.get(name);
    if (!have) {
      add({
        kind: 'rotations',
        action: 'create',
        key: name,
        place: it.place,
        phase: 4,
        request: (ids) => [{ operationId: 'createRotation', body: body(ids) }],
      });
      continue;
    }
    const haveSpec = rotationSpec({
      ...have,
      members: have.members.map((id) => responderName.get(id) ?? id),
    });
    const detail = differences(haveSpec, rotationSpec(it.value));
    if (detail.length)
      add({
        kind: 'rotations',
        action: 'update',
        key: name,
        place: it.place,
        phase: 4,
        detail,
        request: (ids) => [{ operationId: 'updateRotation', id: have.id, body: body(ids) }],
      });
  }
  for (const r of cur.rotations)
    if (!rotations.has(r.name))
      add({
        kind: 'rotations',
        action: 'delete',
        key: r.name,
        phase: 6,
        request: () => [{ operationId: 'deleteRotation', id: r.id }],
      });
  const rotationName = new Map(cur.rotations.map((r) => [r.id, r.name]));
  const knownRotation = (n: string) => rotations.has(n);

  // --- escalation policies
  const policies = byKey(desired.escalationPolicies, (v) => String(v.name), 'escalation policy', problems);
  const curPolicies = new Map(cur.policies.map((p) => [p.name, p]));
  const clientSlug = new Map(cur.clients.map((c) => [c.id, c.slug]));
  const list = (a: unknown) => ((a as string[] | null | undefined) ?? []).slice().sort();
  const policySpec = (v: Obj) => ({
    client: v.client ?? null,
    severities: v.severities ? list(v.severities) : null,
    repeatCount: v.repeatCount ?? 0,
    repeatIntervalSeconds: v.repeatIntervalSeconds ?? 300,
    autoResolve: v.autoResolve ?? true,
    hours: v.hours ?? null,
    levels: ((v.levels ?? []) as Obj[]).map((l) => {
      const t = (l.targets ?? {}) as Obj;
      return {
        delaySeconds: l.delaySeconds,
        targets: { roles: list(t.roles), responders: list(t.responders), rotations: list(t.rotations) },
        channels: { ...DEFAULT_CHANNELS, ...(l.channels as Obj | undefined) },
        hours: l.hours ?? null,
        offHoursChannels: l.offHoursChannels ?? null,
      };
    }),
  });
  for (const [name, it] of policies) {
    const v = it.value;
    let bad = false;
    if (v.client !== undefined && !clientKnown(String(v.client))) {
      problems.push({
        where: it.place.at(['client']),
        message: `escalation policy ${name}: no client ${String(v.client)} in the files`,
      });
      bad = true;
    }
    ((v.levels ?? []) as Obj[]).forEach((l, li) => {
      const t = (l.targets ?? {}) as Record<string, string[] | undefined>;
      (t.responders ?? []).forEach((r, ri) => {
        if (knownResponder(r)) return;
        problems.push({
          where: it.place.at(['levels', li, 'targets', 'responders', ri]),
          message: `escalation policy ${name}: no responder ${r} in the files`,
        });
        bad = true;
      });
      (t.rotations ?? []).forEach((r, ri) => {
        if (knownRotation(r)) return;
        problems.push({
          where: it.place.at(['levels', li, 'targets', 'rotations', ri]),
          message: `escalation policy ${name}: no rotation ${r} in the files`,
        });
        bad = true;
      });
    });
    if (bad) continue;
    const body = (ids: Ids) => ({
      ...v,
      levels: ((v.levels ?? []) as Obj[]).map((l) => {
        const t = { ...(l.targets as Record<string, string[] | undefined>) };
        if (t.responders) t.responders = t.responders.map((r) => ids.responders.get(r) ?? r);
        if (t.rotations) t.rotations = t.rotations.map((r) => ids.rotations.get(r) ?? r);
        return { ...l, targets: t };
      }),
    });
    const have = curPolicies.get(name);
    if (!have) {
      add({
        kind: 'escalationPolicies',
        action: 'create',
        key: name,
        place: it.place,
        phase: 5,
        request: (ids) => [{ operationId: 'createEscalationPolicy', body: body(ids) }],
      });
      continue;
    }
    const haveSpec = policySpec({
      ...have,
      client: have.clientId ? clientSlug.get(have.clientId) : undefined,
      severities: have.severities ?? undefined,
      levels: have.levels.map((l) => ({
        ...l,
        targets: {
          roles: l.targets.roles,
          responders: (l.targets.responders ?? []).map((id) => responderName.get(id) ?? id),
          rotations: (l.targets.rotations ?? []).map((id) => rotationName.get(id) ?? id),
        },
      })),
    } as unknown as Obj);
    const detail = differences(haveSpec, policySpec(v));
    if (detail.length)
      add({
        kind: 'escalationPolicies',
        action: 'update',
        key: name,
        place: it.place,
        phase: 5,
        detail,
        request: (ids) => [{ operationId: 'replaceEscalationPolicy', id: have.id, body: body(ids) }],
      });
  }
  for (const p of cur.policies)
    if (!policies.has(p.name)) {
      if (p.isDefault) notes.push(`the default escalation policy ${p.name} is not in the files; it stays`);
      else
        add({
          kind: 'escalationPolicies',
          action: 'delete',
          key: p.name,
          phase: 5,
          request: () => [{ operationId: 'deleteEscalationPolicy', id: p.id }],
        });
    }

  // --- maintenance windows: no name, so a window is what it says; a changed one is deleted and added anew
  const windowKey = (w: Obj) =>
    canonical({
      ...(w.instance !== undefined ? { instance: w.instance } : { client: w.client }),
      start: new Date(String(w.start)).toISOString(),
      end: w.end ? new Date(String(w.end)).toISOString() : null,
      reason: w.reason,
      recurrence: w.recurrence ?? null,
    });
  const curWindows = new Map(
    cur.windows.map((w) => [
      windowKey({
        ...(w.instance ? { instance: w.instance.slug } : { client: w.client.slug }),
        start: w.start,
        end: w.end ?? undefined,
        reason: w.reason,
        recurrence: w.recurrence ?? undefined,
      }),
      w,
    ]),
  );
  const windows = new Map<string, Item>();
  for (const it of desired.maintenanceWindows) {
    const v = it.value;
    if ((v.client === undefined) === (v.instance === undefined)) {
      problems.push({
        where: it.place.at(),
        message: 'maintenance window: give exactly one of client or instance',
      });
      continue;
    }
    if (v.client !== undefined && !clientKnown(String(v.client))) {
      problems.push({
        where: it.place.at(['client']),
        message: `maintenance window: no client ${String(v.client)} in the files`,
      });
      continue;
    }
    if (v.instance !== undefined && !instances.has(String(v.instance))) {
      problems.push({
        where: it.place.at(['instance']),
        message: `maintenance window: no instance ${String(v.instance)} in the files`,
      });
      continue;
    }
    if (!v.recurrence && v.end !== undefined && Date.parse(String(v.end)) <= now.getTime()) {
      notes.push(`${it.place.at()}: the maintenance window ended at ${String(v.end)}; it is not applied`);
      continue;
    }
    const k = windowKey(v);
    if (windows.has(k)) {
      problems.push({
        where: it.place.at(),
        message: `the same maintenance window is also at ${windows.get(k)!.place.at()}`,
      });
      continue;
    }
    windows.set(k, it);
    if (!curWindows.has(k))
      add({
        kind: 'maintenanceWindows',
        action: 'create',
        key: `${String(v.client ?? v.instance)} ${String(v.start)} ${String(v.reason)}`,
        place: it.place,
        phase: 7,
        request: () => [{ operationId: 'createMaintenanceWindow', body: v }],
      });
  }
  for (const [k, w] of curWindows)
    if (!windows.has(k))
      add({
        kind: 'maintenanceWindows',
        action: 'delete',
        key: `${w.instance?.slug ?? w.client.slug} ${w.start} ${w.reason}`,
        phase: 7,
        request: () => [{ operationId: 'deleteMaintenanceWindow', id: w.id }],
      });

  changes.sort((a, b) => a.phase - b.phase);
  return { changes, problems, notes };
}
