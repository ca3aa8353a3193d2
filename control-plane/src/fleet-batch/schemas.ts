/** JSON Schemas of the fleet batch API: one transaction of the fleet's own operations, by their operationId. */
import { policy as backupPolicy } from '../backups/schemas.ts';
import { policy as escalationPolicy } from '../escalation/schemas.ts';
import { createClient, createInstance, updateClient, updateInstance } from '../fleet/schemas.ts';
import { createWindow } from '../maintenance/schemas.ts';
import { createResponder, createRotation, updateResponder, updateRotation } from '../oncall/schemas.ts';

/** Each operation's body schema (the same as its own route's), or null when it takes none. */
export const OPERATION_BODIES = {
  createClient,
  updateClient,
  decommissionClient: null,
  updateClientBackupPolicy: backupPolicy,
  createInstance,
  updateInstance,
  decommissionInstance: null,
  createResponder,
  updateResponder,
  createRotation,
  updateRotation,
  deleteRotation: null,
  createEscalationPolicy: escalationPolicy,
  replaceEscalationPolicy: escalationPolicy,
  deleteEscalationPolicy: null,
  createMaintenanceWindow: createWindow,
  deleteMaintenanceWindow: null,
} as const;
export type OperationId = keyof typeof OPERATION_BODIES;

/** The most operations one batch holds: a fleet's changes of one kind, bounded so one request stays short. */
export const MAX_OPERATIONS = 200;

export const batch = {
  type: 'object',
  additionalProperties: false,
  required: ['operations'],
  properties: {
    operations: {
      type: 'array',
      minItems: 1,
      maxItems: MAX_OPERATIONS,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['operationId'],
        properties: {
          operationId: {
            enum: Object.keys(OPERATION_BODIES),
            description: 'the operationId of the route this operation stands for',
          },
          id: {
            type: 'string',
            minLength: 1,
            maxLength: 64,
            description: "the route's {id}: an id, or a slug or name where the route takes one",
          },
          body: { type: 'object', description: "the route's body, checked against the route's schema" },
        },
      },
    },
  },
} as const;

export const batchAnswer = {
  type: 'object',
  required: ['results'],
  properties: {
    results: {
      type: 'array',
      items: { type: ['object', 'null'], description: "each operation's answer, as its route gives it" },
    },
  },
} as const;
