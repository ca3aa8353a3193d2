import type { Api } from '../http/api.ts';
import { READERS, STAFF } from '../http/auth.ts';
import { ValidationError } from '../http/errors.ts';
import { MONTH } from '../http/formats.ts';
import type { CreditDecisions } from './decisions.ts';
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

const decisionBody = {
  type: 'object',
  additionalProperties: false,
  required: ['creditPercent', 'reason'],
  properties: {
    creditPercent: { type: 'number', minimum: 0, maximum: 100, multipleOf: 0.01 },
    reason: { type: 'string', minLength: 1, maxLength: 500 },
  },
} as const;

const decisionResponse = {
  type: 'object',
  required: ['client', 'month', 'creditPercent', 'reason', 'decidedBy', 'decidedAt'],
  properties: {
    client: {
      type: 'object',
      properties: { id: { type: 'string', format: 'uuid' }, slug: { type: 'string' } },
    },
    month: { type: 'string' },
    creditPercent: { type: 'number' },
    reason: { type: 'string' },
    decidedBy: { type: 'string' },
    decidedAt: isoTime,
  },
} as const;

function monthParam(raw: string): string {
  if (!MONTH.test(raw))
    throw new ValidationError('path is invalid', [
      { field: '/month', message: 'must be YYYY-MM with a year 0001 to 9999' },
    ]);
  return raw;
}

export function slaRoutes(api: Api, sla: SlaService, decisions: CreditDecisions): void {
  api.route<{ creditPercent: number; reason: string }>({
    method: 'put',
    path: '/api/v1/clients/:id/sla/credit-decisions/:month',
    operationId: 'decideSlaCredit',
    summary:
      "An operator's credit for a month with insufficient measured data (none follows automatically); replaces " +
      "an earlier decision of the month; shown in that month's SLA answer and report (audited)",
    tag: 'sla',
    roles: STAFF,
    body: decisionBody,
    responseSchema: decisionResponse,
    handler: ({ auth, req, params, body }) =>
      decisions.decide(auth, req.id, params.id!, monthParam(params.month!), body),
  });
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
