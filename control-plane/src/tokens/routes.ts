import type { Api } from '../http/api.ts';
import type { Role } from '../http/auth.ts';
import * as schemas from './schemas.ts';
import type { TokenService } from './service.ts';

export function tokenRoutes(api: Api, tokens: TokenService): void {
  api.route<{ name: string; role: Role; client?: string }>({
    method: 'post',
    path: '/api/v1/tokens',
    operationId: 'createToken',
    responseSchema: schemas.createdToken,
    summary: 'Creates an API token; the token is in this answer only',
    tag: 'tokens',
    roles: ['admin'],
    body: schemas.createBody,
    status: 201,
    handler: ({ auth, req, body }) => tokens.create(auth, req.id, body),
  });
  api.route({
    method: 'get',
    path: '/api/v1/tokens',
    operationId: 'listTokens',
    responseSchema: schemas.tokenList,
    summary: 'Lists tokens (never their secrets)',
    tag: 'tokens',
    roles: ['admin'],
    read: () => ({ action: 'token.list', targetType: 'token', targetId: null }),
    handler: () => tokens.list(),
  });
  api.route({
    method: 'post',
    path: '/api/v1/tokens/:id/revoke',
    operationId: 'revokeToken',
    summary: 'Revokes a token',
    tag: 'tokens',
    roles: ['admin'],
    handler: ({ auth, req, params }) => tokens.revoke(auth, req.id, params.id!),
  });
}
