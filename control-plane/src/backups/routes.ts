import type { Api } from '../http/api.ts';
import { READERS, STAFF, type Role } from '../http/auth.ts';
import * as schemas from './schemas.ts';
import type { BackupService } from './service.ts';

// Admins may backfill reports by hand; agents are the normal writers.
const REPORTERS: readonly Role[] = ['admin', 'backup-agent'];

export function backupRoutes(api: Api, backups: BackupService): void {
  api.route<schemas.BackupRunInput>({
    method: 'post',
    path: '/api/v1/backups/runs',
    operationId: 'reportBackupRun',
    summary:
      'Reports a backup run (201 new, 200 the same report again, 409 the same run id with other content)',
    tag: 'backups',
    roles: REPORTERS,
    body: schemas.backupRun,
    status: 201,
    handler: async ({ auth, body, res }) => {
      const r = await backups.reportRun(auth, body);
      res.status(r.created ? 201 : 200).json(r.value);
    },
  });
  api.route<schemas.RestoreTestInput>({
    method: 'post',
    path: '/api/v1/backups/restore-tests',
    operationId: 'reportRestoreTest',
    summary:
      'Reports a restore test (201 new, 200 the same report again, 409 the same id with other content)',
    tag: 'backups',
    roles: REPORTERS,
    body: schemas.restoreTest,
    status: 201,
    handler: async ({ auth, body, res }) => {
      const r = await backups.reportRestoreTest(auth, body);
      res.status(r.created ? 201 : 200).json(r.value);
    },
  });
  api.route<unknown, { limit?: string }>({
    method: 'get',
    path: '/api/v1/instances/:id/backups',
    operationId: 'listInstanceBackups',
    summary: "An instance's backup runs and restore tests, newest first",
    tag: 'backups',
    roles: READERS,
    query: schemas.historyQuery,
    handler: ({ auth, params, query }) =>
      backups.history(auth, params.id!, Math.min(Number(query.limit ?? 100), 1000)),
  });
  api.route({
    method: 'get',
    path: '/api/v1/clients/:id/backups/status',
    operationId: 'getClientBackupStatus',
    summary:
      "Backup status of each of the client's instances: freshness, verification, restore tests, retention",
    tag: 'backups',
    roles: READERS,
    handler: ({ auth, params }) => backups.clientStatus(auth, params.id!),
  });
  api.route<schemas.PolicyPatch>({
    method: 'patch',
    path: '/api/v1/clients/:id/backups/policy',
    operationId: 'updateClientBackupPolicy',
    summary: "Changes the client's retention policy (unset fields keep their value)",
    tag: 'backups',
    roles: STAFF,
    body: schemas.policy,
    handler: ({ auth, req, params, body }) => backups.setPolicy(auth, req.id, params.id!, body),
  });
}
