import type { Api } from '../http/api.ts';
import { STAFF } from '../http/auth.ts';
import * as schemas from './schemas.ts';
import type { FleetBatchService, Operation } from './service.ts';

export function fleetBatchRoutes(api: Api, batches: FleetBatchService): void {
  api.route<{ operations: Operation[] }>({
    method: 'post',
    path: '/api/v1/fleet/batch',
    operationId: 'applyFleetBatch',
    summary:
      'Applies fleet operations (by their routes’ operationIds) in one transaction: all or none, each audited; ' +
      'a refusal names /operations/<n>/...',
    tag: 'fleet',
    roles: STAFF,
    body: schemas.batch,
    responseSchema: schemas.batchAnswer,
    problems: [404, 409],
    handler: ({ auth, req, body }) => batches.run(auth, req.id, body.operations),
  });
}
