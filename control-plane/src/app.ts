import fs from 'node:fs';
import express from 'express';
import { Api } from './http/api.ts';
import { errorHandler, sendProblem } from './http/errors.ts';
import { deadline } from './http/deadline.ts';
import { requestLog } from './http/request-log.ts';
import { MIGRATIONS_DIR } from './db/migrate.ts';
import { auditRoutes } from './audit/routes.ts';
import { backupRoutes } from './backups/routes.ts';
import { fleetRoutes } from './fleet/routes.ts';
import { tokenRoutes } from './tokens/routes.ts';
import { availabilityRoutes } from './availability/routes.ts';
import { maintenanceRoutes } from './maintenance/routes.ts';
import { onCallRoutes } from './oncall/routes.ts';
import { policyRoutes } from './escalation/routes.ts';
import { fleetBatchRoutes } from './fleet-batch/routes.ts';
import { slaRoutes } from './sla/routes.ts';
import { incidentRoutes } from './incidents/routes.ts';
import { notifyRoutes } from './notify/routes.ts';
import { faroReceiver, faroRoutes } from './faro/routes.ts';
import { heartbeatRoutes } from './heartbeats/routes.ts';
import { reportRoutes } from './reports/routes.ts';
import { drillRoutes } from './drills/routes.ts';
import { opsRoutes } from './ops/routes.ts';
import { userRoutes } from './users/routes.ts';
import { consoleRouter } from './console/router.ts';
import { portalRouter } from './portal/router.ts';
import { statusPageRouter } from './portal/status-page.ts';
import { statusPageRoutes } from './status-pages/routes.ts';
import { statusUpdateRoutes } from './status-updates/routes.ts';
import type { Context } from './context.ts';
import { errorMessage } from '@concierge-ops/shared/errors';

/** Name of the newest migration file: /readyz answers 200 only once the database has it. */
function newestMigration(): string {
  const names = fs
    .readdirSync(MIGRATIONS_DIR)
    .filter((f) => f.endsWith('.sql'))
    .sort();
  return names[names.length - 1]!.replace(/\.sql$/, '');
}

