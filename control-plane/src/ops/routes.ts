import type { Api } from '../http/api.ts';
import { STAFF } from '../http/auth.ts';
import type { OpsService } from './service.ts';

export function opsRoutes(api: Api, ops: OpsService): void {
  api.route({
    method: 'get',
    path: '/api/v1/ops/daily',
    operationId: 'getDailyChecklist',
    summary: "The operators' morning checklist from live data (what is unknown says so)",
    tag: 'ops',
    roles: STAFF,
    handler: () => ops.daily(),
  });
}
