import type { Api } from '../http/api.ts';
import type { ExportQuery } from './export.ts';
import { CONTENT_TYPES, EXTENSIONS } from './export-formats.ts';
import type { AuditReportService } from './report-service.ts';
import { listQuery, type ListQuery } from './schemas.ts';
import type { AuditService } from './service.ts';

const isoTime = { type: 'string', format: 'date-time', maxLength: 40 };

export function auditRoutes(api: Api, audit: AuditService, reports: AuditReportService): void {
  api.route<unknown, ListQuery>({
    method: 'get',
    path: '/api/v1/audit',
    operationId: 'listAuditEntries',
    summary: 'Audit log entries, newest first (the read itself is recorded)',
    tag: 'audit',
    roles: ['admin'],
    query: listQuery,
    read: ({ query }) => ({ action: 'audit.read', targetType: 'audit', targetId: null, detail: { query } }),
    handler: ({ query }) => audit.list(audit.listFilter(query)),
  });
  api.route<unknown, ExportQuery>({
    method: 'get',
    path: '/api/v1/audit/export',
    operationId: 'exportAuditEntries',
    produces: ['text/csv', 'application/jsonl', 'application/pdf'],
    summary:
      'Exports the audit records from..to (default the last 31 days, at most 366) as CSV, JSON Lines or PDF, ' +
      'streamed, ending with the chain hashes of the first and last record and the signed checkpoint covering ' +
      'them (docs/audit.md); the export is itself recorded',
    tag: 'audit',
    roles: ['admin'],
    query: {
      type: 'object',
      additionalProperties: false,
      properties: {
        from: isoTime,
        to: isoTime,
        actor: { type: 'string', minLength: 1, maxLength: 200, description: 'actor, token id or token name' },
        client: { type: 'string', minLength: 1, maxLength: 64, description: 'client id' },
        action: { type: 'string', minLength: 1, maxLength: 64 },
        format: { enum: ['csv', 'json', 'pdf'], description: 'default csv' },
      },
    },
    handler: async ({ auth, req, res, query }) => {
      const f = audit.exportFilter(query);
      const format = query.format ?? 'csv';
      res.setHeader('Content-Type', CONTENT_TYPES[format]);
      res.setHeader(
        'Content-Disposition',
        `attachment; filename="audit-${f.from.toISOString().slice(0, 10)}-${f.to.toISOString().slice(0, 10)}.${EXTENSIONS[format]}"`,
      );
      // Failing midway, the stream is cut (errors.ts): a file without its integrity block is no whole export.
      await audit.export({ auth, requestId: req.id }, f, format, res);
    },
  });
  api.route({
    method: 'get',
    path: '/api/v1/audit/verify',
    operationId: 'verifyAuditChain',
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
    operationId: 'createAuditCheckpoint',
    summary: "Signs the chain's head now and publishes it to the checkpoint file; answers the checkpoint",
    tag: 'audit',
    roles: ['admin'],
    status: 201,
    handler: ({ auth, req }) => audit.checkpoint({ auth, requestId: req.id }),
  });
  api.route<{ month: string; client?: string }>({
    method: 'post',
    path: '/api/v1/audit/reports',
    operationId: 'createAuditReport',
    summary:
      "Stores a new version of a month's audit report (UTC month; per client with `client`, else the provider's) " +
      'and mails it to AUDIT_REPORT_CONTACTS; a future month is refused',
    tag: 'audit',
    roles: ['admin'],
    status: 201,
    body: {
      type: 'object',
      additionalProperties: false,
      required: ['month'],
      properties: {
        month: { type: 'string', format: 'month', maxLength: 7 },
        client: { type: 'string', minLength: 1, maxLength: 64, description: 'client id or slug' },
      },
    },
    handler: ({ auth, req, body }) => reports.generateNow(auth, req.id, body.month, body.client),
  });
  api.route<unknown, { client?: string }>({
    method: 'get',
    path: '/api/v1/audit/reports',
    operationId: 'listAuditReports',
    summary: "Stored audit reports, newest month first (all, or one client's with `client`)",
    tag: 'audit',
    roles: ['admin'],
    query: {
      type: 'object',
      additionalProperties: false,
      properties: {
        client: { type: 'string', minLength: 1, maxLength: 64, description: 'client id or slug' },
      },
    },
    read: ({ query }) => ({
      action: 'audit.read',
      targetType: 'audit',
      targetId: null,
      detail: { reports: query },
    }),
    handler: ({ auth, query }) => reports.list(auth, query.client),
  });
  api.route({
    method: 'get',
    path: '/api/v1/audit/reports/:arid',
    operationId: 'getAuditReport',
    produces: ['application/json', 'application/pdf'],
    summary:
      'One stored audit report: `{id}` its metadata, `{id}.json` the JSON as stored, `{id}.pdf` the PDF',
    tag: 'audit',
    roles: ['admin'],
    read: ({ params }) => ({ action: 'audit.read', targetType: 'audit_report', targetId: params.arid! }),
    handler: async ({ params, res }) => {
      const m = /^([0-9a-fA-F-]{36})(?:\.(json|pdf))?$/.exec(params.arid!);
      const r = await reports.byId(m?.[1] ?? params.arid!);
      if (!m?.[2]) return r.meta;
      // The hashes identify the stored bytes (a stored version never changes).
      res.setHeader('X-Report-Sha256', m[2] === 'pdf' ? r.pdf_sha256 : r.sha256);
      res.setHeader(
        'Content-Disposition',
        `attachment; filename="audit-${r.scope}-${r.month}-v${r.version}.${m[2]}"`,
      );
      if (m[2] === 'pdf') res.type('application/pdf').send(r.pdf);
      else res.type('application/json').send(r.json);
      return undefined;
    },
  });
}
