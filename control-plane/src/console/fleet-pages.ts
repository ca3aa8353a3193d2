import type { Router } from 'express';
import type { Context } from '../context.ts';
import { check, compile } from '../http/validation.ts';
import * as fleetSchemas from '../fleet/schemas.ts';
import type { InstanceInput } from '../fleet/types.ts';
import type { InviteInput } from '../users/service.ts';
import * as userSchemas from '../users/schemas.ts';
import { fleetList } from './fleet-list.ts';
import { PageError, signedIn } from './guard.ts';
import { STAFF_ROLES } from './http.ts';
import { fieldErrors, sentence, type Render } from './render.ts';

const createInstance = compile<InstanceInput>(fleetSchemas.createInstance);
const invite = compile<InviteInput>(userSchemas.inviteBody);
/** Users 50 to a page, by e-mail, as the other lists (limit and an `after` cursor). */
const USERS_PAGE = 50;
const str = (v: unknown, max = 2048) => (typeof v === 'string' ? v.slice(0, max).trim() : '');

/** Fleet (clients and instances, registering one) and, for admins, users. */
export function fleetPages(router: Router, ctx: Context, render: Render): void {
  const fleetPage = fleetList(ctx, render);

  router.get('/fleet', signedIn(STAFF_ROLES), (req, res) => fleetPage(req, res));

  // The form's fields are named after the API body's JSON pointers, so its field errors land at them.
  router.post('/fleet/instances', signedIn(STAFF_ROLES), async (req, res) => {
    const b = req.body as Record<string, unknown>;
    const values = {
      client: str(b.client, 64),
      slug: str(b.slug, 200),
      environment: str(b.environment, 200),
      baseUrl: str(b.baseUrl),
      'services.0.name': str(b['services.0.name'], 200),
      'services.0.kind': str(b['services.0.kind'], 64),
      'services.0.probe.url': str(b['services.0.probe.url']),
    };
    const body = {
      client: values.client,
      slug: values.slug,
      environment: values.environment,
      baseUrl: values.baseUrl,
      services: values['services.0.name']
        ? [
            {
              name: values['services.0.name'],
              kind: values['services.0.kind'],
              probe: { type: 'http', url: values['services.0.probe.url'] },
            },
          ]
        : [],
    };
    try {
      const created = await ctx.fleet.createInstance(req.console!.auth, req.id, check(createInstance, body));
      return fleetPage(req, res, { registered: `${created.client.slug}/${created.slug}` }, 201);
    } catch (err) {
      const bad = fieldErrors(err);
      if (!bad) throw err;
      // The API's 409 names a constraint; a person needs the field: the client has an instance of that name.
      if ((err as { httpStatus?: number }).httpStatus === 409)
        bad.fields.slug = 'is taken: the client already has an instance of that name';
      return fleetPage(req, res, { errors: { _form: bad.message, ...bad.fields }, values }, 400);
    }
  });

  const usersPage = async (
    req: Parameters<Render>[0],
    res: Parameters<Render>[1],
    extra: object = {},
    status = 200,
  ) => {
    const after = typeof req.query.after === 'string' ? req.query.after.slice(0, 300) : undefined;
    const auth = req.console!.auth;
    const [page, clients] = await Promise.all([
      ctx.users
        .page({ limit: USERS_PAGE, ...(after !== undefined ? { after } : {}) })
        .catch((err: unknown) => {
          const bad = fieldErrors(err);
          throw bad
            ? new PageError(400, sentence('The page cursor (after)', bad.fields.after ?? bad.message))
            : err;
        }),
      ctx.fleet.listClients(auth, 'active'),
    ]);
    // The same read the API's GET /api/v1/users records.
    await ctx.audit.recordRead(auth, req.id, { action: 'user.list', targetType: 'user', targetId: null });
    const next = page.next ? `?after=${encodeURIComponent(page.next)}` : null;
    render(req, res, 'users', { users: page.users, next, clients, ...extra }, status);
  };
  router.get('/users', signedIn(['admin']), (req, res) => usersPage(req, res));
  router.post('/users', signedIn(['admin']), async (req, res) => {
    const b = req.body as Record<string, unknown>;
    const values = {
      email: str(b.email, 300),
      name: str(b.name, 300),
      role: str(b.role, 20),
      client: str(b.client, 64),
    };
    try {
      const body = check(invite, {
        email: values.email,
        name: values.name,
        role: values.role,
        ...(values.client ? { client: values.client } : {}),
      });
      const user = await ctx.users.invite(req.console!.auth, req.id, body);
      return usersPage(req, res, { invited: user.email }, 201);
    } catch (err) {
      const bad = fieldErrors(err);
      if (!bad) throw err;
      return usersPage(req, res, { errors: { _form: bad.message, ...bad.fields }, values }, 400);
    }
  });
}
