import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import express from 'express';
import { ApiError, ok } from '@concierge-ops/shared/client';
import { SCHEMA_FILE, typesOf } from '../../control-plane/src/client/generate.ts';
import { Api } from '../../control-plane/src/http/api.ts';
import {
  clientBody,
  instanceBody,
  startControlPlane,
  type TestControlPlane,
} from '../helpers/control-plane.ts';

/**
 * Every operation's name, as generated clients call it. Renaming one breaks every client built on the document:
 * change this list only on purpose, and say so where the API's changes are announced.
 */
const OPERATION_IDS = `
GET /healthz getHealth
GET /readyz getReadiness
GET /metrics getMetrics
GET /api/v1/openapi.json getOpenApiDocument
POST /api/v1/slack/actions receiveSlackAction
POST /api/v1/twilio/status receiveTwilioStatus
POST /api/v1/twilio/inbound receiveTwilioSms
POST /api/v1/twilio/voice receiveTwilioVoiceDigits
GET /api/v1/incidents/ack-link showAcknowledgeLinkPage
POST /api/v1/incidents/ack-link acknowledgeByLink
POST /api/v1/alertmanager/webhook receiveAlertmanagerWebhook
POST /api/v1/alertmanager/watchdog receiveWatchdog
GET /api/v1/incidents listIncidents
POST /api/v1/incidents openIncident
GET /api/v1/incidents/{id} getIncident
POST /api/v1/incidents/{id}/ack acknowledgeIncident
POST /api/v1/incidents/{id}/class setIncidentClass
POST /api/v1/incidents/{id}/resolve resolveIncident
POST /api/v1/incidents/{id}/reassign reassignIncident
POST /api/v1/incidents/{id}/severity raiseIncidentSeverity
POST /api/v1/incidents/{id}/notes addIncidentNote
GET /api/v1/incidents/{id}/timeline getIncidentTimeline
POST /api/v1/tokens createToken
GET /api/v1/tokens listTokens
POST /api/v1/tokens/{id}/revoke revokeToken
POST /api/v1/clients createClient
GET /api/v1/clients listClients
GET /api/v1/clients/{id} getClient
PATCH /api/v1/clients/{id} updateClient
POST /api/v1/clients/{id}/decommission decommissionClient
POST /api/v1/instances createInstance
GET /api/v1/instances listInstances
GET /api/v1/instances/{id} getInstance
PATCH /api/v1/instances/{id} updateInstance
POST /api/v1/instances/{id}/decommission decommissionInstance
GET /api/v1/sd/probe-targets listProbeTargets
GET /api/v1/sd/scrape-targets listScrapeTargets
GET /api/v1/audit listAuditEntries
GET /api/v1/audit/export exportAuditEntries
GET /api/v1/audit/verify verifyAuditChain
POST /api/v1/audit/checkpoints createAuditCheckpoint
POST /api/v1/audit/reports createAuditReport
GET /api/v1/audit/reports listAuditReports
GET /api/v1/audit/reports/{arid} getAuditReport
POST /api/v1/backups/runs reportBackupRun
POST /api/v1/backups/restore-tests reportRestoreTest
GET /api/v1/instances/{id}/backups listInstanceBackups
GET /api/v1/clients/{id}/backups/status getClientBackupStatus
GET /api/v1/clients/{id}/status-page getClientStatusPage
PUT /api/v1/clients/{id}/status-page setClientStatusPage
POST /api/v1/clients/{id}/status-page/rotate rotateClientStatusPage
PATCH /api/v1/clients/{id}/backups/policy updateClientBackupPolicy
POST /api/v1/availability/transitions reportTransitions
POST /api/v1/availability/heartbeat reportProberHeartbeat
POST /api/v1/availability/history importAvailabilityHistory
PUT /api/v1/clients/{id}/sla/credit-decisions/{month} decideSlaCredit
GET /api/v1/availability/state getAvailabilityState
POST /api/v1/availability/intervals correctAvailability
GET /api/v1/instances/{id}/availability getInstanceAvailability
POST /api/v1/maintenance-windows createMaintenanceWindow
GET /api/v1/maintenance-windows listMaintenanceWindows
DELETE /api/v1/maintenance-windows/{id} deleteMaintenanceWindow
GET /api/v1/clients/{id}/sla getClientSla
GET /api/v1/instances/{id}/sla getInstanceSla
POST /api/v1/rotations/{id}/calendar-link createRotationCalendarLink
GET /api/v1/rotations/{id}/calendar.ics getRotationCalendar
POST /api/v1/responders/{id}/calendar-link createResponderCalendarLink
GET /api/v1/responders/{id}/calendar.ics getResponderCalendar
GET /api/v1/responders listResponders
POST /api/v1/responders createResponder
PATCH /api/v1/responders/{id} updateResponder
POST /api/v1/responders/{id}/test-page sendTestPage
GET /api/v1/rotations listRotations
POST /api/v1/rotations createRotation
GET /api/v1/rotations/{id} getRotation
PATCH /api/v1/rotations/{id} updateRotation
DELETE /api/v1/rotations/{id} deleteRotation
GET /api/v1/rotations/{id}/schedule getRotationSchedule
POST /api/v1/rotations/{id}/overrides createRotationOverride
DELETE /api/v1/rotations/{id}/overrides/{overrideId} deleteRotationOverride
GET /api/v1/oncall/now getOnCallNow
GET /api/v1/escalation-policies listEscalationPolicies
POST /api/v1/escalation-policies createEscalationPolicy
PUT /api/v1/escalation-policies/{id} replaceEscalationPolicy
DELETE /api/v1/escalation-policies/{id} deleteEscalationPolicy
POST /api/v1/fleet/batch applyFleetBatch
POST /api/v1/faro/collect/{appKey} collectFaroPayload
GET /api/v1/instances/{id}/faro-keys listFaroKeys
POST /api/v1/instances/{id}/faro-keys createFaroKey
POST /api/v1/instances/{id}/faro-keys/rotate rotateFaroKey
PATCH /api/v1/instances/{id}/faro-keys/current updateFaroKey
POST /api/v1/instances/{id}/faro-keys/revoke revokeFaroKeys
POST /api/v1/heartbeats createHeartbeat
GET /api/v1/heartbeats listHeartbeats
GET /api/v1/heartbeats/{id} getHeartbeat
PATCH /api/v1/heartbeats/{id} updateHeartbeat
POST /api/v1/heartbeats/{id}/rotate rotateHeartbeatToken
DELETE /api/v1/heartbeats/{id} deleteHeartbeat
GET /api/v1/push/{token} pushHeartbeat
POST /api/v1/push/{token} pushHeartbeatPost
GET /api/v1/clients/{id}/reports listClientReports
GET /api/v1/clients/{id}/reports/{month} getClientMonthReport
GET /api/v1/reports/{rid} getReport
PATCH /api/v1/reports/{rid} updateReport
POST /api/v1/reports/{rid}/approve approveReport
POST /api/v1/clients/{id}/reports/{month}/corrections correctClientReport
POST /api/v1/clients/{id}/reports/{month}/resend resendClientReport
GET /api/v1/clients/{id}/report-settings getReportSettings
PATCH /api/v1/clients/{id}/report-settings updateReportSettings
GET /api/v1/ops/daily getDailyChecklist
POST /api/v1/drills startDrill
GET /api/v1/drills listDrills
GET /api/v1/drills/{id} getDrill
POST /api/v1/drill-schedules createDrillSchedule
GET /api/v1/drill-schedules listDrillSchedules
DELETE /api/v1/drill-schedules/{id} deleteDrillSchedule
POST /api/v1/users inviteUser
GET /api/v1/users listUsers
GET /api/v1/status-updates/unsubscribe showStatusUnsubscribePage
POST /api/v1/status-updates/unsubscribe unsubscribeStatusContact
POST /api/v1/status-updates/resubscribe resubscribeStatusContact
`
  .trim()
  .split('\n');

