/** JSON Schemas of the backups API: they validate agents' reports and make up the OpenAPI document. */

const id = { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9_.:@/-]{0,199}$' };
const time = { type: 'string', format: 'date-time' };
const instance = { type: 'string', minLength: 1, maxLength: 64, description: 'instance id or slug' };

export const TOOLS = ['pg_dump', 'pgbackrest', 'restic', 'config'] as const;
export const KINDS = ['full', 'incremental', 'wal', 'configuration'] as const;
export const STATUSES = ['success', 'failed', 'running'] as const;

export const backupRun = {
  type: 'object',
  additionalProperties: false,
  required: ['runId', 'instance', 'tool', 'kind', 'startedAt', 'status'],
  properties: {
    runId: { ...id, description: "the agent's own id of the run: reporting it again changes nothing" },
    instance,
    tool: { enum: [...TOOLS] },
    kind: { enum: [...KINDS] },
    startedAt: time,
    finishedAt: { ...time, description: 'required unless status is running' },
    status: { enum: [...STATUSES] },
    sizeBytes: { type: 'integer', minimum: 0, maximum: 2 ** 53 - 1 },
    checksum: {
      type: 'string',
      pattern: '^[a-z0-9-]{1,16}:[A-Fa-f0-9]{16,128}$',
      description: 'sha256:<hex>',
    },
    location: { type: 'string', minLength: 1, maxLength: 2048 },
    error: { type: 'string', minLength: 1, maxLength: 8000, description: 'required when status is failed' },
    verified: { type: ['boolean', 'null'], description: 'checksum/archive check result; null: not checked' },
    verifiedAt: time,
    walStart: { ...time, description: 'kind wal: first recoverable instant this run covers' },
    walEnd: { ...time, description: 'kind wal: last recoverable instant this run covers' },
  },
} as const;

export const restoreTest = {
  type: 'object',
  additionalProperties: false,
  required: ['testId', 'instance', 'startedAt', 'finishedAt', 'success'],
  properties: {
    testId: id,
    instance,
    backupRunId: id,
    startedAt: time,
    finishedAt: time,
    success: { type: 'boolean' },
    durationSeconds: { type: 'number', minimum: 0, maximum: 31 * 86400 },
    detail: { type: 'string', maxLength: 8000 },
  },
} as const;

export const historyQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    limit: { type: 'string', pattern: '^[1-9][0-9]{0,3}$', description: '1..1000, default 100' },
  },
} as const;

export const policy = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  properties: {
    keepDaily: { type: 'integer', minimum: 0, maximum: 366 },
    keepWeekly: { type: 'integer', minimum: 0, maximum: 260 },
    keepMonthly: { type: 'integer', minimum: 0, maximum: 120 },
    maxFullAgeHours: { type: 'integer', minimum: 1, maximum: 8760 },
    restoreTestMaxAgeDays: { type: 'integer', minimum: 1, maximum: 366 },
  },
} as const;

export interface BackupRunInput {
  runId: string;
  instance: string;
  tool: (typeof TOOLS)[number];
  kind: (typeof KINDS)[number];
  startedAt: string;
  finishedAt?: string;
  status: (typeof STATUSES)[number];
  sizeBytes?: number;
  checksum?: string;
  location?: string;
  error?: string;
  verified?: boolean | null;
  verifiedAt?: string;
  walStart?: string;
  walEnd?: string;
}

export interface RestoreTestInput {
  testId: string;
  instance: string;
  backupRunId?: string;
  startedAt: string;
  finishedAt: string;
  success: boolean;
  durationSeconds?: number;
  detail?: string;
}

export type PolicyPatch = Partial<{
  keepDaily: number;
  keepWeekly: number;
  keepMonthly: number;
  maxFullAgeHours: number;
  restoreTestMaxAgeDays: number;
}>;
