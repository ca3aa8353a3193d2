import type { Api } from '../http/api.ts';
import { READERS, STAFF } from '../http/auth.ts';
import * as schemas from './schemas.ts';
import type { HistoryImport } from './history.ts';
import type { AvailabilityService } from './service.ts';
import type { CorrectionInput, HistoryInput, TransitionsInput } from './types.ts';

export function availabilityRoutes(
  api: Api,
  availability: AvailabilityService,
  history: HistoryImport,
): void {
  api.route<TransitionsInput>({
    method: 'post',
    path: '/api/v1/availability/transitions',
    operationId: 'reportTransitions',
    summary: "The prober's state transitions (idempotent on each transition id; all or nothing)",
    tag: 'availability',
    roles: ['prober'],
    body: schemas.transitions,
    handler: ({ body }) => availability.applyTransitions(body),
  });
  api.route<{ prober: string }>({
    method: 'post',
    path: '/api/v1/availability/heartbeat',
    operationId: 'reportProberHeartbeat',
    summary: 'The prober is alive and probing: extends its coverage (time outside coverage is unknown)',
    tag: 'availability',
    roles: ['prober'],
    body: schemas.heartbeat,
    handler: ({ body }) => availability.heartbeat(body.prober),
  });
  api.route({
    method: 'get',
    path: '/api/v1/availability/state',
    operationId: 'getAvailabilityState',
    summary: 'Services currently down or degraded (the prober resynchronises from this)',
    tag: 'availability',
    roles: ['prober', ...STAFF],
    handler: () => availability.currentState(),
  });
  api.route<CorrectionInput>({
    method: 'post',
    path: '/api/v1/availability/intervals',
    operationId: 'correctAvailability',
    summary: "An operator's correction: it replaces recorded time in its range (audited with its reason)",
    tag: 'availability',
    roles: STAFF,
    body: schemas.correction,
    status: 201,
    handler: ({ auth, req, body }) => availability.correct(auth, req.id, body),
  });
  api.route<HistoryInput>({
    method: 'post',
    path: '/api/v1/availability/history',
    operationId: 'importAvailabilityHistory',
    summary:
      'History from an earlier monitoring system: the periods it watched an instance (measured time) and what it ' +
      'saw down or degraded; recorded time wins over it; a repeated import changes nothing (audited)',
    tag: 'availability',
    roles: STAFF,
    body: schemas.history,
    responseSchema: schemas.historyResponse,
    handler: ({ auth, req, body }) => history.import(auth, req.id, body),
  });
  api.route<unknown, { from?: string; to?: string }>({
    method: 'get',
    path: '/api/v1/instances/:id/availability',
    operationId: 'getInstanceAvailability',
    summary:
      'Down and degraded intervals of an instance overlapping from..to (default the last 30 days, at most 366; ' +
      'at most 5000 intervals, truncated: true when there were more)',
    tag: 'availability',
    roles: READERS,
    query: schemas.rangeQuery,
    handler: ({ auth, params, query }) => availability.listForInstance(auth, params.id!, query),
  });
}
