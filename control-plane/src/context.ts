import type { Logger } from 'pino';
import type { Config } from './config.ts';
import type { Pool } from './db/pool.ts';
import { AuditService } from './audit/service.ts';
import {
  registerAuditJobs,
  registerAuditReportJobs,
  registerAuditRetentionJob,
  registerAuditVerifyJob,
} from './audit/jobs.ts';
import { AuditRetention } from './audit/retention.ts';
import { AuditReportService } from './audit/report-service.ts';
import { checkpointSetup } from './audit/keys.ts';
import { registerAuditMetrics } from './audit/metrics.ts';
import { AuditWatch } from './audit/watch.ts';
import { SecurityWatch } from './security/service.ts';
import { BackupService } from './backups/service.ts';
import { registerBackupMetrics } from './backups/metrics.ts';
import { registerHeartbeatMetrics } from './heartbeats/metrics.ts';
import { HeartbeatService } from './heartbeats/service.ts';
import { FleetService } from './fleet/service.ts';
import { FleetBatchService } from './fleet-batch/service.ts';
import { createMetrics, type Metrics } from './metrics/registry.ts';
import { TokenService } from './tokens/service.ts';
import { createPaging, type Paging } from './paging.ts';
import { HistoryImport } from './availability/history.ts';
import { CreditDecisions } from './sla/decisions.ts';
import { AvailabilityService } from './availability/service.ts';
import { MaintenanceService } from './maintenance/service.ts';
import { AlertmanagerClient, SilenceSync } from './maintenance/silences.ts';
import { SlaService } from './sla/service.ts';
import { registerSlaMetrics } from './sla/metrics.ts';
import { FaroService } from './faro/service.ts';
import { createFaroMetrics } from './faro/metrics.ts';
import { ReportService } from './reports/service.ts';
import { PrometheusPerformance } from './reports/performance.ts';
import { PrometheusCapacity } from './reports/capacity.ts';
import { registerReportJobs } from './reports/jobs.ts';
import { createMailer } from './notify/providers.ts';
import { OpsService } from './ops/service.ts';
import { CalendarService } from './oncall/calendar.ts';
import { OnCallService } from './oncall/service.ts';
import { PolicyService } from './escalation/policies.ts';
import { registerOpsJobs } from './ops/jobs.ts';
import { DrillService } from './drills/service.ts';
import { alertmanagerSender } from './drills/alertmanager.ts';
import { registerDrillJobs } from './drills/jobs.ts';
import { UserService } from './users/service.ts';
import { registerUserMailJob } from './users/jobs.ts';
import { LiveIncidents } from './console/live.ts';
import { StatusPageService } from './status-pages/service.ts';
import { registerStatusUpdateJobs } from './status-updates/jobs.ts';

/** Every service of the control plane, wired once per process (or per test) and passed down. */
export interface Context {
  readonly config: Config;
  readonly log: Logger;
  readonly pool: Pool;
  readonly metrics: Metrics;
  readonly audit: AuditService;
  readonly fleet: FleetService;
  readonly tokens: TokenService;
  /** Incidents, escalation and paging; main.ts starts and stops its workers. */
  readonly paging: Paging;
  /** Responders, on-call rotations and overrides. */
  readonly oncall: OnCallService;
  /** On-call schedules as iCalendar behind secret links. */
  readonly calendars: CalendarService;
  /** Escalation policies and their levels. */
  readonly policies: PolicyService;
  /** The fleet's operations in one transaction (the fleet CLI's apply). */
  readonly fleetBatch: FleetBatchService;
  readonly availability: AvailabilityService;
  readonly history: HistoryImport;
  readonly creditDecisions: CreditDecisions;
  readonly maintenance: MaintenanceService;
  readonly sla: SlaService;
  readonly backups: BackupService;
  /** Faro app keys and the web-page metrics they feed. */
  readonly faro: FaroService;
  /** Heartbeat (push) monitors of jobs that should report in. */
  readonly heartbeats: HeartbeatService;
  readonly reports: ReportService;
  readonly ops: OpsService;
  /** Suspicious access as requests arrive: denied bursts, tokens from new addresses. */
  readonly security: SecurityWatch;
  /** Suspicious access in the audit log: its counts on /metrics, the verify job, the morning report's list. */
  readonly auditWatch: AuditWatch;
  /** Monthly audit reports per provider and per client, stored immutably and mailed to compliance contacts. */
  readonly auditReports: AuditReportService;
  /** Set when ALERTMANAGER_URL is: main.ts starts and stops it. */
  readonly silences: SilenceSync | undefined;
  /** Failure drills and their schedules. */
  readonly drills: DrillService;
  /** Console users: invites, passwords, second factors, sessions (users/, console/). */
  readonly users: UserService;
  /** The console's live incident feed (server-sent events); main.ts ends its streams at shutdown. */
  readonly consoleLive: LiveIncidents;
  /** Clients' optional public status pages (status-pages/, served by portal/status-page.ts). */
  readonly statusPages: StatusPageService;
}

