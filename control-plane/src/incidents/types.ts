import type { Queryable, Tx } from '../db/pool.ts';
import type { Who } from '../audit/service.ts';
import type { DbIncident, IncidentStatus, Severity } from './store.ts';
import type { OpeningPlan } from '../escalation/service.ts';
import { incidentTargets, type IncidentTargets, type ResponseTargets } from './targets.ts';

export interface Incident {
  id: string;
  code: string;
  client: { id: string; slug: string | null } | null;
  unassigned: boolean;
  /** References are `{id, slug}` objects across the API; a service is named within its instance. */
  instance: { id: string; slug: string } | null;
  service: string | null;
  severity: Severity;
  status: IncidentStatus;
  /** crisis, security, compliance, performance or availability; null when nothing said. */
  class: DbIncident['class'];
  /** 'emergency' (the alert's urgency label): the whole ladder was paged at once. */
  urgency: DbIncident['urgency'];
  source: DbIncident['source'];
  title: string;
  /** Internal (the alert's annotation or the operator's text): staff only, absent for client tokens. */
  summary?: string;
  publicSummary: string | null;
  openedAt: string;
  failureBeganAt: string;
  /** When the control plane confirmed the failure: its opening. */
  confirmedAt: string;
  firstPageAt: string | null;
  acknowledgedAt: string | null;
  acknowledgedBy: string | null;
  resolvedAt: string | null;
  resolvedBy: string | null;
  /** Time to acknowledge and to resolve against its targets (which it missed, and when); null for a drill. */
  responseTargets: IncidentTargets | null;
}

export interface TimelineEvent {
  at: string;
  kind: string;
  actor: string;
  detail: Record<string, unknown>;
  internal: boolean;
}

/**
 * Who changed something: a caller's token, a fixed name with its caller (the webhook's token, a job of the
 * control plane: audit/service.ts `actingAs`, `systemJob`), or a name alone (an SMS reply).
 */
export type Actor = Who;

/** What other domains need to hear, inside the transaction that made the change. */
export interface IncidentHooks {
  /** One transaction whose pages (enqueued by `opened`) are sent straight after it commits. */
  transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
  /**
   * A new incident's escalation, in its opening transaction. `configVersion` (paging_config_version, when the
   * caller read it in this transaction) lets a policy read for an earlier incident be reused while it holds.
   */
  opened(tx: Queryable, incident: DbIncident, configVersion?: string): Promise<void>;
  /**
   * A new incident's escalation planned in memory, to be written with the incident in one statement
   * (AlertIngest's one-statement opening); undefined when it cannot be planned so.
   */
  openingPlan(
    incident: Pick<DbIncident, 'id' | 'client_id' | 'severity' | 'class' | 'urgency'>,
    now: Date,
  ): OpeningPlan | undefined;
  /** After such an opening committed: its new pages (`sends`) go out and its level counts as reached. */
  openedWithPlan(plan: OpeningPlan, sends: string[]): void;
  stopped(tx: Queryable, incident: DbIncident, how: 'acknowledged' | 'resolved'): Promise<void>;
  /**
   * What the affected clinic may be told, in the transaction of the change: an opening, a new public summary,
   * a resolution (the status updates decide whom, and whether: never for a drill or without a public summary).
   */
  announce(tx: Queryable, incident: DbIncident, kind: 'opened' | 'updated' | 'resolved'): Promise<void>;
  /** Whether the incident's escalation policy lets it resolve itself once all its alerts have resolved. */
  autoResolves(tx: Queryable, incident: DbIncident): Promise<boolean>;
  /** Pages a reassignment's target now (the n-th reassignment); undefined when there is no one to page. */
  reassign(
    tx: Queryable,
    incident: DbIncident,
    target: { responder?: string; rotation?: string },
    n: number,
  ): Promise<{ assignee: { id: string; name: string }; pages: number; channels: string[] } | undefined>;
}

export function incidentView(i: DbIncident, targets: ResponseTargets, now = new Date()): Incident {
  return {
    id: i.id,
    code: i.code,
    client: i.client_id ? { id: i.client_id, slug: i.client_slug } : null,
    unassigned: i.unassigned,
    instance: i.instance_id && i.instance ? { id: i.instance_id, slug: i.instance } : null,
    service: i.service,
    severity: i.severity,
    status: i.status,
    class: i.class,
    urgency: i.urgency,
    source: i.source,
    title: i.title,
    summary: i.summary,
    publicSummary: i.public_summary,
    openedAt: i.opened_at.toISOString(),
    failureBeganAt: i.failure_began_at.toISOString(),
    confirmedAt: i.opened_at.toISOString(),
    firstPageAt: i.first_page_at?.toISOString() ?? null,
    acknowledgedAt: i.acknowledged_at?.toISOString() ?? null,
    acknowledgedBy: i.acknowledged_by,
    resolvedAt: i.resolved_at?.toISOString() ?? null,
    resolvedBy: i.resolved_by,
    responseTargets: incidentTargets(
      targets,
      {
        severity: i.severity,
        class: i.class,
        openedAt: i.opened_at,
        acknowledgedAt: i.acknowledged_at,
        resolvedAt: i.resolved_at,
        drill: i.drill_id !== null,
      },
      now,
    ),
  };
}
