import type { AuditService } from '../audit/service.ts';
import { BackupService } from '../backups/service.ts';
import { withTx, type Pool } from '../db/pool.ts';
import { transactionAsPool } from '../db/savepoints.ts';
import { PolicyService } from '../escalation/policies.ts';
import { FleetService } from '../fleet/service.ts';
import type { Auth } from '../http/auth.ts';
import { AppError, fromPg, ValidationError, type FieldError } from '../http/errors.ts';
import { check, compile } from '../http/validation.ts';
import { MaintenanceService } from '../maintenance/service.ts';
import { OnCallService } from '../oncall/service.ts';
import { OPERATION_BODIES, type OperationId } from './schemas.ts';

export interface Operation {
  operationId: OperationId;
  id?: string;
  body?: Record<string, unknown>;
}

const validators = new Map(
  Object.entries(OPERATION_BODIES).map(([op, schema]) => [op, schema ? compile<object>(schema) : null]),
);

/** An operation's error, with its fields named from the batch's root (`/operations/3/body/timeZone`). */
function located(err: unknown, i: number, op: Operation): unknown {
  const app = err instanceof AppError ? err : fromPg(err as { code?: string });
  if (!app) return err;
  const at = `/operations/${i}`;
  const errors: FieldError[] = app.errors?.length
    ? app.errors.map((e) => ({ field: `${at}/body${e.field}`, message: e.message }))
    : [{ field: op.id !== undefined ? `${at}/id` : at, message: app.message }];
  return new AppError(app.code, `operation ${i} (${op.operationId}): ${app.message}`, app.httpStatus, {
    cause: err,
    errors,
  });
}

/**
 * The fleet's operations (clients, instances, responders, rotations, escalation policies, maintenance windows,
 * backup policies) in one transaction: all of them or none, each audited as its own route audits it. The
 * fleet CLI applies one kind of object at a time through it, so a refusal leaves that kind as it was.
 */
export class FleetBatchService {
  constructor(
    private readonly pool: Pool,
    private readonly audit: AuditService,
  ) {}

  async run(auth: Auth, requestId: string, operations: Operation[]): Promise<{ results: unknown[] }> {
    // Every body is checked before anything is written, so a bad field costs no transaction.
    operations.forEach((op, i) => {
      try {
        const validate = validators.get(op.operationId)!;
        if (validate) check(validate, op.body ?? {}, 'operation body');
        else if (op.body !== undefined)
          throw new ValidationError('operation takes no body', [{ field: '', message: 'must be left out' }]);
        const needsId = !op.operationId.startsWith('create');
        if (needsId !== (op.id !== undefined))
          throw new ValidationError('operation id', [
            { field: needsId ? '/id' : '', message: needsId ? 'is required' : 'id must be left out' },
          ]);
      } catch (err) {
        if (err instanceof ValidationError)
          throw new ValidationError(
            `operation ${i} (${op.operationId}) is invalid`,
            (err.errors ?? []).map((e) => ({
              field: e.field.startsWith('/id') ? `/operations/${i}/id` : `/operations/${i}/body${e.field}`,
              message: e.message,
            })),
          );
        throw err;
      }
    });
    return withTx(this.pool, async (tx) => {
      const pool = transactionAsPool(tx);
      const fleet = new FleetService(pool, this.audit);
      const oncall = new OnCallService(pool, this.audit);
      const policies = new PolicyService(pool, this.audit, fleet);
      const maintenance = new MaintenanceService(pool, this.audit, fleet);
      const backups = new BackupService(pool, fleet, this.audit);
      const rid = requestId;
      /* eslint-disable @typescript-eslint/no-explicit-any -- each body was checked against its route's schema above */
      const run = (op: Operation): Promise<unknown> => {
        const [id, body] = [op.id!, op.body as any];
        switch (op.operationId) {
          case 'createClient':
            return fleet.createClient(auth, rid, body);
          case 'updateClient':
            return fleet.updateClient(auth, rid, id, body);
          case 'decommissionClient':
            return fleet.decommissionClient(auth, rid, id);
          case 'updateClientBackupPolicy':
            return backups.setPolicy(auth, rid, id, body);
          case 'createInstance':
            return fleet.createInstance(auth, rid, body);
          case 'updateInstance':
            return fleet.updateInstance(auth, rid, id, body);
          case 'decommissionInstance':
            return fleet.decommissionInstance(auth, rid, id);
          case 'createResponder':
            return oncall.createResponder(auth, rid, body);
          case 'updateResponder':
            return oncall.updateResponder(auth, rid, id, body);
          case 'createRotation':
            return oncall.createRotation(auth, rid, body);
          case 'updateRotation':
            return oncall.updateRotation(auth, rid, id, body);
          case 'deleteRotation':
            return oncall.removeRotation(auth, rid, id);
          case 'createEscalationPolicy':
            return policies.create(auth, rid, body);
          case 'replaceEscalationPolicy':
            return policies.replace(auth, rid, id, body);
          case 'deleteEscalationPolicy':
            return policies.remove(auth, rid, id);
          case 'createMaintenanceWindow':
            return maintenance.create(auth, rid, body);
          case 'deleteMaintenanceWindow':
            return maintenance.remove(auth, rid, id);
        }
      };
      /* eslint-enable @typescript-eslint/no-explicit-any */
      const results: unknown[] = [];
      for (const [i, op] of operations.entries()) {
        try {
          results.push((await run(op)) ?? null);
        } catch (err) {
          throw located(err, i, op);
        }
      }
      return { results };
    });
  }
}
