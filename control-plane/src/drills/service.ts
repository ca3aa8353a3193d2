import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { actorOf, actingAs, systemJob, type AuditService, type Who } from '../audit/service.ts';
import { UUID, withTx, type Pool } from '../db/pool.ts';
import type { FleetService } from '../fleet/service.ts';
import type { Auth } from '../http/auth.ts';
import { NotFoundError, ValidationError } from '../http/errors.ts';
import { parseLimit, parseTime } from '../http/range.ts';
import type { AlertIngest } from '../incidents/ingest.ts';
import type { IncidentService } from '../incidents/service.ts';
import type { NotifyService } from '../notify/service.ts';
import type { PolicyService } from '../escalation/policies.ts';
import type { OnCallService } from '../oncall/service.ts';
import { errorMessage } from '@concierge-ops/shared/errors';
import type { AlertSender } from './alertmanager.ts';
import { drillReport, drillSummary } from './report.ts';
import { MAX_LIST_LIMIT, type DrillTarget, type ListQuery, type ScheduleInput } from './schemas.ts';
import * as store from './store.ts';

/** How long Alertmanager keeps a drill's alert firing unless re-sent: it expires by itself, like a dead sender's. */
const ALERT_LIFETIME_MS = 3600_000;
/** What a drill's alert is called: its own group, never merged with a real outage of the instance. */
export const DRILL_ALERTNAME = 'ConciergeDrill';
/** The scheduler acts as this job; fleet look-ups take the staff view (it may drill any client's instance). */
const SCHEDULER = systemJob('drill-schedule');
const SYSTEM: Auth = { tokenId: '00000000-drills', name: 'drills', role: 'admin', clientId: null };

export interface DrillDeps {
  pool: Pool;
  audit: AuditService;
  fleet: FleetService;
  policies: PolicyService;
  oncall: OnCallService;
  incidents: IncidentService;
  ingest: AlertIngest;
  notify: NotifyService;
  /** Set when ALERTMANAGER_URL is: instance drills travel through it. */
  alertmanager: AlertSender | undefined;
  log: Logger;
}

const bad = (field: string, message: string) => new ValidationError('drill is invalid', [{ field, message }]);

/**
 * Failure drills: a synthetic failure sent down the real paging path, whose report is read back from the
 * incident it opened and that incident's pages. Drills' incidents are staff only and count in no SLA or report.
 */
export class DrillService {
  constructor(private readonly d: DrillDeps) {}

  /** The drill's target, checked: the field its kind needs (400 naming it), and that it exists. */
  private async target(t: DrillTarget): Promise<store.Target> {
    const severity = t.severity ?? 'warning';
    const base = { instanceId: null, clientId: null, policyId: null, rotationId: null, severity };
    const field = t.kind;
    const ref = t[field];
    if (ref === undefined) throw bad(`/${field}`, `is required for a drill of kind ${field}`);
    for (const other of ['instance', 'policy', 'rotation'] as const)
      if (other !== field && t[other] !== undefined)
        throw bad(`/${other}`, `is not taken by a drill of kind ${field}`);
    if (t.kind === 'instance') {
      const i = await this.d.fleet.getInstance(SYSTEM, ref).catch(() => undefined);
      if (!i || i.status !== 'active') throw bad('/instance', 'no such active instance');
      return { ...base, kind: 'instance', instanceId: i.id, clientId: i.client.id, name: i.slug };
    }
    if (t.kind === 'policy') {
      const p = (await this.d.policies.list()).find((x) => x.id === ref || x.name === ref);
      if (!p) throw bad('/policy', 'no such escalation policy');
      return { ...base, kind: 'policy', policyId: p.id, name: p.name };
    }
    const r = await this.d.oncall.getRotation(ref).catch(() => undefined);
    if (!r) throw bad('/rotation', 'no such rotation');
    return { ...base, kind: 'rotation', rotationId: r.id, name: r.name };
  }

  /** Starts a drill now (audited as `drill.started`, with who started it) and returns its report. */
  async start(auth: Auth, requestId: string, input: DrillTarget) {
    return this.run(await this.target(input), auth, requestId, null);
  }

