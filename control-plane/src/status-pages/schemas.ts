/** JSON Schemas of the status page's operations (they also make up the OpenAPI document). */
export const settingsBody = {
  type: 'object',
  additionalProperties: false,
  required: ['enabled'],
  properties: {
    enabled: { type: 'boolean', description: 'whether the public page answers at its URL (off by default)' },
    showName: {
      type: 'boolean',
      description: "whether the page shows the client's name (default false: states only, no name)",
    },
  },
} as const;
export interface SettingsInput {
  enabled: boolean;
  showName?: boolean;
}

export const settings = {
  type: 'object',
  additionalProperties: false,
  required: ['client', 'enabled', 'showName', 'url', 'updatedAt'],
  properties: {
    client: {
      type: 'object',
      required: ['id', 'slug'],
      properties: { id: { type: 'string' }, slug: { type: 'string' } },
    },
    enabled: { type: 'boolean' },
    showName: { type: 'boolean' },
    url: {
      type: ['string', 'null'],
      description:
        'the public URL, only in the answer that made it (first set-up, rotation): only its hash is kept',
    },
    updatedAt: { type: ['string', 'null'], format: 'date-time' },
  },
} as const;
