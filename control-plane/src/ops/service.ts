import { DateTime } from 'luxon';
import type { AuditService, VerifyResult } from '../audit/service.ts';
import type { AuditWatch, Flagged } from '../audit/watch.ts';
import type { AvailabilityService } from '../availability/service.ts';
import type { BackupService } from '../backups/service.ts';
import type { FleetService } from '../fleet/service.ts';
import type { Auth } from '../http/auth.ts';
import type { IncidentService } from '../incidents/service.ts';
import type { Metrics } from '../metrics/registry.ts';
import { period, type SlaService } from '../sla/service.ts';
import { errorMessage } from '@concierge-ops/shared/errors';
import { instantVector } from '../prom-query.ts';

const SYSTEM: Auth = { tokenId: '00000000-opsdaily', name: 'ops daily', role: 'admin', clientId: null };
/** CertificateExpiring's warning threshold for a service that sets none (its probe's tlsExpiry.warningDays). */
const CERT_DAYS = 21;
// A client is "at risk" once it has burnt half of the whole month's error budget (or missed already).
const RISK_BURN = 0.5;

type NotAvailable = { available: false; reason: string };

export interface OpsDaily {
  generatedAt: string;
  since: string;
  unhealthy: { client: string; instance: string; service: string; state: string; since: string }[];
  incidents: {
    code: string;
    client: string | null;
    instance: string | null;
    severity: string;
    status: string;
    openedAt: string;
    acknowledgedBy: string | null;
    timeToAcknowledgeSeconds: number | null;
    escalations: number;
    /** The response targets it missed so far (docs/incident-targets.md). */
    missedTargets: ('acknowledge' | 'resolve')[];
  }[];
  /** Of those incidents, how many missed a response target, and which (one may miss both). */
  targetBreaches: { incidents: number; acknowledge: number; resolve: number };
  /** Failure drills started in the last 24 h, with their figures and who was unreachable. */
  drills: {
    id: string;
    kind: string;
    target: string;
    status: string;
    startedAt: string;
    startedBy: string;
    incident: string | null;
    toFirstPageSeconds: number | null;
    toAcknowledgeSeconds: number | null;
    acknowledgedBy: string | null;
    unreachable: string[];
    error: string | null;
  }[];
  backups: { client: string; instance: string; problem: string }[];
  restoreTestsOverdue: { client: string; instance: string; lastTest: string | null }[];
  certificates:
    | NotAvailable
    | {
        available: true;
        expiring: { client: string; instance: string; service: string; expiresAt: string }[];
      };
  slaAtRisk: {
    client: string;
    uptime: number | null;
    /** measured / (month to date - maintenance), all the client's instances; null without such time */
    measuredShare: number | null;
    /** true when too little was measured for the uptime to say much (SLA_MIN_MEASURED_SHARE) */
    insufficientData: boolean;
    target: number;
    budgetUsedSeconds: number;
    monthBudgetSeconds: number;
    burn: number;
  }[];
  audit: {
    verified: boolean;
    rows: number;
    firstBroken: VerifyResult['firstBroken'];
    verifiedThrough: VerifyResult['verifiedThrough'];
    /** The newest signed checkpoint: the mail carries it out of the database, as a witness of the chain's head. */
    checkpoints: VerifyResult['checkpoints'];
  };
  /** Suspicious access flagged over the day, from the audit log and its tables (never from Prometheus). */
  suspicious: Flagged;
  deniedRequests:
    | NotAvailable
    | {
        available: true;
        source: 'prometheus' | 'process';
        window: string;
        unauthenticated: number;
        forbidden: number;
      };
}

/** The most certificates the morning report reads from Prometheus (every service of a 1,000-instance fleet). */
const FLEET_MAX_SERIES = 20_000;

/** The drills domain as the morning report reads it (drills sit beside ops; ops names none of its types). */
export interface DrillReader {
  recent(since: Date): Promise<OpsDaily['drills']>;
}

export interface OpsDeps {
  fleet: FleetService;
  drills?: DrillReader;
  availability: AvailabilityService;
  incidents: IncidentService;
  backups: BackupService;
  sla: SlaService;
  audit: AuditService;
  auditWatch: AuditWatch;
  metrics: Metrics;
  prometheusUrl: string | undefined;
}