  private async run(t: store.Target, by: Auth | null, requestId: string | null, scheduleId: string | null) {
    const who: Who = by ?? SCHEDULER;
    const via = t.kind !== 'instance' ? 'escalation' : this.d.alertmanager ? 'alertmanager' : 'direct';
    const drill = await withTx(this.d.pool, async (tx) => {
      const row = await store.insertDrill(tx, t, { via, scheduleId, startedBy: actorOf(who) });
      await this.d.audit.record(tx, who, requestId, {
        action: 'drill.started',
        targetType: 'drill',
        targetId: row.id,
        after: { kind: t.kind, target: t.name, severity: t.severity, via, scheduleId },
      });
      return row;
    });
    try {
      await this.inject(drill, t, by ?? SYSTEM, requestId);
    } catch (err) {
      const error = errorMessage(err);
      this.d.log.warn({ drill: drill.id, err: error }, 'drill could not be started');
      await store.setError(this.d.pool, drill.id, error);
    }
    return this.report(drill.id);
  }

  /** Sends the synthetic failure: the instance's alert, or the escalation drill's incident. */
  private async inject(drill: store.DbDrill, t: store.Target, auth: Auth, requestId: string | null) {
    const summary = `Failure drill of ${t.kind} ${t.name}: not a real failure. Acknowledge it as a real page.`;
    if (t.kind !== 'instance') {
      await this.d.incidents.openDrill(actingAs('drill', auth), requestId, {
        drillId: drill.id,
        severity: t.severity,
        title: `DRILL: ${t.kind} ${t.name}`.slice(0, 200),
        summary,
        policyId: t.policyId,
        rotationId: t.rotationId,
      });
      return;
    }
    const client = (await this.d.fleet.getInstance(SYSTEM, t.instanceId!)).client.slug;
    const labels = {
      alertname: DRILL_ALERTNAME,
      client,
      instance: t.name,
      severity: t.severity,
      drill: drill.id,
    };
    const annotations = { summary };
    const startsAt = drill.started_at.toISOString();
    if (this.d.alertmanager) {
      const endsAt = new Date(drill.started_at.getTime() + ALERT_LIFETIME_MS).toISOString();
      await this.d.alertmanager.post({ labels, annotations, startsAt, endsAt });
      return;
    }
    // No Alertmanager configured: the same delivery it would make, into the webhook's own handling.
    await this.d.ingest.ingest(
      {
        version: '4',
        receiver: 'control-plane',
        status: 'firing',
        groupKey: `{}:{alertname="${DRILL_ALERTNAME}", drill="${drill.id}"}`,
        groupLabels: { alertname: DRILL_ALERTNAME, client, instance: t.name },
        commonLabels: labels,
        commonAnnotations: annotations,
        alerts: [
          {
            status: 'firing',
            labels,
            annotations,
            startsAt,
            endsAt: '0001-01-01T00:00:00Z',
            fingerprint: createHash('sha256').update(drill.id).digest('hex').slice(0, 16),
          },
        ],
      },
      { auth, requestId },
    );
  }

  async report(id: string) {
    const drill = UUID.test(id) ? await store.find(this.d.pool, id) : undefined;
    if (!drill) throw new NotFoundError('drill');
    const inc = (await this.d.incidents.ofDrills([id])).get(id);
    const [pages, timeline] = inc
      ? await Promise.all([this.d.notify.pageOutcomes(inc.id), this.d.incidents.drillTimeline(inc.id)])
      : [[], []];
    return drillReport(drill, inc, pages, timeline);
  }

  /** Newest first, a page of at most `limit` (1..100); `before` pages on. */
  async list(q: ListQuery, since?: Date) {
    const rows = await store.list(this.d.pool, {
      before: q.before === undefined ? null : parseTime(q.before, '/before').toISOString(),
      since: since?.toISOString() ?? null,
      limit: parseLimit(q.limit, MAX_LIST_LIMIT, 50),
    });
    const incidents = await this.d.incidents.ofDrills(rows.map((r) => r.id));
    return { drills: rows.map((r) => drillSummary(r, incidents.get(r.id))) };
  }

