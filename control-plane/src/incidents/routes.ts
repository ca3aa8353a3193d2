import type { Api } from '../http/api.ts';
import { READERS, STAFF } from '../http/auth.ts';
import type { AlertIngest } from './ingest.ts';
import * as schemas from './schemas.ts';
import type { IncidentService } from './service.ts';
import type { IncidentClass } from './store.ts';

export function incidentRoutes(api: Api, incidents: IncidentService, ingest: AlertIngest): void {
  api.route<schemas.AlertmanagerPayload>({
    method: 'post',
    path: '/api/v1/alertmanager/webhook',
    operationId: 'receiveAlertmanagerWebhook',
    summary: "Alertmanager's webhook (v4): opens, joins and resolves incidents; 2xx only once committed",
    tag: 'incidents',
    roles: ['alertmanager', 'admin'],
    body: schemas.alertmanagerWebhook,
    repairsBody: true,
    handler: ({ auth, req, body }) => ingest.ingest(body, { auth, requestId: req.id }),
  });
  api.route({
    method: 'post',
    path: '/api/v1/alertmanager/watchdog',
    operationId: 'receiveWatchdog',
    summary: "Alertmanager's always-firing Watchdog: the dead man's switch heartbeat",
    tag: 'incidents',
    roles: ['alertmanager', 'admin'],
    handler: async ({ auth, req }) => {
      await ingest.heartbeat({ auth, requestId: req.id });
      return { status: 'ok' };
    },
  });
  api.route<unknown, schemas.ListQuery>({
    method: 'get',
    path: '/api/v1/incidents',
    operationId: 'listIncidents',
    summary: 'Lists incidents, newest first (a client token sees only its own)',
    tag: 'incidents',
    roles: READERS,
    query: schemas.listQuery,
    responseSchema: schemas.incidentList,
    handler: ({ auth, query }) => incidents.list(auth, query, undefined, { drills: true }),
  });
  api.route<schemas.OpenIncidentInput>({
    method: 'post',
    path: '/api/v1/incidents',
    operationId: 'openIncident',
    summary: 'Opens an incident by hand; escalation starts at once',
    tag: 'incidents',
    roles: STAFF,
    body: schemas.openIncident,
    status: 201,
    responseSchema: schemas.incidentResponse,
    handler: ({ auth, req, body }) => incidents.open(auth, req.id, body),
  });
  api.route({
    method: 'get',
    path: '/api/v1/incidents/:id',
    operationId: 'getIncident',
    summary: 'An incident by id or code (INC-000123)',
    tag: 'incidents',
    roles: READERS,
    responseSchema: schemas.incidentResponse,
    handler: ({ auth, params }) => incidents.get(auth, params.id!),
  });
  api.route<{ note?: string }>({
    method: 'post',
    path: '/api/v1/incidents/:id/ack',
    operationId: 'acknowledgeIncident',
    summary: 'Acknowledges: escalation stops, the SLA clock does not',
    tag: 'incidents',
    roles: STAFF,
    body: schemas.transition,
    responseSchema: schemas.incidentResponse,
    handler: ({ auth, req, params, body }) =>
      incidents.acknowledge(auth, req.id, params.id!, 'api', body.note),
  });
  api.route<{ note?: string }>({
    method: 'post',
    path: '/api/v1/incidents/:id/resolve',
    operationId: 'resolveIncident',
    summary: 'Resolves: all paging stops',
    tag: 'incidents',
    roles: STAFF,
    body: schemas.transition,
    responseSchema: schemas.incidentResponse,
    handler: ({ auth, req, params, body }) => incidents.resolve(auth, req.id, params.id!, 'api', body.note),
  });
  api.route<{ responder?: string; rotation?: string; note?: string }>({
    method: 'post',
    path: '/api/v1/incidents/:id/reassign',
    operationId: 'reassignIncident',
    summary: "Reassigns to a responder or a rotation's on-call: pages them now; escalation goes on",
    tag: 'incidents',
    roles: STAFF,
    body: schemas.reassign,
    handler: ({ auth, req, params, body }) => incidents.reassign(auth, req.id, params.id!, body),
  });
  api.route<{ severity: 'warning' | 'critical'; note?: string }>({
    method: 'post',
    path: '/api/v1/incidents/:id/severity',
    operationId: 'raiseIncidentSeverity',
    summary: 'Raises the severity (never lowers it); later escalation steps page on its channels',
    tag: 'incidents',
    roles: STAFF,
    body: schemas.raiseSeverity,
    responseSchema: schemas.incidentResponse,
    handler: ({ auth, req, params, body }) =>
      incidents.raiseSeverity(auth, req.id, params.id!, body.severity, body.note),
  });
  api.route<{ class: IncidentClass; note?: string }>({
    method: 'post',
    path: '/api/v1/incidents/:id/class',
    operationId: 'setIncidentClass',
    summary: "Sets the incident's class by hand; later escalation steps follow that class's policy",
    tag: 'incidents',
    roles: STAFF,
    body: schemas.setClass,
    responseSchema: schemas.incidentResponse,
    handler: ({ auth, req, params, body }) =>
      incidents.setClass(auth, req.id, params.id!, body.class, body.note),
  });
  api.route<{ text: string; visibility: string }>({
    method: 'post',
    path: '/api/v1/incidents/:id/notes',
    operationId: 'addIncidentNote',
    summary: 'Adds a note: internal (staff only) or public (also sets the public summary)',
    tag: 'incidents',
    roles: STAFF,
    body: schemas.note,
    status: 201,
    responseSchema: schemas.timelineResponse,
    handler: ({ auth, req, params, body }) =>
      incidents.addNote(auth, req.id, params.id!, body.text, body.visibility),
  });
  api.route({
    method: 'get',
    path: '/api/v1/incidents/:id/timeline',
    operationId: 'getIncidentTimeline',
    summary: "The incident's events, oldest first (client tokens do not see internal ones)",
    tag: 'incidents',
    roles: READERS,
    responseSchema: schemas.timelineResponse,
    handler: ({ auth, params }) => incidents.timeline(auth, params.id!),
  });
}
