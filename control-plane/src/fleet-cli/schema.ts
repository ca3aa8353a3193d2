/**
 * The JSON Schema of fleet files, built from the API's own request schemas so one validation serves both: a
 * client in a file is what POST /api/v1/clients takes, an instance what POST /api/v1/instances takes, and so on.
 * Where the API takes an id the files take a name (rotation members, escalation targets), because ids are the
 * control plane's, not the provider's. control-plane/schema/fleet.schema.json is this, written by
 * `npm run fleet:schema` (a unit test fails when the committed copy is stale).
 */
import { policy as backupPolicy } from '../backups/schemas.ts';
import { policy as escalationPolicy } from '../escalation/schemas.ts';
import { createClient, createInstance } from '../fleet/schemas.ts';
import { createWindow } from '../maintenance/schemas.ts';
import { createResponder, createRotation, name } from '../oncall/schemas.ts';

const names = (description: string, max: number, min = 0) =>
  ({
    type: 'array',
    ...(min > 0 ? { minItems: min } : {}),
    maxItems: max,
    uniqueItems: true,
    items: name,
    description,
  }) as const;

const client = {
  ...createClient,
  properties: {
    ...createClient.properties,
    // The API's PATCH wants at least one field; in a file an empty policy simply changes nothing.
    backupPolicy: {
      type: backupPolicy.type,
      additionalProperties: backupPolicy.additionalProperties,
      properties: backupPolicy.properties,
      description: "the client's backup retention policy (fields left out keep the control plane's value)",
    },
  },
} as const;

const rotation = {
  ...createRotation,
  properties: {
    ...createRotation.properties,
    members: names('responder names in shift order', 100, 1),
  },
} as const;

const level = escalationPolicy.properties.levels.items;
const policy = {
  ...escalationPolicy,
  properties: {
    ...escalationPolicy.properties,
    client: { ...escalationPolicy.properties.client, description: 'client slug' },
    levels: {
      ...escalationPolicy.properties.levels,
      items: {
        ...level,
        properties: {
          ...level.properties,
          targets: {
            ...level.properties.targets,
            properties: {
              ...level.properties.targets.properties,
              responders: names('responder names', 50),
              rotations: names('rotation names', 20),
            },
          },
        },
      },
    },
  },
} as const;

const list = (items: object, description: string) => ({
  type: 'array',
  maxItems: 10_000,
  items,
  description,
});

export const fleetSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  title: 'concierge-ops fleet file',
  description:
    'One file of a fleet directory (npm run fleet -- plan|apply|export <dir>); every key is optional, and ' +
    'the directory is the union of its files.',
  type: 'object',
  additionalProperties: false,
  properties: {
    clients: list(client, 'clients by slug (POST /api/v1/clients), each with its backup policy'),
    instances: list(
      createInstance,
      'instances by slug with their services and probes (POST /api/v1/instances)',
    ),
    responders: list(createResponder, 'responders by name (POST /api/v1/responders)'),
    rotations: list(rotation, 'on-call rotations by name (POST /api/v1/rotations)'),
    escalationPolicies: list(policy, 'escalation policies by name (POST /api/v1/escalation-policies)'),
    maintenanceWindows: list(createWindow, 'maintenance windows (POST /api/v1/maintenance-windows)'),
  },
} as const;

export const KINDS = [
  'clients',
  'instances',
  'responders',
  'rotations',
  'escalationPolicies',
  'maintenanceWindows',
] as const;
export type Kind = (typeof KINDS)[number];
