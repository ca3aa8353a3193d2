import type { Api } from '../http/api.ts';
import { READERS } from '../http/auth.ts';
import { ValidationError } from '../http/errors.ts';
import type { Response } from 'express';
import { renderHtml } from './html.ts';
import { renderPdf } from './pdf.ts';
import type { ReportService } from './service.ts';
import type { MonthlyReport } from './types.ts';

export type Format = 'json' | 'html' | 'pdf';

/** `2026-10.pdf` or `2026-10` with the Accept header (default JSON). */
export function parseMonthParam(raw: string, accept: string | undefined): { month: string; format: Format } {
  const m = /^([0-9]{4}-(?:0[1-9]|1[0-2]))(?:\.(json|html|pdf))?$/.exec(raw);
  if (!m)
    throw new ValidationError('path is invalid', [
      { field: '/month', message: 'must be YYYY-MM, optionally followed by .json, .html or .pdf' },
    ]);
  let format = m[2] as Format | undefined;
  if (!format) {
    const a = accept ?? '';
    format = /application\/pdf/.test(a) ? 'pdf' : /text\/html/.test(a) ? 'html' : 'json';
  }
  return { month: m[1]!, format };
}

async function send(res: Response, format: Format, r: MonthlyReport) {
  if (format === 'json') return r;
  const file = `${r.client.slug}-${r.month}.${format}`;
  res.setHeader('Content-Disposition', `${format === 'pdf' ? 'attachment' : 'inline'}; filename="${file}"`);
  if (format === 'html') res.type('html').send(renderHtml(r));
  else res.type('application/pdf').send(await renderPdf(r));
  return undefined;
}

export function reportRoutes(api: Api, reports: ReportService): void {
  api.route({
    method: 'get',
    path: '/api/v1/clients/:id/reports',
    summary: "A client's stored (sent or pending) monthly reports, newest first",
    tag: 'reports',
    roles: READERS,
    handler: ({ auth, params }) => reports.list(auth, params.id!),
  });
  api.route({
    method: 'get',
    path: '/api/v1/clients/:id/reports/:month',
    summary:
      "A client's monthly report (YYYY-MM, client's zone) as JSON, HTML or PDF (.json/.html/.pdf or Accept)",
    tag: 'reports',
    roles: READERS,
    handler: async ({ auth, params, req, res }) => {
      const { month, format } = parseMonthParam(params.month!, req.header('accept'));
      return send(res, format, await reports.preview(auth, params.id!, month));
    },
  });
}
