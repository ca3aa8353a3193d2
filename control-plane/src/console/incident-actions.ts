import type { Request, Response, Router } from 'express';
import type { Context } from '../context.ts';
import { AppError } from '../http/errors.ts';
import { check, compile } from '../http/validation.ts';
import * as incidentSchemas from '../incidents/schemas.ts';
import { signedIn } from './guard.ts';
import { STAFF_ROLES } from './http.ts';
import { fieldErrors, refuseUnstorable, type Render } from './render.ts';

const reassign = compile<{ responder?: string; rotation?: string; note?: string }>(incidentSchemas.reassign);
const raise = compile<{ severity: 'warning' | 'critical'; note?: string }>(incidentSchemas.raiseSeverity);
const note = compile<{ text: string; visibility: string }>(incidentSchemas.note);
const str = (v: unknown, max: number) => (typeof v === 'string' ? v.slice(0, max).trim() : '');

/** An incident's page: its facts, the pages sent, the timeline and the forms that act on it. */
export function incidentDetail(ctx: Context, render: Render) {
  return async (req: Request, res: Response, extra: object = {}, status = 200) => {
    const auth = req.console!.auth;
    const id = String(req.params.id).slice(0, 64);
    const [incident, timeline, responders, rotations] = await Promise.all([
      ctx.paging.incidents.get(auth, id),
      ctx.paging.incidents.timeline(auth, id),
      ctx.oncall.listResponders(),
      ctx.oncall.listRotations(),
    ]);
    const names = new Map(responders.map((r) => [r.id, r.name]));
    const pages = await ctx.paging.notify.pagesOf(incident.id);
    render(
      req,
      res,
      'incident',
      {
        incident,
        timeline,
        pages,
        responders: responders.filter((r) => r.active).map((r) => ({ id: r.id, name: r.name, role: r.role })),
        rotations: rotations.map((r) => ({
          id: r.id,
          name: r.name,
          onCallName: r.onCall ? (names.get(r.onCall.responderId) ?? null) : null,
        })),
        ...extra,
      },
      status,
    );
  };
}

/**
 * Reassign, raise severity and edit the public summary: each calls the incident service the API's route calls
 * (POST /api/v1/incidents/{id}/reassign, /severity, /notes with visibility public), with the person as caller.
 * Its errors are shown at the form's fields; the API's 404 and 409 (another client's incident, a resolved
 * one) are shown as the page's error. Every change writes a timeline event, so open lists update live.
 */
export function incidentActions(router: Router, ctx: Context, render: Render): void {
  const staff = signedIn(STAFF_ROLES);
  const detail = incidentDetail(ctx, render);
  const idOf = (req: Request) => String(req.params.id).slice(0, 64);
  const back = (res: Response, id: string, anchor: string) =>
    res.redirect(303, `/console/incidents/${encodeURIComponent(id)}#${anchor}`);

  /** Runs `act`; a 400 re-renders the page with its field errors under the form's names (`rename`). */
  const acting = async (
    req: Request,
    res: Response,
    form: string,
    values: Record<string, string>,
    rename: Record<string, string>,
    act: () => Promise<unknown>,
  ) => {
    try {
      refuseUnstorable(req.body);
      await act();
    } catch (err) {
      const bad = fieldErrors(err);
      if (!bad || (err instanceof AppError && err.httpStatus !== 400)) throw err;
      const errors: Record<string, string> = {};
      for (const [k, v] of Object.entries(bad.fields)) errors[rename[k] ?? k] = v;
      if (Object.keys(errors).length === 0) errors[`${form}._form`] = bad.message;
      return detail(req, res, { errors, values, form }, 400);
    }
    back(res, idOf(req), form);
  };

  // One choice, `responder:<id>` or `rotation:<id>` (whoever is on call there), as the API's responder or
  // rotation; the API's errors at either are shown at the one field.
  router.post('/incidents/:id/reassign', staff, (req, res) => {
    const values = { assignee: str(req.body.assignee, 300), 'reassign-note': str(req.body.note, 2000) };
    const [kind, target] = /^(responder|rotation):(.+)$/.exec(values.assignee)?.slice(1) ?? [];
    const rename = { note: 'reassign-note', responder: 'assignee', rotation: 'assignee' };
    return acting(req, res, 'reassign', values, rename, () => {
      const body = check(reassign, {
        ...(kind && target ? { [kind]: target } : {}),
        ...(values['reassign-note'] ? { note: values['reassign-note'] } : {}),
      });
      return ctx.paging.incidents.reassign(req.console!.auth, req.id, idOf(req), body);
    });
  });

  router.post('/incidents/:id/severity', staff, (req, res) => {
    const values = { severity: str(req.body.severity, 20), 'severity-note': str(req.body.note, 2000) };
    return acting(req, res, 'severity', values, { note: 'severity-note' }, () => {
      const body = check(raise, {
        severity: values.severity,
        ...(values['severity-note'] ? { note: values['severity-note'] } : {}),
      });
      return ctx.paging.incidents.raiseSeverity(
        req.console!.auth,
        req.id,
        idOf(req),
        body.severity,
        body.note,
      );
    });
  });

  // The public summary is what a public note sets (the API's addIncidentNote): the client reads the new
  // text, and the timeline says who changed it and when.
  router.post('/incidents/:id/summary', staff, (req, res) => {
    const values = { publicSummary: str(req.body.publicSummary, 5000) };
    return acting(req, res, 'summary', values, { text: 'publicSummary' }, () => {
      const body = check(note, { text: values.publicSummary, visibility: 'public' });
      return ctx.paging.incidents.addNote(req.console!.auth, req.id, idOf(req), body.text, body.visibility);
    });
  });
}
