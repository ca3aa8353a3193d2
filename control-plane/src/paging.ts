import type { Logger } from 'pino';
import { systemJob, type AuditService } from './audit/service.ts';
import type { Config } from './config.ts';
import type { Pool } from './db/pool.ts';
import { EscalationService } from './escalation/service.ts';
import type { FleetService } from './fleet/service.ts';
import { AlertIngest } from './incidents/ingest.ts';
import { IncidentService } from './incidents/service.ts';
import { queueLagSeconds } from './jobs/store.ts';
import { createWorkers, type Workers } from './jobs/workers.ts';
import { createPagingMetrics } from './metrics/paging.ts';
import type { Metrics } from './metrics/registry.ts';
import { createMailer, createTwilio } from './notify/providers.ts';
import { NotifyService } from './notify/service.ts';
import { StatusUpdateService } from './status-updates/service.ts';

/** The alert-to-page path: incidents, escalation, paging and the job runner that drives them. */
export interface Paging {
  readonly incidents: IncidentService;
  readonly ingest: AlertIngest;
  readonly escalation: EscalationService;
  readonly notify: NotifyService;
  /** Incident updates and maintenance reminders to clients' status contacts. */
  readonly statusUpdates: StatusUpdateService;
  /** main.ts (and the test helper) migrate and start these, and stop them on shutdown. */
  readonly workers: Workers;
}

/** The send job and the outbox sweep, as their timeline events and audit records name them. */
const PAGING = systemJob('paging');

export function createPaging(
  config: Config,
  log: Logger,
  pool: Pool,
  metrics: Metrics,
  audit: AuditService,
  fleet: FleetService,
): Paging {
  const c = config.paging;
  // The domains call each other (an escalation step records on the incident, an incident opening schedules
  // escalation): getters break the construction cycle.
  const m = createPagingMetrics(metrics.registry, () => ({
    openIncidents: () => incidents.openCounts(),
    heartbeatOk: async () => {
      const age = await ingest.heartbeatAge();
      return age === null || age <= c.deadmanSwitchSeconds;
    },
    heartbeatArmed: async () => (await ingest.heartbeatAge()) !== null,
    queueLagSeconds: () => queueLagSeconds(pool),
    pastTargets: () => incidents.pastTargets(),
  }));
  const notify: NotifyService = new NotifyService(
    pool,
    c,
    config.publicUrl,
    () => ({
      recordPaging: async (tx, id, event) => {
        const inc = (await incidents.findLocked(tx, id))!;
        await incidents.record(tx, inc, PAGING, null, event);
      },
      acknowledge: (actor, idOrCode, via) => incidents.acknowledge(actor, null, idOrCode, via),
    }),
    (phone: string) => escalation.responderByPhone(phone),
    { twilio: createTwilio(c), mail: createMailer(c) },
    m,
    log,
    audit,
  );
  const statusUpdates = new StatusUpdateService(
    pool,
    audit,
    fleet,
    { mail: createMailer(c), twilio: createTwilio(c) },
    {
      publicUrl: config.publicUrl,
      maxAttempts: c.sendMaxAttempts,
      reminderLeadMs: config.statusUpdates.maintenanceReminderSeconds * 1000,
    },
    log,
    metrics.registry,
  );
  const escalation: EscalationService = new EscalationService(
    pool,
    {
      findLocked: (tx, id) => incidents.findLocked(tx, id),
      jobAudit: (inc, who, kind, detail) => incidents.jobAudit(inc, who, kind, detail),
      auditCommitted: () => incidents.auditCommitted(),
    },
    notify,
    m.levelsReached,
    log,
  );
  const incidents: IncidentService = new IncidentService(
    pool,
    audit,
    fleet,
    {
      transaction: (fn) => notify.withOutbox(fn),
      opened: (tx, inc, configVersion) => escalation.opened(tx, inc, configVersion),
      openingPlan: (inc, now) => escalation.openingPlan(inc, now),
      openedWithPlan: (plan, sends) => {
        escalation.openedWithPlan(plan, sends.length);
        notify.sendCommitted(sends);
      },
      stopped: (tx, inc) => escalation.stopped(tx, inc),
      announce: async (tx, inc, kind) => {
        await statusUpdates.incidentChanged(
          tx,
          {
            id: inc.id,
            code: inc.code,
            clientId: inc.client_id,
            drill: inc.drill_id !== null,
            publicSummary: inc.public_summary,
            instance: inc.instance,
          },
          kind,
        );
      },
      autoResolves: (tx, inc) => escalation.autoResolves(tx, inc),
      reassign: (tx, inc, target, n) => escalation.reassign(tx, inc, target, n),
    },
    m,
    config.responseTargets,
  );
  const ingest = new AlertIngest(incidents);
  const workers = createWorkers(pool, c, log, { escalation, notify, ingest, audit });
  return { incidents, ingest, escalation, notify, statusUpdates, workers };
}
