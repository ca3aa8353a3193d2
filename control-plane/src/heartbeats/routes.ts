import type { Api } from '../http/api.ts';
import { READERS, STAFF } from '../http/auth.ts';
import { NotFoundError } from '../http/errors.ts';
import * as schemas from './schemas.ts';
import { PUSH_PATH, type HeartbeatService } from './service.ts';

/** Heartbeat monitors (staff manage them, audited; clients read their own) and the push URL jobs call. */
export function heartbeatRoutes(api: Api, heartbeats: HeartbeatService): void {
  api.route<schemas.CreateInput>({
    method: 'post',
    path: '/api/v1/heartbeats',
    operationId: 'createHeartbeat',
    summary: 'Creates a heartbeat (push) monitor of an instance; its push token is in this answer only',
    tag: 'heartbeats',
    roles: STAFF,
    body: schemas.create,
    status: 201,
    responseSchema: schemas.issued,
    problems: [409],
    handler: ({ auth, req, body }) => heartbeats.create(auth, req.id, body),
  });
  api.route<unknown, { instance?: string; limit?: string }>({
    method: 'get',
    path: '/api/v1/heartbeats',
    operationId: 'listHeartbeats',
    summary: 'Heartbeat monitors with their state (waiting, up, down, missing), by instance and name',
    tag: 'heartbeats',
    roles: READERS,
    query: schemas.listQuery,
    responseSchema: schemas.list,
    handler: ({ auth, query }) => heartbeats.list(auth, query),
  });
  api.route({
    method: 'get',
    path: '/api/v1/heartbeats/:id',
    operationId: 'getHeartbeat',
    summary: 'One heartbeat monitor with its state',
    tag: 'heartbeats',
    roles: READERS,
    responseSchema: schemas.view,
    handler: ({ auth, params }) => heartbeats.get(auth, params.id!),
  });
  api.route<schemas.UpdateInput>({
    method: 'patch',
    path: '/api/v1/heartbeats/:id',
    operationId: 'updateHeartbeat',
    summary: "Changes a heartbeat's interval, grace or severity",
    tag: 'heartbeats',
    roles: STAFF,
    body: schemas.update,
    responseSchema: schemas.view,
    handler: ({ auth, req, params, body }) => heartbeats.update(auth, req.id, params.id!, body),
  });
  api.route({
    method: 'post',
    path: '/api/v1/heartbeats/:id/rotate',
    operationId: 'rotateHeartbeatToken',
    summary: 'Replaces the push token; the old push URL stops at once',
    tag: 'heartbeats',
    roles: STAFF,
    responseSchema: schemas.issued,
    handler: ({ auth, req, params }) => heartbeats.rotate(auth, req.id, params.id!),
  });
  api.route({
    method: 'delete',
    path: '/api/v1/heartbeats/:id',
    operationId: 'deleteHeartbeat',
    summary: 'Deletes a heartbeat monitor',
    tag: 'heartbeats',
    roles: STAFF,
    status: 204,
    handler: async ({ auth, req, params, res }) => {
      await heartbeats.remove(auth, req.id, params.id!);
      res.status(204).end();
      return undefined;
    },
  });
  for (const method of ['get', 'post'] as const)
    api.route<unknown, schemas.PushQuery>({
      method,
      path: PUSH_PATH,
      operationId: method === 'get' ? 'pushHeartbeat' : 'pushHeartbeatPost',
      summary:
        'A job reports in (GET or POST, as Uptime Kuma push URLs work); `status=down` reports a failed run. ' +
        'The token in the path is the credential: 404 for one no active heartbeat holds',
      tag: 'heartbeats',
      roles: 'public',
      query: schemas.pushQuery,
      handler: async ({ params, query }) => {
        if (!(await heartbeats.push(params.token!, query.status ?? 'up')))
          throw new NotFoundError('heartbeat');
        return { ok: true };
      },
    });
}
