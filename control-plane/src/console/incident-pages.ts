import fs from 'node:fs';
import path from 'node:path';
import type { Request, Router } from 'express';
import type { Context } from '../context.ts';
import { check, compile } from '../http/validation.ts';
import * as incidentSchemas from '../incidents/schemas.ts';
import type { Incident } from '../incidents/types.ts';
import type { Eta } from 'eta';
import { signedIn } from './guard.ts';
import { incidentDetail } from './incident-actions.ts';
import { fieldErrors, helpers, type Render } from './render.ts';
import * as sessions from '../users/sessions.ts';
import { STAFF_ROLES, VIEWS_DIR } from './http.ts';

const PAGE = 50;
const FILTERS = ['status', 'severity', 'client', 'instance'] as const;
const listQuery = compile<incidentSchemas.ListQuery>(incidentSchemas.listQuery);
const note = compile<{ text: string; visibility: string }>(incidentSchemas.note);

/** The filters a list page was asked for, checked with the API's own query schema (a 400 names the field). */
function filtersOf(req: Request): {
  q: incidentSchemas.ListQuery;
  problem?: { message: string; fields: Record<string, string> };
} {
  const raw: Record<string, string> = {};
  for (const k of [...FILTERS, 'to'] as const) {
    const v = req.query[k];
    if (typeof v === 'string' && v !== '') raw[k] = v.slice(0, 100);
  }
  try {
    return { q: check(listQuery, raw, 'filters') };
  } catch (err) {
    return { q: {}, problem: fieldErrors(err) };
  }
}

/** Does `i` belong on a list with these filters (for live rows that arrive after the page was drawn)? */
function matches(i: Incident, q: incidentSchemas.ListQuery): boolean {
  return (
    (!q.status || i.status === q.status) &&
    (!q.severity || i.severity === q.severity) &&
    (!q.client || i.client?.slug === q.client || i.client?.id === q.client) &&
    (!q.instance || i.instance?.slug === q.instance || i.instance?.id === q.instance)
  );
}

export function incidentPages(router: Router, ctx: Context, render: Render, eta: Eta): void {
  const live = ctx.consoleLive;
  const staff = signedIn(STAFF_ROLES);
  // One row as the list and the live stream both draw it. The list page calls this per row rather than the
  // template's include, which resolves the file's path and copies the whole page's data for each of 50 rows.
  // Loaded once under a name, so that rendering it skips the views folder's path resolution.
  eta.loadTemplate('@incident-row', fs.readFileSync(path.join(VIEWS_DIR, 'incident-row.eta'), 'utf8'));
  const row = (i: Incident) => eta.render('@incident-row', { i, when: helpers.when });

  router.get('/incidents', staff, async (req, res) => {
    const { q, problem } = filtersOf(req);
    if (problem)
      return render(
        req,
        res,
        'incidents',
        { incidents: [], row, q, errors: problem.fields, next: null, live: '' },
        400,
      );
    // One more than a page tells whether there is a next one; paging goes by opened_at (the API's `to`). The
    // newest event id comes in the same statement: the live stream sends whatever changed after it (live.ts).
    const { incidents: rows, lastEventId: since } = await ctx.paging.incidents.listLive(req.console!.auth, {
      ...q,
      limit: String(PAGE + 1),
    });
    const page = rows.slice(0, PAGE);
    const params = new URLSearchParams();
    for (const k of FILTERS) if (q[k]) params.set(k, q[k]!);
    const next =
      rows.length > PAGE
        ? `?${params.toString()}${params.size ? '&' : ''}to=${encodeURIComponent(page[page.length - 1]!.openedAt)}`
        : null;
    render(req, res, 'incidents', {
      incidents: page,
      row,
      q,
      next,
      live: q.to
        ? ''
        : `/console/incidents/events?${params.toString()}${params.size ? '&' : ''}since=${since}`,
    });
  });

  // Server-sent events: each changed incident as its rendered row (a few hundred bytes), so the page's script
  // only swaps rows in and out and holds no templates of its own.
  router.get('/incidents/events', staff, (req, res) => {
    const { q } = filtersOf(req);
    const c = req.console!;
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      'X-Accel-Buffering': 'no',
    });
    res.write('retry: 5000\n\n');
    const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), 25_000);
    const since = Number(req.query.since);
    const unsubscribe = live.subscribe({
      auth: c.auth,
      ...(Number.isSafeInteger(since) && since >= 0 ? { since } : {}),
      send(inc) {
        const html = row(inc);
        const data = JSON.stringify({ id: inc.id, match: matches(inc, q), html });
        res.write(`event: incident\ndata: ${data}\n\n`);
      },
      alive: async () =>
        !!(await sessions.liveSession(ctx.pool, c.sessionId, ctx.config.console.idleSeconds, false)),
      close() {
        res.write('event: signedout\ndata: {}\n\n');
        res.end();
      },
    });
    req.on('close', () => {
      clearInterval(heartbeat);
      unsubscribe();
    });
  });

  const detail = incidentDetail(ctx, render);

  router.get('/incidents/:id', staff, (req, res) => detail(req, res));

  const action = (name: 'ack' | 'resolve') =>
    router.post(`/incidents/:id/${name}`, staff, async (req, res) => {
      const auth = req.console!.auth;
      const id = String(req.params.id).slice(0, 64);
      const text =
        typeof req.body.note === 'string' && req.body.note.trim() ? req.body.note.slice(0, 2000) : undefined;
      if (name === 'ack') await ctx.paging.incidents.acknowledge(auth, req.id, id, 'console', text);
      else await ctx.paging.incidents.resolve(auth, req.id, id, 'console', text);
      res.redirect(303, `/console/incidents/${encodeURIComponent(id)}`);
    });
  action('ack');
  action('resolve');

  router.post('/incidents/:id/notes', staff, async (req, res) => {
    const id = String(req.params.id).slice(0, 64);
    try {
      const body = check(note, { text: req.body.text ?? '', visibility: req.body.visibility ?? 'internal' });
      await ctx.paging.incidents.addNote(req.console!.auth, req.id, id, body.text, body.visibility);
    } catch (err) {
      const bad = fieldErrors(err);
      if (!bad || (err as { httpStatus?: number }).httpStatus === 404) throw err;
      return detail(
        req,
        res,
        { errors: bad.fields, values: { text: String(req.body.text ?? '').slice(0, 5000) } },
        400,
      );
    }
    res.redirect(303, `/console/incidents/${encodeURIComponent(id)}#timeline`);
  });
}