/* eslint-disable @typescript-eslint/no-explicit-any -- the document is read as untyped JSON here */
type Doc = { paths: Record<string, Record<string, any>> };

describe('the OpenAPI document and the typed client generated from it', () => {
  let cp: TestControlPlane;
  let doc: Doc;

  before(async () => {
    cp = await startControlPlane({ WORKERS: 'off' });
    doc = ok('reading the document', await cp.apiAs(null).GET('/api/v1/openapi.json')) as Doc;
  });
  after(async () => cp?.close());

  it('names every operation with its own stable operationId', () => {
    const named = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.entries(ops).map(([method, op]) => `${method.toUpperCase()} ${path} ${op.operationId}`),
    );
    assert.deepEqual([...named].sort(), [...OPERATION_IDS].sort());
    const ids = named.map((line) => line.split(' ')[2]);
    assert.equal(new Set(ids).size, ids.length, 'operationIds are unique');
  });

  it('refuses to register a route whose operationId another route has, or one not in lower camel case', () => {
    const api = new Api(express.Router(), async () => undefined);
    const route = { method: 'get', summary: 's', tag: 't', roles: 'public', handler: () => ({}) } as const;
    api.route({ ...route, path: '/a', operationId: 'listThings' });
    assert.throws(
      () => api.route({ ...route, path: '/b', operationId: 'listThings' }),
      /get \/b: operationId listThings is already get \/a/,
    );
    assert.throws(() => api.route({ ...route, path: '/c', operationId: 'List-things' }), /lower camel case/);
  });

  it('commits the client types generated from the document the app serves (npm run openapi:client)', async () => {
    const committed = await fs.readFile(SCHEMA_FILE, 'utf8');
    const current = await typesOf(doc);
    const a = committed.split('\n');
    const b = current.split('\n');
    const differs = a.findIndex((text, i) => text !== b[i]);
    const line = differs === -1 ? a.length : differs; // -1: the document adds lines after the file's end
    assert.ok(
      committed === current,
      `${SCHEMA_FILE} is stale: run npm run openapi:client and commit it ` +
        `(line ${line + 1} is ${JSON.stringify(a[line])}, the document gives ${JSON.stringify(b[line])})`,
    );
  });

  it('answers through the typed client in the shapes the document gives: tokens, clients, instances, Faro keys', async () => {
    const ajv = new Ajv({ strict: false, allErrors: true });
    addFormats.default(ajv);
    const matches = (method: string, path: string, status: string, body: unknown) => {
      const validate = ajv.compile(
        doc.paths[path]![method]!.responses[status].content['application/json'].schema,
      );
      assert.ok(validate(body), `${method} ${path}: ${ajv.errorsText(validate.errors)}`);
    };
    const { api } = cp;

    const token = ok(
      'creating a token',
      await api.POST('/api/v1/tokens', { body: { name: 'typed', role: 'operator' } }),
    );
    matches('post', '/api/v1/tokens', '201', token);
    assert.match(token.token, /^cop_/);
    const tokens = ok('listing tokens', await api.GET('/api/v1/tokens'));
    matches('get', '/api/v1/tokens', '200', tokens);
    assert.ok(tokens.some((t) => t.id === token.id && t.revokedAt === null));

    const operator = cp.apiAs(token.token);
    const client = ok(
      'creating a client',
      await operator.POST('/api/v1/clients', { body: clientBody('typed') }),
    );
    matches('post', '/api/v1/clients', '201', client);
    matches('get', '/api/v1/clients', '200', ok('listing clients', await operator.GET('/api/v1/clients')));
    const got = ok(
      'reading the client',
      await operator.GET('/api/v1/clients/{id}', { params: { path: { id: 'typed' } } }),
    );
    assert.equal(got.id, client.id);

    const created = ok(
      'creating an instance',
      await operator.POST('/api/v1/instances', { body: instanceBody('typed', 'typed-prod') as any }),
    );
    matches('post', '/api/v1/instances', '201', created);
    const instances = ok(
      'listing instances',
      await operator.GET('/api/v1/instances', { params: { query: { client: 'typed' } } }),
    );
    matches('get', '/api/v1/instances', '200', instances);
    assert.deepEqual(
      instances.map((i) => [i.slug, i.client.slug, i.services.map((s) => s.name)]),
      [['typed-prod', 'typed', ['backend', 'proxy', 'database', 'openemr']]],
    );

    const key = ok(
      'creating a Faro key',
      await operator.POST('/api/v1/instances/{id}/faro-keys', {
        params: { path: { id: created.id } },
        body: { allowedOrigins: ['https://typed.example.test'] },
      }),
    );
    matches('post', '/api/v1/instances/{id}/faro-keys', '201', key);
    assert.equal(key.collectPath, `/api/v1/faro/collect/${key.key}`);
    const keys = ok(
      'listing Faro keys',
      await operator.GET('/api/v1/instances/{id}/faro-keys', { params: { path: { id: created.id } } }),
    );
    matches('get', '/api/v1/instances/{id}/faro-keys', '200', keys);
  });

  it("turns a refusal into an ApiError with the problem's detail", async () => {
    const answer = await cp.apiAs(null).GET('/api/v1/clients/{id}', { params: { path: { id: 'nobody' } } });
    assert.throws(
      () => ok('reading a client without a token', answer),
      (err: unknown) =>
        err instanceof ApiError &&
        err.status === 401 &&
        /^reading a client without a token: HTTP 401 /.test(err.message),
    );
  });
});
