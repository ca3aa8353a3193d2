import type { Response } from 'express';
import type { Api } from '../http/api.ts';
import { READERS, STAFF } from '../http/auth.ts';
import * as schemas from './schemas.ts';
import { probeTargets, scrapeTargets, type ScrapeJob } from './sd.ts';
import type { FleetService, InstanceQuery } from './service.ts';
import type { ClientInput, ClientPatch, InstanceInput, InstancePatch } from './types.ts';

type ListQuery = InstanceQuery;

function sdAnswer(res: Response, body: unknown) {
  // Prometheus polls at its refresh_interval; this tells it the interval we expect.
  res.setHeader('X-Prometheus-Refresh-Interval-Seconds', '30');
  return body;
}

export function fleetRoutes(api: Api, fleet: FleetService): void {
  api.route<ClientInput>({
    method: 'post',
    path: '/api/v1/clients',
    operationId: 'createClient',
    responseSchema: schemas.client,
    summary: 'Registers a client (a healthcare practice)',
    tag: 'fleet',
    roles: STAFF,
    body: schemas.createClient,
    status: 201,
    handler: ({ auth, req, body }) => fleet.createClient(auth, req.id, body),
  });
  api.route<unknown, ListQuery>({
    method: 'get',
    path: '/api/v1/clients',
    operationId: 'listClients',
    responseSchema: schemas.clientList,
    summary: 'Lists clients (a client token sees only its own)',
    tag: 'fleet',
    roles: READERS,
    // No `client` filter here: a client token sees only its own anyway, and staff ask for one by its id or slug.
    query: schemas.clientListQuery,
    handler: ({ auth, query }) => fleet.listClients(auth, query.status),
  });
  api.route({
    method: 'get',
    path: '/api/v1/clients/:id',
    operationId: 'getClient',
    responseSchema: schemas.client,
    summary: 'A client by id or slug',
    tag: 'fleet',
    roles: READERS,
    handler: ({ auth, params }) => fleet.getClient(auth, params.id!),
  });
  api.route<ClientPatch>({
    method: 'patch',
    path: '/api/v1/clients/:id',
    operationId: 'updateClient',
    responseSchema: schemas.client,
    summary: 'Updates a client',
    tag: 'fleet',
    roles: STAFF,
    body: schemas.updateClient,
    handler: ({ auth, req, params, body }) => fleet.updateClient(auth, req.id, params.id!, body),
  });
  api.route({
    method: 'post',
    path: '/api/v1/clients/:id/decommission',
    operationId: 'decommissionClient',
    summary: 'Stops monitoring a client and its instances, keeping their history',
    tag: 'fleet',
    roles: STAFF,
    handler: ({ auth, req, params }) => fleet.decommissionClient(auth, req.id, params.id!),
  });
  api.route<InstanceInput>({
    method: 'post',
    path: '/api/v1/instances',
    operationId: 'createInstance',
    responseSchema: schemas.instance,
    summary: "Registers a client's concierge instance and its services",
    tag: 'fleet',
    roles: STAFF,
    body: schemas.createInstance,
    status: 201,
    handler: ({ auth, req, body }) => fleet.createInstance(auth, req.id, body),
  });
  api.route<unknown, ListQuery>({
    method: 'get',
    path: '/api/v1/instances',
    operationId: 'listInstances',
    responseSchema: schemas.instanceList,
    summary:
      'Lists instances by client and name, optionally of one client or matching words; limit and after page them',
    tag: 'fleet',
    roles: READERS,
    query: schemas.listQuery,
    handler: ({ auth, query }) => fleet.listInstances(auth, query),
  });
  api.route({
    method: 'get',
    path: '/api/v1/instances/:id',
    operationId: 'getInstance',
    responseSchema: schemas.instance,
    summary: 'An instance by id or slug',
    tag: 'fleet',
    roles: READERS,
    handler: ({ auth, params }) => fleet.getInstance(auth, params.id!),
  });
  api.route<InstancePatch>({
    method: 'patch',
    path: '/api/v1/instances/:id',
    operationId: 'updateInstance',
    responseSchema: schemas.instance,
    summary: 'Updates an instance (services are replaced as a whole)',
    tag: 'fleet',
    roles: STAFF,
    body: schemas.updateInstance,
    handler: ({ auth, req, params, body }) => fleet.updateInstance(auth, req.id, params.id!, body),
  });
  api.route({
    method: 'post',
    path: '/api/v1/instances/:id/decommission',
    operationId: 'decommissionInstance',
    summary: 'Stops monitoring an instance, keeping its history',
    tag: 'fleet',
    roles: STAFF,
    handler: ({ auth, req, params }) => fleet.decommissionInstance(auth, req.id, params.id!),
  });
  api.route({
    method: 'get',
    path: '/api/v1/sd/probe-targets',
    operationId: 'listProbeTargets',
    summary: 'Every monitored service as Prometheus http_sd target groups (for the fleet prober)',
    tag: 'service discovery',
    roles: ['admin', 'operator', 'prober'],
    handler: async ({ res }) => sdAnswer(res, probeTargets(await fleet.listMonitored())),
  });
  api.route<unknown, { job?: ScrapeJob }>({
    method: 'get',
    path: '/api/v1/sd/scrape-targets',
    operationId: 'listScrapeTargets',
    summary:
      "The concierge runtimes' (or, with ?job=node|postgres, the instances' exporters') metrics endpoints " +
      'as Prometheus http_sd target groups',
    tag: 'service discovery',
    // prometheus: the token Prometheus scrapes with; prober: what that token was before the role existed.
    roles: ['admin', 'operator', 'prober', 'prometheus'],
    query: schemas.scrapeTargetsQuery,
    handler: async ({ res, query }) =>
      sdAnswer(res, scrapeTargets(await fleet.listMonitored(), query.job ?? 'concierge')),
  });
}
