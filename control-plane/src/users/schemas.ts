/** Request and answer schemas of the user routes (users/service.ts UserView). */
export const USER_ROLES = ['admin', 'operator', 'client'] as const;

export const inviteBody = {
  type: 'object',
  additionalProperties: false,
  required: ['email', 'name', 'role'],
  properties: {
    email: { type: 'string', format: 'email', maxLength: 254 },
    name: { type: 'string', minLength: 1, maxLength: 200 },
    role: { enum: [...USER_ROLES] },
    client: {
      type: 'string',
      minLength: 1,
      maxLength: 64,
      description: 'client id or slug (role client only)',
    },
  },
} as const;

const userProperties = {
  id: { type: 'string', format: 'uuid' },
  email: { type: 'string' },
  name: { type: 'string' },
  role: { enum: [...USER_ROLES] },
  client: { type: ['string', 'null'], description: 'the client id a client user is bound to' },
  pending: { type: 'boolean', description: 'invited, no password set yet' },
  secondFactor: { type: 'boolean', description: 'a TOTP authenticator is enrolled' },
  locked: { type: 'boolean', description: 'locked after failed sign-ins' },
  createdAt: { type: 'string', format: 'date-time' },
} as const;
const required = Object.keys(userProperties);

export const user = { type: 'object', required, properties: userProperties } as const;
export const userList = { type: 'array', items: user } as const;

/** GET /api/v1/users: by e-mail, `limit` at a time (500 when unset), after the e-mail `after`. */
export const listQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    limit: { type: 'string', pattern: '^[1-9][0-9]{0,3}$', description: '1..500; unset: 500' },
    after: {
      type: 'string',
      minLength: 1,
      maxLength: 254,
      pattern: '^\\S+$',
      description: "paging: the last user's e-mail of the page before",
    },
  },
} as const;
export interface ListQuery {
  limit?: string;
  after?: string;
}
