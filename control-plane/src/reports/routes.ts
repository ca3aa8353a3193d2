import type { Response } from 'express';
import type { Api } from '../http/api.ts';
import { READERS, STAFF } from '../http/auth.ts';
import { ValidationError } from '../http/errors.ts';
import type { Rendered, ReportService, ReportSettings } from './service.ts';

export type Format = 'json' | 'html' | 'pdf';

/** `2026-10.pdf` or `2026-10` with the Accept header (default JSON). */
export function parseMonthParam(raw: string, accept: string | undefined): { month: string; format: Format } {
  const m = /^((?!0000)[0-9]{4}-(?:0[1-9]|1[0-2]))(?:\.(json|html|pdf))?$/.exec(raw); // years 0001-9999, as MONTH
  if (!m)
    throw new ValidationError('path is invalid', [
      {
        field: '/month',
        message: 'must be YYYY-MM (year 0001 to 9999), optionally followed by .json, .html or .pdf',
      },
    ]);
  return { month: m[1]!, format: (m[2] as Format | undefined) ?? fromAccept(accept) };
}

function fromAccept(accept: string | undefined): Format {
  const a = accept ?? '';
  return /application\/pdf/.test(a) ? 'pdf' : /text\/html/.test(a) ? 'html' : 'json';
}

function send(res: Response, format: Format, r: Rendered) {
  const file = `${r.report.client.slug}-${r.report.month}.${format}`;
  // The SHA-256 of the PDF identifies the document the client was sent (stored reports never change).
  res.setHeader('X-Report-Sha256', r.sha256);
  if (format === 'json') res.type('application/json').send(r.json);
  else {
    res.setHeader('Content-Disposition', `${format === 'pdf' ? 'attachment' : 'inline'}; filename="${file}"`);
    if (format === 'html') res.type('html').send(r.html);
    else res.type('application/pdf').send(r.pdf);
  }
  return undefined;
}

const monthQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    fresh: { enum: ['true', 'false'], description: 'true: compose now even when a sent version is stored' },
  },
} as const;
export const reasonBody = {
  type: 'object',
  additionalProperties: false,
  required: ['reason'],
  properties: { reason: { type: 'string', minLength: 3, maxLength: 2000 } },
} as const;
const summariesBody = {
  type: 'object',
  additionalProperties: false,
  required: ['publicSummaries'],
  properties: {
    publicSummaries: {
      type: 'object',
      minProperties: 1,
      maxProperties: 200,
      propertyNames: { pattern: '^[A-Za-z0-9-]{1,40}$' },
      additionalProperties: { type: 'string', minLength: 1, maxLength: 4000 },
      description: 'incident code -> public summary as the client will read it',
    },
  },
} as const;
const settingsBody = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  properties: {
    sendAt: {
      type: 'string',
      pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$',
      description: "HH:MM, client's zone",
    },
    reviewBeforeSend: { type: 'boolean' },
  },
} as const;

