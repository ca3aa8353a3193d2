import type { Request, Response, Router } from 'express';
import type { Context } from '../context.ts';
import * as auditSchemas from '../audit/schemas.ts';
import { ROLES, type Role } from '../http/auth.ts';
import { ValidationError } from '../http/errors.ts';
import { unstorable } from '../http/unstorable.ts';
import { check, compile } from '../http/validation.ts';
import * as tokenSchemas from '../tokens/schemas.ts';
import { putFlash, takeFlash } from './flash.ts';
import { signedIn } from './guard.ts';
import { fieldErrors, type Render } from './render.ts';

const PAGE = 50;
const createToken = compile<{ name: string; role: Role; client?: string }>(tokenSchemas.createBody);
const auditQuery = compile<auditSchemas.ListQuery>(auditSchemas.listQuery);
const AUDIT_FILTERS = ['actor', 'action', 'targetType', 'targetId', 'from', 'to'] as const;

const str = (v: unknown, max: number) => (typeof v === 'string' ? v.slice(0, max).trim() : '');

/** The API's schema check, after the API's own refusal of text PostgreSQL cannot hold (NUL, lone surrogates). */
function checked<T>(
  validate: Parameters<typeof check<T>>[0],
  data: Record<string, unknown>,
  what: string,
): T {
  const bad = unstorable(data);
  if (bad.length > 0) throw new ValidationError(`${what} holds text that cannot be stored`, bad);
  return check(validate, data, what);
}

/** "7 Dec 2026, 14:05 UTC": how people read a time (the exact instant is in the <time datetime> beside it). */
const when = (iso: string) =>
  new Intl.DateTimeFormat('en-GB', {
    day: 'numeric',
    month: 'short',
    year: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
    timeZone: 'UTC',
  }).format(new Date(iso)) + ' UTC';

/**
 * A `datetime-local` field's value (minutes, no zone) as the API's date-time, read as UTC as the label says; any
 * other text goes to the API's schema as it is, which names what is wrong with it.
 */
const utc = (v: string) => (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$/.test(v) ? `${v}:00Z` : v);

/** Admins' pages: API tokens (list, create with the secret shown once, revoke) and the audit log with filters. */
export function adminPages(router: Router, ctx: Context, render: Render): void {
  const admin = signedIn(['admin']);

  const tokensPage = async (req: Request, res: Response, extra: object = {}, status = 200) => {
    const all = req.query.show === 'all';
    const after = typeof req.query.after === 'string' ? req.query.after.slice(0, 100) : undefined;
    const auth = req.console!.auth;
    const [page, clients] = await Promise.all([
      ctx.tokens.page({ all, limit: PAGE, ...(after ? { after } : {}) }),
      ctx.fleet.listClients(auth, 'active'),
    ]);
    // The same read the API's GET /api/v1/tokens records.
    await ctx.audit.recordRead(auth, req.id, { action: 'token.list', targetType: 'token', targetId: null });
    const slugs = new Map(clients.map((c) => [c.id, c.slug]));
    render(
      req,
      res,
      'tokens',
      {
        tokens: page.tokens.map((t) => ({
          ...t,
          clientSlug: t.client ? (slugs.get(t.client) ?? t.client) : '',
        })),
        next: page.next ? `?${all ? 'show=all&' : ''}after=${encodeURIComponent(page.next)}` : null,
        all,
        revoked: typeof req.query.revoked === 'string' && !('created' in extra),
        clients,
        // The most powerful role last, so that it is never the form's default.
        roles: [...ROLES.filter((r) => r !== 'admin'), 'admin'],
        when,
        ...extra,
      },
      status,
    );
  };

  // A token just created (below) is shown here once, from the flash; a reload shows the list without it.
  router.get('/tokens', admin, async (req, res) => {
    const created = await takeFlash<object>(ctx, req, res, 'token');
    return tokensPage(req, res, created ? { created } : {});
  });

  router.post('/tokens', admin, async (req, res) => {
    const b = req.body as Record<string, unknown>;
    const values = { name: str(b.name, 300), role: str(b.role, 32), client: str(b.client, 64) };
    try {
      const body = checked(
        createToken,
        { name: values.name, role: values.role, ...(values.client ? { client: values.client } : {}) },
        'request body',
      );
      const created = await ctx.tokens.create(req.console!.auth, req.id, body);
      // POST-redirect-GET: reloading the page that shows the secret must not create a second token. The secret
      // crosses the redirect sealed in a one-time flash, and the page after it (no-store) shows it once.
      await putFlash(ctx, req, res, 'token', created);
      return res.redirect(303, '/console/tokens');
    } catch (err) {
      const bad = fieldErrors(err);
      if (!bad) throw err;
      return tokensPage(req, res, { errors: { _form: bad.message, ...bad.fields }, values }, 400);
    }
  });

  // Revoking asks first: a page that names the token and what stops working, then the POST.
  router.get('/tokens/:id/revoke', admin, async (req, res) => {
    const token = await ctx.tokens.get(String(req.params.id).slice(0, 64));
    render(req, res, 'token-revoke', { token, when });
  });

  router.post('/tokens/:id/revoke', admin, async (req, res) => {
    const token = await ctx.tokens.revoke(req.console!.auth, req.id, String(req.params.id).slice(0, 64));
    res.redirect(303, `/console/tokens?revoked=${encodeURIComponent(token.id)}`);
  });

  router.get('/audit', admin, async (req, res) => {
    const values: Record<string, string> = {};
    for (const k of AUDIT_FILTERS) {
      const v = req.query[k];
      if (typeof v === 'string' && v.trim() !== '') values[k] = v.slice(0, 300).trim();
    }
    const raw: Record<string, string> = { ...values, limit: String(PAGE + 1) };
    if (raw.from) raw.from = utc(raw.from);
    if (raw.to) raw.to = utc(raw.to);
    if (typeof req.query.before === 'string') raw.before = req.query.before.slice(0, 30);
    let entries: Awaited<ReturnType<typeof ctx.audit.list>>;
    let filter;
    try {
      // Always a time range (the last 31 days by default, at most 366): the page reads a bounded stretch.
      const q = checked(auditQuery, raw, 'filters');
      filter = ctx.audit.listFilter(q, true);
      entries = await ctx.audit.list(filter);
    } catch (err) {
      const bad = fieldErrors(err);
      if (!bad) throw err;
      return render(req, res, 'audit', { entries: [], values, errors: bad.fields, next: null, when }, 400);
    }
    // Reading the audit log is itself recorded, as through the API.
    await ctx.audit.recordRead(req.console!.auth, req.id, {
      action: 'audit.read',
      targetType: 'audit',
      targetId: null,
      after: { query: { ...values, ...(raw.before ? { before: raw.before } : {}) } },
    });
    const page = entries.slice(0, PAGE);
    const params = new URLSearchParams(values);
    const next =
      entries.length > PAGE
        ? `?${params.toString()}${params.size ? '&' : ''}before=${page[page.length - 1]!.seq}`
        : null;
    render(req, res, 'audit', {
      entries: page,
      values,
      next,
      when,
      range: { from: filter.from!.toISOString(), to: filter.to!.toISOString() },
    });
  });
}
