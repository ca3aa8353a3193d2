import type { Api } from '../http/api.ts';
import { READERS, STAFF } from '../http/auth.ts';
import * as schemas from './schemas.ts';
import type { MaintenanceService, WindowInput } from './service.ts';

type ListQuery = { client?: string; from?: string; to?: string };

export function maintenanceRoutes(api: Api, maintenance: MaintenanceService): void {
  api.route<WindowInput>({
    method: 'post',
    path: '/api/v1/maintenance-windows',
    operationId: 'createMaintenanceWindow',
    summary:
      "A maintenance window of a client or an instance, one-off or recurring in the client's time zone",
    tag: 'maintenance',
    roles: STAFF,
    body: schemas.createWindow,
    status: 201,
    handler: ({ auth, req, body }) => maintenance.create(auth, req.id, body),
  });
  api.route<unknown, ListQuery>({
    method: 'get',
    path: '/api/v1/maintenance-windows',
    operationId: 'listMaintenanceWindows',
    summary:
      'Live maintenance windows with their occurrences from..to (default the next 30 days; at most 366 days and ' +
      '2000 occurrences per answer, else 400)',
    tag: 'maintenance',
    roles: READERS,
    query: schemas.listQuery,
    handler: ({ auth, query }) => maintenance.list(auth, query),
  });
  api.route({
    method: 'delete',
    path: '/api/v1/maintenance-windows/:id',
    operationId: 'deleteMaintenanceWindow',
    summary: 'Deletes a maintenance window (audited); its Alertmanager silence is expired by the next sync',
    tag: 'maintenance',
    roles: STAFF,
    handler: ({ auth, req, params }) => maintenance.remove(auth, req.id, params.id!),
  });
}
