import type { Api } from '../http/api.ts';
import { parseLimit } from '../http/range.ts';
import * as schemas from './schemas.ts';
import type { InviteInput, UserService } from './service.ts';

export function userRoutes(api: Api, users: UserService): void {
  api.route<InviteInput>({
    method: 'post',
    path: '/api/v1/users',
    operationId: 'inviteUser',
    summary:
      'Invites a console user: an e-mail link lets them choose a password (and, staff, a second factor)',
    tag: 'users',
    roles: ['admin'],
    body: schemas.inviteBody,
    status: 201,
    problems: [409],
    responseSchema: schemas.user,
    handler: ({ auth, req, body }) => users.invite(auth, req.id, body),
  });
  api.route<unknown, schemas.ListQuery>({
    method: 'get',
    path: '/api/v1/users',
    operationId: 'listUsers',
    summary: 'Lists console users by e-mail, at most 500 at a time; limit and after page them',
    tag: 'users',
    roles: ['admin'],
    responseSchema: schemas.userList,
    read: () => ({ action: 'user.list', targetType: 'user', targetId: null }),
    query: schemas.listQuery,
    handler: async ({ query }) =>
      (
        await users.page({
          limit: parseLimit(query.limit, 500, 500),
          ...(query.after !== undefined ? { after: query.after } : {}),
        })
      ).users,
  });
}