/** Express app assembly only: middleware, routes, and the error model. */
export function createApp(ctx: Context): express.Express {
  const app = express();
  app.disable('x-powered-by');
  // X-Forwarded-For is anyone's to send: believed only from TRUSTED_PROXIES, so the audit log's source address
  // is the socket's unless an operator named the proxy in front.
  app.set('trust proxy', ctx.config.trustedProxies.length > 0 ? [...ctx.config.trustedProxies] : false);
  app.set('query parser', 'simple');
  app.use(requestLog(ctx.log, ctx.metrics));
  app.use(deadline(ctx.config.requestTimeoutMs, ctx.log));
  // The console's own parsers, headers (CSP) and error pages: HTML for people, beside the JSON API.
  app.use('/console', consoleRouter(ctx));
  // The clients' portal (the console's sessions, for the client role) and the public status pages (no session).
  app.use('/portal', portalRouter(ctx));
  app.use('/status', statusPageRouter(ctx));
  // Before the JSON parser: Faro payloads get the app key, origin and rate checks first, then their own limit.
  app.use(faroReceiver(ctx.faro, ctx.config.faro));
  app.use(
    express.json({ limit: ctx.config.maxBodyBytes, strict: true, type: ['application/json', '+json'] }),
  ); // Twilio posts its webhooks form-encoded.
  app.use('/api/v1/twilio', express.urlencoded({ extended: false, limit: '64kb', parameterLimit: 200 }));
  // Slack signs the raw form body: it is kept beside the parsed one for the signature check.
  app.use(
    '/api/v1/slack',
    express.urlencoded({
      extended: false,
      limit: '64kb',
      parameterLimit: 20,
      verify: (req, _res, buf) => {
        (req as { rawBody?: Buffer }).rawBody = buf;
      },
    }),
  );

  const router = express.Router();
  const api = new Api(
    router,
    (token) => ctx.tokens.authenticate(token),
    (reason, req) => {
      ctx.metrics.authDenied.inc({ reason });
      ctx.security.denied(reason, req);
    },
    (auth, requestId, read) =>
      ctx.audit.recordRead(auth, requestId, {
        action: read.action,
        targetType: read.targetType,
        targetId: read.targetId,
        after: read.detail ?? null,
      }),
    (auth, req) => ctx.security.authenticated(auth, req),
  );
  const expected = newestMigration();

  api.route({
    method: 'get',
    path: '/healthz',
    operationId: 'getHealth',
    summary: 'The process is up',
    tag: 'health',
    roles: 'public',
    handler: () => ({ status: 'ok' }),
  });
  api.route({
    method: 'get',
    path: '/readyz',
    operationId: 'getReadiness',
    summary: 'The database is reachable and fully migrated (200), else 503',
    tag: 'health',
    roles: 'public',
    handler: async ({ res }) => {
      try {
        const { rows } = await ctx.pool.query<{ name: string }>(
          'select name from pgmigrations order by name desc limit 1',
        );
        if (rows[0]?.name !== expected)
          return sendProblem(res, 503, 'database is not migrated to ' + expected);
        return { status: 'ready', migration: expected };
      } catch (err) {
        ctx.log.warn({ err: errorMessage(err) }, 'readiness check: database query failed');
        return sendProblem(res, 503, 'database is not reachable');
      }
    },
  });
  api.route({
    method: 'get',
    path: '/metrics',
    operationId: 'getMetrics',
    produces: ['text/plain'],
    summary:
      'Prometheus metrics of the control plane (prometheus or admin token: the series name every client)',
    tag: 'health',
    // Every client's SLA, error budget, open incidents and backups: for the provider's Prometheus only.
    roles: ['admin', 'prometheus'],
    handler: async ({ res }) => {
      res.setHeader('Content-Type', ctx.metrics.registry.contentType);
      res.send(await ctx.metrics.registry.metrics());
    },
  });
  api.route({
    method: 'get',
    path: '/api/v1/openapi.json',
    operationId: 'getOpenApiDocument',
    summary: 'This document (public: it describes the API and holds no data)',
    tag: 'health',
    roles: 'public',
    handler: () => api.openapi({ title: 'concierge-ops control plane', version: '1' }),
  });

  // The paging routes first: express tries routes in order, and Alertmanager's webhook is the hot one.
  // notify before incidents: its /api/v1/incidents/ack-link must win over /api/v1/incidents/:id.
  notifyRoutes(api, ctx.paging.notify);
  incidentRoutes(api, ctx.paging.incidents, ctx.paging.ingest);
  tokenRoutes(api, ctx.tokens);
  fleetRoutes(api, ctx.fleet);
  auditRoutes(api, ctx.audit, ctx.auditReports);
  backupRoutes(api, ctx.backups);
  availabilityRoutes(api, ctx.availability, ctx.history);
  maintenanceRoutes(api, ctx.maintenance);
  slaRoutes(api, ctx.sla, ctx.creditDecisions);
  onCallRoutes(api, ctx.oncall, ctx.calendars);
  policyRoutes(api, ctx.policies);
  fleetBatchRoutes(api, ctx.fleetBatch);
  faroRoutes(api, ctx.faro);
  heartbeatRoutes(api, ctx.heartbeats);
  reportRoutes(api, ctx.reports);
  opsRoutes(api, ctx.ops);
  drillRoutes(api, ctx.drills);
  userRoutes(api, ctx.users);
  statusPageRoutes(api, ctx.statusPages);
  statusUpdateRoutes(api, ctx.fleet);

  app.use(router);
  app.use(api.methodNotAllowed());
  app.use((req, res) => sendProblem(res, 404, `no route ${req.method} ${req.path}`));
  app.use(errorHandler(ctx.log));
  return app;
}
