/** Answers of the token routes (tokens/service.ts TokenView): the OpenAPI document's response schemas. */
import { ROLES } from '../http/auth.ts';

const tokenViewProperties = {
  id: { type: 'string', format: 'uuid' },
  name: { type: 'string' },
  role: { enum: [...ROLES] },
  client: { type: ['string', 'null'], description: 'the client id a client token is bound to' },
  prefix: { type: 'string', description: 'the first characters of the token, to tell tokens apart' },
  createdAt: { type: 'string', format: 'date-time' },
  lastUsedAt: { type: ['string', 'null'], format: 'date-time' },
  revokedAt: { type: ['string', 'null'], format: 'date-time' },
} as const;
const required = ['id', 'name', 'role', 'client', 'prefix', 'createdAt', 'lastUsedAt', 'revokedAt'];

export const tokenList = {
  type: 'array',
  items: { type: 'object', required, properties: tokenViewProperties },
} as const;

/** A new token: its secret is in this answer only. */
export const createdToken = {
  type: 'object',
  required: [...required, 'token'],
  properties: { ...tokenViewProperties, token: { type: 'string' } },
} as const;

/** The body of POST /api/v1/tokens (and of the console's token form). */
export const createBody = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'role'],
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 100 },
    role: { enum: [...ROLES] },
    client: { type: 'string', minLength: 1, maxLength: 64, description: 'client id or slug' },
  },
} as const;
