import type { NextFunction, Request, Response, Router } from 'express';
import { DateTime } from 'luxon';
import type { Context } from '../context.ts';
import type { ValidationError } from '../http/errors.ts';
import { check, compile } from '../http/validation.ts';
import { parseMonthParam, reasonBody } from '../reports/routes.ts';
import { signedIn } from './guard.ts';
import { STAFF_ROLES } from './http.ts';
import { formAction, queryParam, refuseUnstorable, str } from './ops-common.ts';
import type { Render } from './render.ts';

/** Clients on one page of a month's reports across clients. */
const MONTH_PAGE = 50;
const correction = compile<{ reason: string }>(reasonBody);

/**
 * The report itself is the HTML the reports service renders (and mails): it carries its own inline styles, so
 * it is shown in a sandboxed frame with a policy of its own (no script, nothing fetched, framed only here).
 */
const REPORT_CSP =
  "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'; base-uri 'none'; form-action 'none'";

/** The console's policy, plus frames from the console itself (the report's preview). */
function allowFrame(_req: Request, res: Response, next: NextFunction) {
  const csp = res.getHeader('Content-Security-Policy');
  if (typeof csp === 'string') res.setHeader('Content-Security-Policy', `${csp};frame-src 'self'`);
  next();
}

function sendReportHtml(res: Response, html: string) {
  res.setHeader('Content-Security-Policy', REPORT_CSP);
  res.setHeader('X-Frame-Options', 'SAMEORIGIN');
  res.type('html').send(html);
}

/** `YYYY-MM` from a path or form, or a 400 naming the month (the API's own rule). */
const monthOf = (raw: string) => parseMonthParam(raw.slice(0, 20), undefined).month;

