import type { Api } from '../http/api.ts';
import { STAFF } from '../http/auth.ts';
import * as schemas from './schemas.ts';
import type { CalendarService } from './calendar.ts';
import type { OnCallService, OverrideInput, ResponderInput, RotationInput } from './service.ts';

const calendarQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { token: { type: 'string', maxLength: 200, description: "the secret link's token" } },
} as const;
const calendarLink = {
  type: 'object',
  additionalProperties: false,
  required: ['url', 'token'],
  properties: {
    url: { type: 'string', description: 'the secret link to subscribe to (shown once)' },
    token: { type: 'string' },
  },
} as const;

export function onCallRoutes(api: Api, oncall: OnCallService, calendars: CalendarService): void {
  for (const owner of ['rotation', 'responder'] as const) {
    const Owner = owner === 'rotation' ? 'Rotation' : 'Responder';
    api.route({
      method: 'post',
      path: `/api/v1/${owner}s/:id/calendar-link`,
      operationId: `create${Owner}CalendarLink`,
      summary: `A new secret iCalendar link to the ${owner}'s on-call shifts; the old link stops working`,
      tag: 'oncall',
      roles: STAFF,
      status: 201,
      responseSchema: calendarLink,
      handler: ({ auth, req, params }) => calendars.newLink(auth, req.id, owner, params.id!),
    });
    api.route<unknown, { token?: string }>({
      method: 'get',
      path: `/api/v1/${owner}s/:id/calendar.ics`,
      operationId: `get${Owner}Calendar`,
      summary: `The ${owner}'s on-call shifts as iCalendar (RFC 5545), last 7 and next 92 days; ?token= from its link`,
      tag: 'oncall',
      // The token in the link is the credential: calendar apps send no Authorization header.
      roles: 'public',
      query: calendarQuery,
      produces: ['text/calendar'],
      handler: async ({ params, query, res }) => {
        const ics = await calendars.calendar(owner, params.id!, query.token);
        res.type('text/calendar; charset=utf-8').set('Cache-Control', 'private, max-age=300').send(ics);
      },
    });
  }
  api.route({
    method: 'get',
    path: '/api/v1/responders',
    operationId: 'listResponders',
    summary: 'Responders: who can be paged (contact details for staff only)',
    tag: 'oncall',
    roles: STAFF,
    read: () => ({ action: 'responder.list', targetType: 'responder', targetId: null }),
    handler: () => oncall.listResponders(),
  });
  api.route<ResponderInput>({
    method: 'post',
    path: '/api/v1/responders',
    operationId: 'createResponder',
    summary: 'Adds a responder {name, role, phone?, email?}; audited without the contact details',
    tag: 'oncall',
    roles: STAFF,
    body: schemas.createResponder,
    status: 201,
    handler: ({ auth, req, body }) => oncall.createResponder(auth, req.id, body),
  });
  api.route<Partial<ResponderInput>>({
    method: 'patch',
    path: '/api/v1/responders/:id',
    operationId: 'updateResponder',
    summary: 'Changes a responder (active: false stops paging them)',
    tag: 'oncall',
    roles: STAFF,
    body: schemas.updateResponder,
    handler: ({ auth, req, params, body }) => oncall.updateResponder(auth, req.id, params.id!, body),
  });
  api.route({
    method: 'get',
    path: '/api/v1/rotations',
    operationId: 'listRotations',
    summary: 'On-call rotations, each with who is on call now',
    tag: 'oncall',
    roles: STAFF,
    handler: () => oncall.listRotations(),
  });
  api.route<RotationInput>({
    method: 'post',
    path: '/api/v1/rotations',
    operationId: 'createRotation',
    summary: 'Adds a rotation: ordered members, daily or weekly hand-off at a local time in a time zone',
    tag: 'oncall',
    roles: STAFF,
    body: schemas.createRotation,
    status: 201,
    handler: ({ auth, req, body }) => oncall.createRotation(auth, req.id, body),
  });
  api.route({
    method: 'get',
    path: '/api/v1/rotations/:id',
    operationId: 'getRotation',
    summary: 'A rotation by id or name, with who is on call now and its overrides to come',
    tag: 'oncall',
    roles: STAFF,
    handler: ({ params }) => oncall.getRotation(params.id!),
  });
  api.route<Partial<RotationInput>>({
    method: 'patch',
    path: '/api/v1/rotations/:id',
    operationId: 'updateRotation',
    summary: 'Changes a rotation (members, hand-off, zone, start date)',
    tag: 'oncall',
    roles: STAFF,
    body: schemas.updateRotation,
    handler: ({ auth, req, params, body }) => oncall.updateRotation(auth, req.id, params.id!, body),
  });
  api.route({
    method: 'delete',
    path: '/api/v1/rotations/:id',
    operationId: 'deleteRotation',
    summary: 'Deletes a rotation that no escalation level targets (409 otherwise)',
    tag: 'oncall',
    roles: STAFF,
    handler: ({ auth, req, params }) => oncall.removeRotation(auth, req.id, params.id!),
  });
  api.route<unknown, { from?: string; to?: string }>({
    method: 'get',
    path: '/api/v1/rotations/:id/schedule',
    operationId: 'getRotationSchedule',
    summary: 'Schedule preview: who is on call from..to (default the next 14 days, at most 92)',
    tag: 'oncall',
    roles: STAFF,
    query: schemas.previewQuery,
    handler: ({ params, query }) => oncall.preview(params.id!, query),
  });
  api.route<OverrideInput>({
    method: 'post',
    path: '/api/v1/rotations/:id/overrides',
    operationId: 'createRotationOverride',
    summary: 'Puts another responder on call for a period (the latest override wins where they overlap)',
    tag: 'oncall',
    roles: STAFF,
    body: schemas.createOverride,
    status: 201,
    handler: ({ auth, req, params, body }) => oncall.addOverride(auth, req.id, params.id!, body),
  });
  api.route({
    method: 'delete',
    path: '/api/v1/rotations/:id/overrides/:overrideId',
    operationId: 'deleteRotationOverride',
    summary: 'Removes an override',
    tag: 'oncall',
    roles: STAFF,
    handler: ({ auth, req, params }) => oncall.removeOverride(auth, req.id, params.id!, params.overrideId!),
  });
  api.route<unknown, { rotation?: string }>({
    method: 'get',
    path: '/api/v1/oncall/now',
    operationId: 'getOnCallNow',
    summary: 'Who is on call now in every rotation (or ?rotation=), since and until when',
    tag: 'oncall',
    roles: STAFF,
    query: schemas.nowQuery,
    handler: ({ query }) => oncall.now(query),
  });
}
