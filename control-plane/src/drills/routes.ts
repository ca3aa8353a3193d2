import type { Api } from '../http/api.ts';
import { STAFF } from '../http/auth.ts';
import * as schemas from './schemas.ts';
import type { DrillService } from './service.ts';

/** Drills are the provider's own exercise: staff only, and a client token never learns one exists. */
export function drillRoutes(api: Api, drills: DrillService): void {
  api.route<schemas.DrillTarget>({
    method: 'post',
    path: '/api/v1/drills',
    operationId: 'startDrill',
    summary: 'Starts a failure drill on an instance, an escalation policy or a rotation; pages say DRILL',
    tag: 'drills',
    roles: STAFF,
    body: schemas.startDrill,
    status: 201,
    responseSchema: schemas.drillReport,
    handler: ({ auth, req, body }) => drills.start(auth, req.id, body),
  });
  api.route<unknown, schemas.ListQuery>({
    method: 'get',
    path: '/api/v1/drills',
    operationId: 'listDrills',
    summary: 'Drills, newest first, with their times (a page of at most 100; `before` pages on)',
    tag: 'drills',
    roles: STAFF,
    query: schemas.listQuery,
    responseSchema: schemas.drillList,
    handler: ({ query }) => drills.list(query),
  });
  api.route({
    method: 'get',
    path: '/api/v1/drills/:id',
    operationId: 'getDrill',
    summary: "A drill's report: each step's time, each level's pages, who was unreachable",
    tag: 'drills',
    roles: STAFF,
    responseSchema: schemas.drillReport,
    handler: ({ params }) => drills.report(params.id!),
  });
  api.route<schemas.ScheduleInput>({
    method: 'post',
    path: '/api/v1/drill-schedules',
    operationId: 'createDrillSchedule',
    summary: 'Schedules a drill to run every N days, weeks or months (run once across replicas)',
    tag: 'drills',
    roles: STAFF,
    body: schemas.createSchedule,
    status: 201,
    responseSchema: schemas.schedule,
    handler: ({ auth, req, body }) => drills.createSchedule(auth, req.id, body),
  });
  api.route({
    method: 'get',
    path: '/api/v1/drill-schedules',
    operationId: 'listDrillSchedules',
    summary: 'Drill schedules, next run first',
    tag: 'drills',
    roles: STAFF,
    responseSchema: schemas.scheduleList,
    handler: () => drills.listSchedules(),
  });
  api.route({
    method: 'delete',
    path: '/api/v1/drill-schedules/:id',
    operationId: 'deleteDrillSchedule',
    summary: 'Removes a drill schedule (drills it started stay listed)',
    tag: 'drills',
    roles: STAFF,
    status: 204,
    handler: async ({ auth, req, params }) => {
      await drills.removeSchedule(auth, req.id, params.id!);
    },
  });
}
