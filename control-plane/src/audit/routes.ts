import type { Api } from '../http/api.ts';
import type { AuditService } from './service.ts';

export function auditRoutes(api: Api, audit: AuditService): void {
  api.route<unknown, { targetType?: string; targetId?: string; limit?: number; before?: number }>({
    method: 'get',
    path: '/api/v1/audit',
    summary: 'Audit log entries, newest first',
    tag: 'audit',
    roles: ['admin'],
    query: {
      type: 'object',
      additionalProperties: false,
      properties: {
        targetType: { type: 'string', maxLength: 64 },
        targetId: { type: 'string', maxLength: 128 },
        limit: {
          type: 'string',
          pattern: '^[0-9]{1,4}$',
          description: 'at most 1000 (more reads 1000), default 100',
        },
        before: { type: 'string', pattern: '^[0-9]{1,18}$' },
      },
    },
    handler: ({ query }) =>
      audit.list({
        targetType: query.targetType,
        targetId: query.targetId,
        limit: query.limit === undefined ? undefined : Number(query.limit),
        beforeSeq: query.before === undefined ? undefined : Number(query.before),
      }),
  });
  api.route({
    method: 'get',
    path: '/api/v1/audit/verify',
    summary:
      'Checks the hash chain and every signed checkpoint; names the first row or checkpoint that breaks, and ' +
      'how far the verified history reaches',
    tag: 'audit',
    roles: ['admin'],
    handler: () => audit.verify(),
  });
  api.route({
    method: 'post',
    path: '/api/v1/audit/checkpoints',
    summary: "Signs the chain's head now and publishes it to the checkpoint file; answers the checkpoint",
    tag: 'audit',
    roles: ['admin'],
    status: 201,
    handler: ({ auth, req }) => audit.checkpoint({ auth, requestId: req.id }),
  });
}
