import type { Request, Router } from 'express';
import { DateTime } from 'luxon';
import type { Context } from '../context.ts';
import { PageError } from '../console/guard.ts';
import type { Render } from '../console/render.ts';
import { overview, publicUpdates } from './overview.ts';
import { duration, monthName, percent, when } from './format.ts';

/** Months of SLA history shown under the month under way. */
const SLA_MONTHS = 12;

/** The signed-in clinic user's caller and client id (clientUser in router.ts made sure both are there). */
const who = (req: Request) => ({ auth: req.console!.auth, clientId: req.console!.auth.clientId! });

/**
 * The portal's pages. Each reads through the same service the API route calls, with the clinic's user as the
 * caller: the API's tenant rules answer 404 for another client's ids, and its client view leaves out internal
 * summaries, internal notes and operators' names. Reads the API audits (reports, SLA) are audited here too.
 */
export function portalPages(router: Router, ctx: Context, render: Render): void {
  const fmt = { when, percent, monthName, duration };

  router.get('/', async (req, res) => {
    const { auth, clientId } = who(req);
    const o = await overview(ctx, auth, clientId);
    render(req, res, 'portal/overview', { o, fmt, title: 'Status' });
  });

  router.get('/incidents/:id', async (req, res) => {
    const { auth, clientId } = who(req);
    const id = String(req.params.id).slice(0, 64);
    const [incident, client] = await Promise.all([
      ctx.paging.incidents.get(auth, id),
      ctx.fleet.getClient(auth, clientId),
    ]);
    const updates = await publicUpdates(ctx, auth, incident.id);
    render(req, res, 'portal/incident', { incident, updates, zone: client.timeZone, fmt });
  });

  router.get('/sla', async (req, res) => {
    const { auth, clientId } = who(req);
    const client = await ctx.fleet.getClient(auth, clientId);
    const now = DateTime.now().setZone(client.timeZone);
    const months = Array.from({ length: SLA_MONTHS }, (_, k) =>
      now.minus({ months: k + 1 }).toFormat('yyyy-MM'),
    );
    // One SLA query per month, thirteen in all: bounded whatever the history holds.
    const [current, ...past] = await Promise.all([
      ctx.sla.forClient(auth, client.id, {}),
      ...months.map((month) => ctx.sla.forClient(auth, client.id, { month })),
    ]);
    await ctx.audit.recordRead(auth, req.id, {
      action: 'sla.read',
      targetType: 'client',
      targetId: client.id,
      after: { months: [now.toFormat('yyyy-MM'), ...months], via: 'portal' },
    });
    render(req, res, 'portal/sla', {
      client,
      current: { month: now.toFormat('yyyy-MM'), ...current! },
      past: past.map((s, k) => ({ month: months[k]!, ...s })),
      fmt,
    });
  });

  router.get('/reports', async (req, res) => {
    const { auth, clientId } = who(req);
    const [list, client] = await Promise.all([
      ctx.reports.list(auth, clientId),
      ctx.fleet.getClient(auth, clientId),
    ]);
    await ctx.audit.recordRead(auth, req.id, {
      action: 'report.list',
      targetType: 'client',
      targetId: clientId,
      after: { via: 'portal' },
    });
    render(req, res, 'portal/reports', { reports: list.reports, zone: client.timeZone, fmt });
  });

  // A sent report as the clinic received it: /reports/<id> (the HTML document) or /reports/<id>.pdf.
  router.get('/reports/:rid', async (req, res) => {
    const { auth } = who(req);
    const m = /^([0-9a-fA-F-]{36})(\.pdf)?$/.exec(String(req.params.rid));
    if (!m) throw new PageError(404, 'No such report.');
    const r = await ctx.reports.byId(auth, m[1]!);
    const format = m[2] ? 'pdf' : 'html';
    await ctx.audit.recordRead(auth, req.id, {
      action: 'report.read',
      targetType: 'report',
      targetId: r.meta.id,
      after: { format, via: 'portal' },
    });
    const file = `${r.report.client.slug}-${r.report.month}.${format}`;
    res.setHeader('X-Report-Sha256', r.sha256);
    if (format === 'pdf') {
      res.setHeader('Content-Disposition', `attachment; filename="${file}"`);
      return res.type('application/pdf').send(r.pdf);
    }
    // The stored document exactly as mailed, with its own inline style: allowed for this answer alone, and
    // sandboxed, so nothing in it can run script or reach the portal's session.
    res.setHeader(
      'Content-Security-Policy',
      "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'; sandbox",
    );
    res.setHeader('Content-Disposition', `inline; filename="${file}"`);
    return res.type('html').send(r.html);
  });

  router.get('/backups', async (req, res) => {
    const { auth, clientId } = who(req);
    const [status, client] = await Promise.all([
      ctx.backups.clientStatus(auth, clientId),
      ctx.fleet.getClient(auth, clientId),
    ]);
    render(req, res, 'portal/backups', { status, zone: client.timeZone, fmt });
  });
}
