import type { Api } from '../http/api.ts';
import { READERS } from '../http/auth.ts';
import type { SlaQuery, SlaService } from './service.ts';

const isoTime = { type: 'string', format: 'date-time', maxLength: 40 };
const query = {
  type: 'object',
  additionalProperties: false,
  properties: {
    month: {
      type: 'string',
      format: 'month',
      description: "YYYY-MM in the client's zone",
    },
    from: { ...isoTime, description: 'with to (default now): at most 366 days apart' },
    to: isoTime,
  },
} as const;

export function slaRoutes(api: Api, sla: SlaService): void {
  api.route<unknown, SlaQuery>({
    method: 'get',
    path: '/api/v1/clients/:id/sla',
    operationId: 'getClientSla',
    summary: "A client's SLA per instance and their time-weighted mean (default: this month, client's zone)",
    tag: 'sla',
    roles: READERS,
    query,
    read: ({ params, query: q }) => ({
      action: 'sla.read',
      targetType: 'client',
      targetId: params.id!,
      detail: { ...q },
    }),
    handler: ({ auth, params, query: q }) => sla.forClient(auth, params.id!, q),
  });
  api.route<unknown, SlaQuery>({
    method: 'get',
    path: '/api/v1/instances/:id/sla',
    operationId: 'getInstanceSla',
    summary: "An instance's SLA (default: this month in the client's time zone)",
    tag: 'sla',
    roles: READERS,
    query,
    read: ({ params, query: q }) => ({
      action: 'sla.read',
      targetType: 'instance',
      targetId: params.id!,
      detail: { ...q },
    }),
    handler: ({ auth, params, query: q }) => sla.forInstance(auth, params.id!, q),
  });
}
