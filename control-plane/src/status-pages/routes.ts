import type { Api } from '../http/api.ts';
import { STAFF } from '../http/auth.ts';
import * as schemas from './schemas.ts';
import type { StatusPageService } from './service.ts';

export function statusPageRoutes(api: Api, pages: StatusPageService): void {
  api.route({
    method: 'get',
    path: '/api/v1/clients/:id/status-page',
    operationId: 'getClientStatusPage',
    summary:
      "Whether the client's public status page is on and shows its name (its URL is shown only when made)",
    tag: 'fleet',
    roles: STAFF,
    responseSchema: schemas.settings,
    handler: ({ auth, params }) => pages.get(auth, params.id!),
  });
  api.route<schemas.SettingsInput>({
    method: 'put',
    path: '/api/v1/clients/:id/status-page',
    operationId: 'setClientStatusPage',
    summary:
      "Turns the client's public status page on or off and chooses whether it shows the client's name; " +
      'the first call makes its URL, returned once',
    tag: 'fleet',
    roles: STAFF,
    body: schemas.settingsBody,
    responseSchema: schemas.settings,
    handler: ({ auth, req, params, body }) => pages.set(auth, req.id, params.id!, body),
  });
  api.route({
    method: 'post',
    path: '/api/v1/clients/:id/status-page/rotate',
    operationId: 'rotateClientStatusPage',
    summary: "A new URL for the client's status page, returned once; the old URL answers 404 at once",
    tag: 'fleet',
    roles: STAFF,
    responseSchema: schemas.settings,
    handler: ({ auth, req, params }) => pages.rotate(auth, req.id, params.id!),
  });
}
