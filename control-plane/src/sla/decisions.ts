import type { AuditService } from '../audit/service.ts';
import type { Pool } from '../db/pool.ts';
import { withTx } from '../db/pool.ts';
import type { FleetService } from '../fleet/service.ts';
import { actorName, type Auth } from '../http/auth.ts';
import * as store from './store.ts';

export interface CreditDecision {
  month: string;
  creditPercent: number;
  reason: string;
  decidedBy: string;
  decidedAt: string;
}

export function decisionView(d: store.DbCreditDecision): CreditDecision {
  return {
    month: d.month,
    creditPercent: d.credit_percent,
    reason: d.reason,
    decidedBy: d.decided_by,
    decidedAt: d.decided_at.toISOString(),
  };
}

/**
 * An operator's credit for a client's month with insufficient measured data: the SLA answer and the report of
 * that month then state it as decided by the provider. Audited with the decision it replaced.
 */
export class CreditDecisions {
  constructor(
    private readonly pool: Pool,
    private readonly audit: AuditService,
    private readonly fleet: FleetService,
  ) {}

  async decide(
    auth: Auth,
    requestId: string,
    idOrSlug: string,
    month: string,
    input: { creditPercent: number; reason: string },
  ): Promise<{ client: { id: string; slug: string } } & CreditDecision> {
    const client = await this.fleet.getClient(auth, idOrSlug);
    return withTx(this.pool, async (tx) => {
      const { now, before } = await store.upsertCreditDecision(tx, {
        clientId: client.id,
        month,
        creditPercent: input.creditPercent,
        reason: input.reason,
        decidedBy: actorName(auth),
      });
      const after = decisionView(now);
      await this.audit.record(tx, auth, requestId, {
        action: 'sla.credit-decision',
        targetType: 'client',
        targetId: client.id,
        before: before ? decisionView(before) : null,
        after,
      });
      return { client: { id: client.id, slug: client.slug }, ...after };
    });
  }
}