  /** The morning report's list: drills started since `since` (at most 100), each with its figures. */
  async recent(since: Date) {
    const { drills } = await this.list({ limit: String(MAX_LIST_LIMIT) }, since);
    return Promise.all(
      drills.map(async (s) => {
        const r = await this.report(s.id);
        return {
          id: s.id,
          kind: s.kind,
          target: (s.instance ?? s.policy ?? s.rotation)?.name ?? '-',
          status: s.status,
          startedAt: s.times.startedAt,
          startedBy: s.startedBy,
          incident: s.incident,
          toFirstPageSeconds: s.seconds.toFirstPage,
          toAcknowledgeSeconds: s.seconds.toAcknowledge,
          acknowledgedBy: s.acknowledgedBy,
          unreachable: r.unreachable.map((u) => `${u.responder} (level ${u.level}: ${u.reason})`),
          error: s.error,
        };
      }),
    );
  }

  async createSchedule(auth: Auth, requestId: string, input: ScheduleInput) {
    const t = await this.target(input);
    const first = new Date(input.firstRunAt);
    if (Number.isNaN(first.getTime()) || first.getFullYear() > 9999)
      throw bad('/firstRunAt', 'must be a date-time');
    const row = await withTx(this.d.pool, async (tx) => {
      const s = await store.insertSchedule(tx, t, {
        name: input.name,
        every: input.every,
        count: input.count ?? 1,
        firstRunAt: first.toISOString(),
        createdBy: actorOf(auth),
      });
      if (!s) throw bad('/name', 'another drill schedule has this name');
      await this.d.audit.record(tx, auth, requestId, {
        action: 'drill_schedule.created',
        targetType: 'drill_schedule',
        targetId: s.id,
        after: {
          name: s.name,
          kind: s.kind,
          target: s.target_name,
          every: s.every_unit,
          count: s.every_count,
        },
      });
      return s;
    });
    return scheduleView(row);
  }

  async listSchedules() {
    return { schedules: (await store.listSchedules(this.d.pool, 1000)).map(scheduleView) };
  }

  async removeSchedule(auth: Auth, requestId: string, id: string) {
    await withTx(this.d.pool, async (tx) => {
      const s = UUID.test(id) ? await store.deleteSchedule(tx, id) : undefined;
      if (!s) throw new NotFoundError('drill schedule');
      await this.d.audit.record(tx, auth, requestId, {
        action: 'drill_schedule.deleted',
        targetType: 'drill_schedule',
        targetId: s.id,
        before: { name: s.name, kind: s.kind, target: s.target_name },
      });
    });
  }

  /** The scheduler's tick: starts the drills now due, each once whichever replica ticks. */
  async runDue(max = 20): Promise<number> {
    const due = await store.claimDue(this.d.pool, max);
    for (const s of due) {
      const target: store.Target = {
        kind: s.kind,
        instanceId: s.instance_id,
        clientId: null,
        policyId: s.policy_id,
        rotationId: s.rotation_id,
        name: s.target_name,
        severity: s.severity,
      };
      if (s.instance_id) {
        const i = await this.d.fleet.getInstance(SYSTEM, s.instance_id).catch(() => undefined);
        target.clientId = i?.client.id ?? null;
        if (i) target.name = i.slug;
      }
      await this.run(target, null, null, s.id);
    }
    return due.length;
  }
}

function scheduleView(s: store.DbSchedule) {
  const ref = (id: string | null) => (id ? { id, name: s.target_name } : null);
  return {
    id: s.id,
    name: s.name,
    kind: s.kind,
    instance: s.kind === 'instance' ? ref(s.instance_id) : null,
    policy: s.kind === 'policy' ? ref(s.policy_id) : null,
    rotation: s.kind === 'rotation' ? ref(s.rotation_id) : null,
    severity: s.severity,
    every: s.every_unit,
    count: s.every_count,
    nextRunAt: s.next_run_at.toISOString(),
    createdBy: s.created_by,
  };
}
