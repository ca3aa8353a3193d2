import type { Api } from '../http/api.ts';
import { STAFF } from '../http/auth.ts';
import type { PolicyInput, PolicyService } from './policies.ts';
import * as schemas from './schemas.ts';

export function policyRoutes(api: Api, policies: PolicyService): void {
  api.route({
    method: 'get',
    path: '/api/v1/escalation-policies',
    operationId: 'listEscalationPolicies',
    summary: 'Escalation policies with their levels (the default first)',
    tag: 'escalation',
    roles: STAFF,
    handler: () => policies.list(),
  });
  api.route<PolicyInput>({
    method: 'post',
    path: '/api/v1/escalation-policies',
    operationId: 'createEscalationPolicy',
    summary: 'Adds a policy chosen by client, severities and hours; levels in order (numbered from 1)',
    tag: 'escalation',
    roles: STAFF,
    body: schemas.policy,
    status: 201,
    handler: ({ auth, req, body }) => policies.create(auth, req.id, body),
  });
  api.route<PolicyInput>({
    method: 'put',
    path: '/api/v1/escalation-policies/:id',
    operationId: 'replaceEscalationPolicy',
    summary: 'Replaces a policy and its levels (steps already scheduled run with the new levels)',
    tag: 'escalation',
    roles: STAFF,
    body: schemas.policy,
    handler: ({ auth, req, params, body }) => policies.replace(auth, req.id, params.id!, body),
  });
  api.route({
    method: 'delete',
    path: '/api/v1/escalation-policies/:id',
    operationId: 'deleteEscalationPolicy',
    summary: 'Deletes a policy (not the default)',
    tag: 'escalation',
    roles: STAFF,
    handler: ({ auth, req, params }) => policies.remove(auth, req.id, params.id!),
  });
}