/** Reports per client and month: list, preview in the page, approve (which sends), correct, resend. */
export function reportPages(router: Router, ctx: Context, render: Render): void {
  const staff = signedIn(STAFF_ROLES);

  router.get('/reports', staff, async (req, res) => {
    const auth = req.console!.auth;
    const clients = await ctx.fleet.listClients(auth, 'active');
    const asked = queryParam(req, 'client', 64);
    const client = asked ? await ctx.fleet.getClient(auth, asked) : undefined;
    // Without a client: one month across every client, by default the month just ended (the one to review).
    const rawMonth =
      queryParam(req, 'month', 20) ??
      (client ? undefined : DateTime.utc().minus({ months: 1 }).toFormat('yyyy-MM'));
    let month: string | undefined;
    const errors: Record<string, string> = {};
    if (rawMonth) {
      try {
        month = monthOf(rawMonth);
      } catch (err) {
        errors.month = (err as ValidationError).errors?.[0]?.message ?? 'must be YYYY-MM';
      }
    }
    const listed = client ? await ctx.reports.list(auth, client.id) : undefined;
    const across =
      !client && month
        ? await ctx.reports.listMonth(auth, month, MONTH_PAGE, queryParam(req, 'after', 64))
        : undefined;
    for (const id of client ? [client.id] : (across?.clients.map((c) => c.client.id) ?? []))
      await ctx.audit.recordRead(auth, req.id, {
        action: 'report.list',
        targetType: 'client',
        targetId: id,
        after: month ? { month } : null,
      });
    const reports = (listed?.reports ?? []).filter((r) => !month || r.month === month);
    render(
      req,
      res,
      'reports',
      {
        title: 'Reports',
        clients,
        client,
        reports,
        across,
        month,
        values: { month: rawMonth ?? '' },
        errors,
      },
      errors.month ? 400 : 200,
    );
  });

  const monthPage = async (
    req: Request,
    res: Response,
    extra: Record<string, unknown> = {},
    status = 200,
  ) => {
    const auth = req.console!.auth;
    const client = await ctx.fleet.getClient(auth, String(req.params.client).slice(0, 64));
    const month = monthOf(String(req.params.month));
    const versions = (await ctx.reports.list(auth, client.id)).reports.filter((r) => r.month === month);
    await ctx.audit.recordRead(auth, req.id, {
      action: 'report.list',
      targetType: 'client',
      targetId: client.id,
      after: { month },
    });
    render(
      req,
      res,
      'report-month',
      {
        title: `${client.slug} ${month}`,
        client,
        month,
        versions,
        sent: versions.find((v) => v.status === 'sent'),
        done: queryParam(req, 'done', 20),
        ...extra,
      },
      status,
    );
  };

  router.get('/reports/month/:client/:month', staff, allowFrame, (req, res) => monthPage(req, res));

  // The month as the API's GET answers it in HTML: the newest sent version, else composed now (a preview).
  router.get('/reports/month/:client/:month/content', staff, async (req, res) => {
    const auth = req.console!.auth;
    const month = monthOf(String(req.params.month));
    const r = await ctx.reports.forMonth(auth, String(req.params.client).slice(0, 64), month);
    await ctx.audit.recordRead(auth, req.id, {
      action: 'report.read',
      targetType: 'client',
      targetId: r.report.client.id,
      after: { month, format: 'html' },
    });
    sendReportHtml(res, r.html);
  });

  router.post('/reports/month/:client/:month/correct', staff, allowFrame, async (req, res) => {
    const auth = req.console!.auth;
    const reason = str((req.body as Record<string, unknown>).reason, 2100);
    await formAction(
      async () => {
        refuseUnstorable({ reason });
        const body = check(correction, { reason });
        const month = monthOf(String(req.params.month));
        const v = await ctx.reports.correct(
          auth,
          req.id,
          String(req.params.client).slice(0, 64),
          month,
          body.reason,
        );
        res.redirect(303, `/console/reports/version/${v.id}?done=corrected`);
      },
      (errors) => monthPage(req, res, { errors, values: { reason } }, 400),
    );
  });

  router.post('/reports/month/:client/:month/resend', staff, async (req, res) => {
    const auth = req.console!.auth;
    const month = monthOf(String(req.params.month));
    const v = await ctx.reports.resend(auth, req.id, String(req.params.client).slice(0, 64), month);
    res.redirect(303, `/console/reports/version/${v.id}?done=resent`);
  });

  router.get('/reports/version/:rid', staff, allowFrame, async (req, res) => {
    const auth = req.console!.auth;
    const r = await ctx.reports.byId(auth, String(req.params.rid).slice(0, 64));
    await ctx.audit.recordRead(auth, req.id, {
      action: 'report.read',
      targetType: 'report',
      targetId: r.meta.id,
      after: null,
    });
    // What was done to this version (approve, correct, resend), from the audit log: admins only, as the API's
    // audit route is; the page's own reads are left out.
    let history: { at: string; actor: string; action: string }[] | undefined;
    if (req.console!.user.role === 'admin') {
      const rows = await ctx.audit.list({ targetType: 'report', targetId: r.meta.id, limit: 200 });
      await ctx.audit.recordRead(auth, req.id, {
        action: 'audit.read',
        targetType: 'audit',
        targetId: null,
        after: { query: { targetType: 'report', targetId: r.meta.id } },
      });
      history = rows.filter((x) => !x.action.endsWith('.read')).slice(0, 20);
    }
    render(req, res, 'report-version', {
      title: `${r.report.client.slug} ${r.meta.month} v${r.meta.version}`,
      history,
      meta: r.meta,
      client: r.report.client,
      done: queryParam(req, 'done', 20),
    });
  });

  router.get('/reports/version/:rid/content', staff, async (req, res) => {
    const auth = req.console!.auth;
    const r = await ctx.reports.byId(auth, String(req.params.rid).slice(0, 64));
    await ctx.audit.recordRead(auth, req.id, {
      action: 'report.read',
      targetType: 'report',
      targetId: r.meta.id,
      after: { format: 'html' },
    });
    sendReportHtml(res, r.html);
  });

  router.post('/reports/version/:rid/approve', staff, async (req, res) => {
    const m = await ctx.reports.approve(req.console!.auth, req.id, String(req.params.rid).slice(0, 64));
    res.redirect(303, `/console/reports/version/${m.id}?done=approved`);
  });
}
