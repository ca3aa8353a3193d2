import type { CreditTier } from '../config.ts';

/** SLA figures of one instance or of the whole client over the report's month. */
export interface SlaSummary {
  uptime: number | null;
  met: boolean | null;
  measuredSeconds: number;
  /** measured / (period - maintenance); absent from reports stored before it was reported */
  measuredShare?: number | null;
  /** below the minimum measured share: no result and no automatic credit */
  insufficientData?: boolean;
  downtimeSeconds: number;
  maintenanceSeconds: number;
  unknownSeconds: number;
  errorBudgetSeconds: number;
  errorBudgetUsedSeconds: number;
  /** share of the error budget used (1 = all of it; above 1 = overspent); null without measured time */
  errorBudgetUsedRatio: number | null;
  /** percent of the monthly fee credited per the deployment's tiers; null without data */
  creditPercent: number | null;
}

export interface Downtime {
  instance: string;
  start: string;
  end: string;
  durationSeconds: number;
  services: string[];
  /** the incident it belongs to, with the operator's public summary only (never internal notes) */
  incident: { code: string; severity: string; publicSummary: string | null } | null;
}

export interface ReportIncident {
  code: string;
  severity: 'critical' | 'warning' | 'info';
  instance: string | null;
  openedAt: string;
  acknowledgedAt: string | null;
  resolvedAt: string | null;
  timeToAcknowledgeSeconds: number | null;
  timeToResolveSeconds: number | null;
  /** When the failure began (the alerts' earliest start): before the opening when detection took time. */
  failureBeganAt?: string;
  /** From the failure's beginning to the first page a provider accepted; null if none was. */
  failureToPageSeconds?: number | null;
  /** From the failure's beginning to the acknowledgement; null if never acknowledged. */
  failureToAckSeconds?: number | null;
  /** The response targets it missed (docs/incident-targets.md); absent from reports stored before targets. */
  missedTargets?: ('acknowledge' | 'resolve')[];
  publicSummary: string | null;
}

/** The month's incidents that missed a response target, by which one (an incident may miss both). */
export interface TargetBreaches {
  /** incidents that missed at least one */
  incidents: number;
  acknowledge: number;
  resolve: number;
}

/** The month's incidents' response times from the failure on (p50, p90 by nearest rank; null without any). */
export interface ResponseTimes {
  paged: number;
  failureToPageP50Seconds: number | null;
  failureToPageP90Seconds: number | null;
  acknowledged: number;
  failureToAckP50Seconds: number | null;
  failureToAckP90Seconds: number | null;
}

export interface SeverityStats {
  count: number;
  acknowledged: number;
  resolved: number;
  meanTimeToAcknowledgeSeconds: number | null;
  maxTimeToAcknowledgeSeconds: number | null;
  meanTimeToResolveSeconds: number | null;
  maxTimeToResolveSeconds: number | null;
}

export type Performance =
  | { available: false; reason: string }
  | {
      available: true;
      source: 'prometheus';
      p50Seconds: number | null;
      p95Seconds: number | null;
      errorRate: number | null;
      requests: number | null;
    };

/** One resource of one instance over the month (prometheus/rules/capacity.yml). */
export interface CapacityResource {
  instance: string;
  resource: 'cpu' | 'memory' | 'filesystem' | 'postgres_connections';
  /** the file system's mount point; null for the other resources */
  mountpoint: string | null;
  /** the highest usage in the month, 0 to 1 */
  peakUsedRatio: number | null;
  /** days until full at the 7-day trend as the period ends, 0 to 365 (365: a year or more); null: no trend */
  daysUntilFull: number | null;
}

export interface CapacityDatabase {
  instance: string;
  database: string;
  peakBytes: number | null;
  /** growth per day at the 7-day trend as the period ends (negative: shrinking); null: no trend */
  growthBytesPerDay: number | null;
}

export type Capacity =
  | { available: false; reason: string }
  | { available: true; source: 'prometheus'; resources: CapacityResource[]; databases: CapacityDatabase[] };

export interface BackupEvidence {
  instance: { id: string; slug: string };
  runs: { total: number; success: number; failed: number };
  verification: { verified: number; failed: number; unchecked: number };
  slots: {
    day: string;
    fullBackups: number;
    verified: number;
    failedVerification: number;
    failedRuns: number;
    held: boolean;
  }[];
  missedSlots: string[];
  latestRestoreTest: {
    testId: string;
    startedAt: string;
    finishedAt: string;
    success: boolean;
    durationSeconds: number;
  } | null;
  pitr: { earliest: string; latest: string; gaps: { from: string; to: string }[] } | null;
}

export interface TimelineEntry {
  at: string;
  kind:
    | 'downtime-start'
    | 'downtime-end'
    | 'maintenance-start'
    | 'maintenance-end'
    | 'incident-opened'
    | 'incident-acknowledged'
    | 'incident-resolved';
  text: string;
}

/** The monthly report as the API serves it (JSON) and as HTML and PDF render it. */
export interface MonthlyReport {
  schemaVersion: 1;
  client: { id: string; slug: string; name: string; timeZone: string };
  month: string;
  period: { from: string; to: string; periodSeconds: number; complete: boolean };
  generatedAt: string;
  target: number;
  creditTiers: readonly CreditTier[];
  /** the share of measured time below which the month has insufficient data (SLA_MIN_MEASURED_SHARE) */
  minMeasuredShare?: number;
  overall: SlaSummary;
  /** the provider's credit for a month with insufficient data (overall.creditPercent is it); null when none */
  creditDecision?: { creditPercent: number; reason: string; decidedAt: string } | null;
  instances: (SlaSummary & { instance: { id: string; slug: string } })[];
  downtimes: Downtime[];
  maintenance: {
    start: string;
    end: string;
    durationSeconds: number;
    instance: string | null;
    reason: string;
  }[];
  incidents: {
    bySeverity: Record<'critical' | 'warning' | 'info', SeverityStats>;
    list: ReportIncident[];
    /** Absent from reports stored before incidents recorded when their failure began. */
    responseTimes?: ResponseTimes;
    /** Absent from reports stored before response targets. */
    targetBreaches?: TargetBreaches;
  };
  backups: BackupEvidence[];
  performance: Performance;
  /** Absent from reports stored before the capacity section. */
  capacity?: Capacity;
  daily: {
    date: string;
    uptime: number | null;
    measuredSeconds: number;
    downtimeSeconds: number;
    /** measured / the day's time that counts; absent from reports stored before it was reported */
    measuredShare?: number | null;
  }[];
  timeline: TimelineEntry[];
}