export function createContext(config: Config, log: Logger, pool: Pool): Context {
  const metrics = createMetrics();
  const checkpoints = checkpointSetup(config, log, 'sign');
  const audit = new AuditService(
    pool,
    (err) => log.warn({ err: err.message }, 'audit: chaining staged records failed; the next pass retries'),
    checkpoints,
  );
  if (checkpoints) registerAuditMetrics(metrics.registry, audit, log);
  const auditWatch = new AuditWatch(
    pool,
    audit,
    config.security,
    checkpoints?.keys.privateKey ? config.audit.checkpointEverySeconds : undefined,
    metrics.registry,
    log,
  );
  const security = new SecurityWatch(pool, audit, config.security, metrics, log);
  const fleet = new FleetService(pool, audit);
  const tokens = new TokenService(pool, audit, (idOrSlug) => fleet.resolveClientId(idOrSlug), log);
  const paging = createPaging(config, log, pool, metrics, audit, fleet);
  const availability = new AvailabilityService(pool, audit, fleet, config.proberGraceSeconds);
  const maintenance = new MaintenanceService(pool, audit, fleet);
  registerStatusUpdateJobs(paging.workers, pool, paging.statusUpdates, (from, to) =>
    maintenance.startingBetween(from, to),
  );
  const sla = new SlaService(pool, fleet, maintenance, config.slaCreditTiers, config.slaMinMeasuredShare);
  registerSlaMetrics(metrics.registry, sla, fleet);
  const silences = config.alertmanagerUrl
    ? new SilenceSync(
        pool,
        new AlertmanagerClient(config.alertmanagerUrl),
        config.alertmanagerSilenceSyncSeconds,
        log,
      )
    : undefined;
  const backups = registerBackupMetrics(metrics.registry, new BackupService(pool, fleet, audit), fleet);
  const mail = createMailer(config.paging);
  const oncall = new OnCallService(pool, audit);
  const policies = new PolicyService(pool, audit, fleet);
  const drills = new DrillService({
    pool,
    audit,
    fleet,
    policies,
    oncall,
    incidents: paging.incidents,
    ingest: paging.ingest,
    notify: paging.notify,
    alertmanager: config.alertmanagerUrl ? alertmanagerSender(config.alertmanagerUrl) : undefined,
    log,
  });
  registerDrillJobs(paging.workers, pool, drills, log);
  const reports = new ReportService({
    fleet,
    sla,
    maintenance,
    incidents: paging.incidents,
    backups,
    performance: new PrometheusPerformance(config.prometheusUrl),
    capacity: new PrometheusCapacity(config.prometheusUrl),
    tiers: config.slaCreditTiers,
    minMeasuredShare: config.slaMinMeasuredShare,
    pool,
    audit,
    mail,
    log,
    sendMaxAttempts: config.paging.sendMaxAttempts,
  });
  registerReportJobs(paging.workers, pool, reports, config.reports.scheduler);
  const ops = new OpsService({
    fleet,
    availability,
    incidents: paging.incidents,
    backups,
    sla,
    drills,
    audit,
    auditWatch,
    metrics,
    prometheusUrl: config.prometheusUrl,
  });
  registerOpsJobs(paging.workers, pool, ops, config.reports, mail, log);
  if (checkpoints?.keys.privateKey)
    registerAuditJobs(paging.workers, pool, audit, config.audit.checkpointEverySeconds, log);
  registerAuditVerifyJob(paging.workers, pool, auditWatch, config.security.verifyEverySeconds, log);
  if (!checkpoints?.keys.privateKey)
    log.warn(
      'audit: no signing key, so closed months are not archived, and none is deleted after its retention',
    );
  const retention = new AuditRetention(pool, audit, checkpoints, config.audit, log);
  registerAuditRetentionJob(paging.workers, pool, retention, log);
  const auditReports = new AuditReportService({
    pool,
    audit,
    fleet,
    mail,
    contacts: config.audit.reportContacts,
    sendMaxAttempts: config.paging.sendMaxAttempts,
    log,
  });
  registerAuditReportJobs(paging.workers, pool, auditReports, config.reports.scheduler);
  const heartbeats = new HeartbeatService(pool, audit, fleet);
  registerHeartbeatMetrics(metrics.registry, heartbeats);
  const users = new UserService(
    pool,
    audit,
    (idOrSlug) => fleet.resolveClientId(idOrSlug),
    config.console,
    config.publicUrl,
    log,
  );
  registerUserMailJob(paging.workers, users, mail);
  return {
    users,
    consoleLive: new LiveIncidents(paging.incidents, log),
    statusPages: new StatusPageService(pool, audit, fleet, config.publicUrl),
    config,
    log,
    pool,
    metrics,
    audit,
    fleet,
    tokens,
    paging,
    oncall,
    calendars: new CalendarService(pool, audit, config.publicUrl),
    policies,
    drills,
    fleetBatch: new FleetBatchService(pool, audit),
    availability,
    history: new HistoryImport(pool, audit, fleet),
    creditDecisions: new CreditDecisions(pool, audit, fleet),
    maintenance,
    sla,
    silences,
    faro: new FaroService(pool, audit, fleet, createFaroMetrics(metrics.registry)),
    heartbeats,
    backups,
    reports,
    ops,
    security,
    auditWatch,
    auditReports,
  };
}