/** The operators' morning checklist, from live data; what cannot be known is said to be "not available". */
export class OpsService {
  constructor(private readonly d: OpsDeps) {}

  async daily(now = new Date()): Promise<OpsDaily> {
    const since = new Date(now.getTime() - 24 * 3600_000);
    const [clients, instances, states, recent, audit] = await Promise.all([
      this.d.fleet.listClients(SYSTEM, 'active'),
      this.d.fleet.listMonitored(),
      this.d.availability.currentState(),
      this.d.incidents.list(SYSTEM, { from: since.toISOString(), limit: '1000' }),
      this.d.audit.verify(),
    ]);
    const inst = new Map(instances.map((i) => [i.id, i]));
    const unhealthy = states
      .filter((s) => inst.has(s.instanceId))
      .map((s) => ({
        client: inst.get(s.instanceId)!.client.slug,
        instance: inst.get(s.instanceId)!.slug,
        service: s.service,
        state: s.state,
        since: s.since,
      }))
      .sort((a, b) => a.client.localeCompare(b.client) || a.instance.localeCompare(b.instance));

    const incidents = await Promise.all(
      recent
        .sort((a, b) => a.openedAt.localeCompare(b.openedAt))
        .map(async (i) => ({
          code: i.code,
          client: i.client?.slug ?? null,
          instance: i.instance?.slug ?? null,
          severity: i.severity,
          status: i.status,
          openedAt: i.openedAt,
          acknowledgedBy: i.acknowledgedBy,
          timeToAcknowledgeSeconds: i.acknowledgedAt
            ? (Date.parse(i.acknowledgedAt) - Date.parse(i.openedAt)) / 1000
            : null,
          escalations: (await this.d.incidents.timeline(SYSTEM, i.id)).filter((e) => e.kind === 'escalated')
            .length,
          missedTargets: (['acknowledge', 'resolve'] as const).filter((k) => i.responseTargets?.[k].missed),
        })),
    );
    const missing = (k: 'acknowledge' | 'resolve') =>
      incidents.filter((i) => i.missedTargets.includes(k)).length;
    const targetBreaches = {
      incidents: incidents.filter((i) => i.missedTargets.length > 0).length,
      acknowledge: missing('acknowledge'),
      resolve: missing('resolve'),
    };

    const backups: OpsDaily['backups'] = [];
    const restoreTestsOverdue: OpsDaily['restoreTestsOverdue'] = [];
    for (const c of clients) {
      const s = await this.d.backups.clientStatus(SYSTEM, c.id);
      for (const i of s.instances) {
        const newest = i.newestSuccess;
        if (!newest || Date.parse(newest.finishedAt) < since.getTime())
          backups.push({
            client: c.slug,
            instance: i.instance.slug,
            problem: 'no backup completed in the last 24 h',
          });
        if (i.newestRun?.status === 'failed' && Date.parse(i.newestRun.startedAt) >= since.getTime())
          backups.push({
            client: c.slug,
            instance: i.instance.slug,
            problem: `run ${i.newestRun.runId} failed: ${i.newestRun.error ?? 'no error given'}`,
          });
        if (newest?.verified === false)
          backups.push({
            client: c.slug,
            instance: i.instance.slug,
            problem: `backup ${newest.runId} failed verification`,
          });
        if (!i.restoreTestRecent)
          restoreTestsOverdue.push({
            client: c.slug,
            instance: i.instance.slug,
            lastTest: i.lastRestoreTest?.startedAt ?? null,
          });
      }
    }

    const mtd = await this.d.sla.computeFor(clients, instances, (c) => period({}, c.timeZone, now));
    const slaAtRisk: OpsDaily['slaAtRisk'] = [];
    for (const c of clients) {
      const mine = instances.filter((i) => i.client.id === c.id && mtd.has(i.id)).map((i) => mtd.get(i.id)!);
      if (mine.length === 0) continue;
      const down = mine.reduce((a, f) => a + f.downtimeSeconds, 0);
      const measured = mine.reduce((a, f) => a + f.measuredSeconds, 0);
      const start = DateTime.fromJSDate(now, { zone: c.timeZone }).startOf('month');
      const monthSeconds = start.plus({ months: 1 }).diff(start).as('seconds') * mine.length;
      const monthBudget = (1 - c.slaTarget) * monthSeconds;
      const burn = monthBudget > 0 ? down / monthBudget : 0;
      const uptime = measured > 0 ? 1 - down / measured : null;
      const countable = mine.reduce((a, f) => a + f.periodSeconds - f.maintenanceSeconds, 0);
      if (burn >= RISK_BURN || (uptime !== null && uptime < c.slaTarget))
        slaAtRisk.push({
          client: c.slug,
          uptime,
          measuredShare: countable > 0 ? Math.min(1, measured / countable) : null,
          insufficientData: mine.some((f) => f.insufficientData),
          target: c.slaTarget,
          budgetUsedSeconds: down,
          monthBudgetSeconds: Math.round(monthBudget * 1000) / 1000,
          burn,
        });
    }
    slaAtRisk.sort((a, b) => b.burn - a.burn);

    return {
      generatedAt: now.toISOString(),
      since: since.toISOString(),
      unhealthy,
      incidents,
      targetBreaches,
      drills: (await this.d.drills?.recent(since)) ?? [],
      backups,
      restoreTestsOverdue,
      certificates: await this.certificates(now),
      slaAtRisk,
      audit: {
        verified: audit.ok,
        rows: audit.rows,
        firstBroken: audit.firstBroken,
        verifiedThrough: audit.verifiedThrough,
        checkpoints: audit.checkpoints,
      },
      suspicious: await this.d.auditWatch.flagged(since, now, audit.checkpoints.newestAt),
      deniedRequests: await this.denied(),
    };
  }

