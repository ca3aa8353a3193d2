/** The audit log's list query (GET /api/v1/audit), shared by the API route and the console's audit page. */
export const listQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    actor: {
      type: 'string',
      minLength: 1,
      maxLength: 200,
      description: 'the actor, or the caller token id or token name (a person: their e-mail)',
    },
    action: { type: 'string', minLength: 1, maxLength: 64 },
    targetType: { type: 'string', maxLength: 64 },
    targetId: { type: 'string', maxLength: 128 },
    from: {
      type: 'string',
      format: 'date-time',
      maxLength: 40,
      description:
        'with actor, action, from or to, records in [from, to): default the 31 days before to, at most 366',
    },
    to: { type: 'string', format: 'date-time', maxLength: 40, description: 'default now' },
    limit: {
      type: 'string',
      pattern: '^[0-9]{1,4}$',
      description: 'at most 1000 (more reads 1000), default 100',
    },
    before: { type: 'string', pattern: '^[0-9]{1,18}$', description: 'records older than this seq (paging)' },
  },
} as const;

export interface ListQuery {
  actor?: string;
  action?: string;
  targetType?: string;
  targetId?: string;
  from?: string;
  to?: string;
  limit?: string;
  before?: string;
}
