import type { Request, Response } from 'express';
import type { FleetService } from '../fleet/service.ts';
import type { Api } from '../http/api.ts';
import { sendProblem } from '../http/errors.ts';

// The link's one parameter: the contact's unsubscribe token (any other query parameter is a 400, http/api.ts).
const linkQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { t: { type: 'string', maxLength: 200 } },
} as const;

const esc = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** An address shown to whoever holds the link, partly hidden: j***@clinic.example. */
const masked = (email: string) => email.replace(/^(.)[^@]*/, '$1***');

/**
 * A small page of its own: no script, no outside resource, not cached, and no Referer that would carry the
 * token to another site.
 */
function page(res: Response, status: number, title: string, body: string): void {
  res
    .status(status)
    .set({
      'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
      'Referrer-Policy': 'no-referrer',
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
    })
    .type('html')
    .send(
      `<!doctype html><html lang="en"><head><meta charset="utf-8">` +
        `<meta name="viewport" content="width=device-width, initial-scale=1"><title>${esc(title)}</title>` +
        `<style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:2rem auto;padding:0 1rem}` +
        `button{font-size:1rem;padding:.6rem 1.2rem}</style></head>` +
        `<body><main><h1>${esc(title)}</h1>${body}</main></body></html>`,
    );
}

/**
 * An unknown link: a page for a browser (which asks for HTML by name), problem+json for anything else, as every
 * refusal of the API is.
 */
function unknownLink(req: Request, res: Response): void {
  if (req.accepts(['application/problem+json', 'text/html']) === 'text/html')
    return page(
      res,
      404,
      'Unknown link',
      '<p>This link is not valid. It may have been copied incompletely.</p>',
    );
  sendProblem(res, 404, 'this unsubscribe link is not valid');
}

const linkToken = (req: Request): string => (typeof req.query.t === 'string' ? req.query.t : '');

export function statusUpdateRoutes(api: Api, fleet: FleetService): void {
  api.route({
    method: 'get',
    path: '/api/v1/status-updates/unsubscribe',
    operationId: 'showStatusUnsubscribePage',
    produces: ['text/html'],
    problems: [404],
    summary:
      "A status update's unsubscribe link: a confirmation page (mail scanners that follow links change nothing)",
    tag: 'status updates',
    roles: 'public',
    query: linkQuery,
    handler: async ({ req, res }) => {
      const t = linkToken(req);
      const c = t ? await fleet.statusContactByToken(t) : undefined;
      if (!c) return unknownLink(req, res);
      if (c.unsubscribed) return page(res, 200, 'Unsubscribed', unsubscribed(c, t));
      page(
        res,
        200,
        'Unsubscribe from status updates',
        `<p>Stop e-mail and SMS updates about incidents and maintenance of ${esc(c.clientName)} to ` +
          `${esc(masked(c.email))}?</p><form method="post" action="?t=${encodeURIComponent(t)}">` +
          `<button type="submit">Unsubscribe</button></form>`,
      );
    },
  });
  const linkAction = (
    path: string,
    operationId: string,
    summary: string,
    subscribed: boolean,
    done: (
      res: Response,
      c: NonNullable<Awaited<ReturnType<FleetService['setStatusContactSubscribed']>>>,
      t: string,
    ) => void,
  ) =>
    api.route({
      method: 'post',
      path,
      operationId,
      produces: ['text/html'],
      problems: [404],
      summary,
      tag: 'status updates',
      roles: 'public',
      query: linkQuery,
      handler: async ({ req, res }) => {
        const t = linkToken(req);
        const c = t
          ? await fleet.setStatusContactSubscribed('status contact (unsubscribe link)', req.id, t, subscribed)
          : undefined;
        if (!c) return unknownLink(req, res);
        done(res, c, t);
      },
    });
  linkAction(
    '/api/v1/status-updates/unsubscribe',
    'unsubscribeStatusContact',
    'Unsubscribes the status contact the link names (also one-click, RFC 8058); audited',
    false,
    (res, c, t) => page(res, 200, 'Unsubscribed', unsubscribed(c, t)),
  );
  linkAction(
    '/api/v1/status-updates/resubscribe',
    'resubscribeStatusContact',
    'Undoes an unsubscribe, from the same link (only its holder can); audited',
    true,
    (res, c) =>
      page(
        res,
        200,
        'Subscribed again',
        `<p>${esc(masked(c.email))} receives status updates of ${esc(c.clientName)} again` +
          `${c.listed ? '' : ' once your provider lists the address again'}.</p>`,
      ),
  );
}

/** After unsubscribing: what happened, and the way back (the provider cannot subscribe anyone again). */
const unsubscribed = (c: { email: string; clientName: string }, t: string) =>
  `<p>${esc(masked(c.email))} receives no more status updates of ${esc(c.clientName)}.</p>` +
  `<form method="post" action="resubscribe?t=${encodeURIComponent(t)}">` +
  `<button type="submit">Subscribe again</button></form>`;