export function reportRoutes(api: Api, reports: ReportService): void {
  api.route({
    method: 'get',
    path: '/api/v1/clients/:id/reports',
    operationId: 'listClientReports',
    summary: "A client's stored monthly reports, newest first (clients see the sent ones)",
    tag: 'reports',
    roles: READERS,
    read: ({ params }) => ({ action: 'report.list', targetType: 'client', targetId: params.id! }),
    handler: ({ auth, params }) => reports.list(auth, params.id!),
  });
  api.route<unknown, { fresh?: string }>({
    method: 'get',
    path: '/api/v1/clients/:id/reports/:month',
    operationId: 'getClientMonthReport',
    produces: ['application/json', 'text/html', 'application/pdf'],
    summary:
      "A month's report (YYYY-MM, client's zone) as JSON, HTML or PDF (.json/.html/.pdf or Accept): the sent version " +
      'as stored, else (staff only) composed now, a preview of any month; a client token gets 404 for a month not sent',
    tag: 'reports',
    roles: READERS,
    query: monthQuery,
    read: ({ params, req }) => ({
      action: 'report.read',
      targetType: 'client',
      targetId: params.id!,
      detail: parseMonthParam(params.month!, req.header('accept')),
    }),
    handler: async ({ auth, params, req, res, query }) => {
      const { month, format } = parseMonthParam(params.month!, req.header('accept'));
      return send(res, format, await reports.forMonth(auth, params.id!, month, query.fresh === 'true'));
    },
  });
  api.route({
    method: 'get',
    path: '/api/v1/reports/:rid',
    operationId: 'getReport',
    produces: ['application/json', 'text/html', 'application/pdf'],
    summary: 'One stored report version: metadata and content (.json/.html/.pdf or Accept for the file)',
    tag: 'reports',
    roles: READERS,
    read: ({ params }) => ({ action: 'report.read', targetType: 'report', targetId: params.rid! }),
    handler: async ({ auth, params, req, res }) => {
      const m = /^([0-9a-fA-F-]{36})(?:\.(json|html|pdf))?$/.exec(params.rid!);
      const r = await reports.byId(auth, m?.[1] ?? params.rid!);
      const format = (m?.[2] as Format | undefined) ?? fromAccept(req.header('accept'));
      if (format === 'json' && !m?.[2]) return { ...r.meta, report: r.report };
      return send(res, format, r);
    },
  });
  api.route<{ publicSummaries: Record<string, string> }>({
    method: 'patch',
    path: '/api/v1/reports/:rid',
    operationId: 'updateReport',
    summary: 'Review before send: replace public summaries of incidents on a pending report',
    tag: 'reports',
    roles: STAFF,
    body: summariesBody,
    handler: ({ auth, params, req, body }) =>
      reports.editSummaries(auth, req.id, params.rid!, body.publicSummaries),
  });
  api.route({
    method: 'post',
    path: '/api/v1/reports/:rid/approve',
    operationId: 'approveReport',
    summary: 'Review before send: approve a pending report, which sends it to the report contacts',
    tag: 'reports',
    roles: STAFF,
    handler: ({ auth, params, req }) => reports.approve(auth, req.id, params.rid!),
  });
  api.route<{ reason: string }>({
    method: 'post',
    path: '/api/v1/clients/:id/reports/:month/corrections',
    operationId: 'correctClientReport',
    summary: 'Issue a corrected version of a month with its reason (audited)',
    tag: 'reports',
    roles: STAFF,
    status: 201,
    body: reasonBody,
    handler: ({ auth, params, req, body }) =>
      reports.correct(auth, req.id, params.id!, parseMonthParam(params.month!, undefined).month, body.reason),
  });
  api.route({
    method: 'post',
    path: '/api/v1/clients/:id/reports/:month/resend',
    operationId: 'resendClientReport',
    summary: 'Send the newest sent version of a month to every report contact again',
    tag: 'reports',
    roles: STAFF,
    status: 202,
    handler: ({ auth, params, req }) =>
      reports.resend(auth, req.id, params.id!, parseMonthParam(params.month!, undefined).month),
  });
  api.route({
    method: 'get',
    path: '/api/v1/clients/:id/report-settings',
    operationId: 'getReportSettings',
    summary: "When a client's monthly report goes out, and whether an operator reviews it first",
    tag: 'reports',
    roles: STAFF,
    handler: ({ auth, params }) => reports.settings(auth, params.id!),
  });
  api.route<Partial<ReportSettings>>({
    method: 'patch',
    path: '/api/v1/clients/:id/report-settings',
    operationId: 'updateReportSettings',
    summary: "Set a client's report send time (HH:MM local, on the 1st) and review-before-send",
    tag: 'reports',
    roles: STAFF,
    body: settingsBody,
    handler: ({ auth, params, req, body }) => reports.setSettings(auth, req.id, params.id!, body),
  });
}