  private async certificates(now: Date): Promise<OpsDaily['certificates']> {
    if (!this.d.prometheusUrl)
      return {
        available: false,
        reason: 'PROMETHEUS_URL is not configured, so the prober’s certificate expiry is not readable',
      };
    try {
      // Within each service's own warning threshold, as CertificateExpiring sees it (prometheus/rules/fleet.yml);
      // CERT_DAYS for a series without one. max by: one threshold per service, whatever the prober locations.
      const t = Math.floor(now.getTime() / 1000);
      const threshold = 'max by (client, instance, service) (probe_tls_expiry_warning_threshold_seconds)';
      const rows = await instantVector(
        this.d.prometheusUrl,
        `min by (client, instance, service) (
           probe_ssl_earliest_cert_expiry < on (client, instance, service) group_left () (${t} + ${threshold})
           or (probe_ssl_earliest_cert_expiry < ${t + CERT_DAYS * 86400}
               unless on (client, instance, service) ${threshold})
         )`,
        now,
        10_000,
        // Fleet-wide: one series per certificate within its threshold, which a whole fleet could reach.
        FLEET_MAX_SERIES,
      );
      return {
        available: true,
        expiring: rows
          .map((r) => ({
            client: r.metric.client ?? '',
            instance: r.metric.instance ?? '',
            service: r.metric.service ?? '',
            expiresAt: new Date(r.value * 1000).toISOString(),
          }))
          .sort((a, b) => a.expiresAt.localeCompare(b.expiresAt)),
      };
    } catch (err) {
      return { available: false, reason: `Prometheus could not be queried (${errorMessage(err)})` };
    }
  }

  private async denied(): Promise<OpsDaily['deniedRequests']> {
    if (this.d.prometheusUrl) {
      try {
        const rows = await instantVector(
          this.d.prometheusUrl,
          'sum by (reason) (increase(concierge_ops_auth_denied_total[24h]))',
          new Date(),
          10_000,
        );
        const of = (reason: string) => Math.round(rows.find((r) => r.metric.reason === reason)?.value ?? 0);
        return {
          available: true,
          source: 'prometheus',
          window: 'last 24 h',
          unauthenticated: of('unauthenticated'),
          forbidden: of('forbidden'),
        };
      } catch {
        // fall through to this process's own counter
      }
    }
    const values = (await this.d.metrics.authDenied.get()).values;
    const of = (reason: string) =>
      values.filter((v) => v.labels.reason === reason).reduce((a, v) => a + v.value, 0);
    return {
      available: true,
      source: 'process',
      window: 'since this control-plane process started (not kept across restarts or replicas)',
      unauthenticated: of('unauthenticated'),
      forbidden: of('forbidden'),
    };
  }
}
