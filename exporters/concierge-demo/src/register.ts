/**
 * Registers the demo's clients and instances in the control plane through its public API (as an operator
 * would): a client per practice, an instance with its services and probe URLs, and its metrics URL for
 * Prometheus's service discovery. Re-running the demo updates the same instances (new ports), so their
 * history, incidents and SLA carry on.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- the API's JSON answers are read field by field */
import type { DemoInstance } from './instance.ts';
import { errorMessage } from '@concierge-ops/shared/errors';

export class ControlPlaneError extends Error {}

export class ControlPlane {
  constructor(
    private readonly url: string,
    private readonly token: string,
  ) {}

  async call(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
    let res: Response;
    try {
      res = await fetch(this.url + path, {
        method,
        headers: {
          authorization: `Bearer ${this.token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(10_000),
      });
    } catch (err) {
      throw new ControlPlaneError(
        `cannot reach the control plane at CONTROL_PLANE_URL (${errorMessage(err)})`,
      );
    }
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = text;
    }
    if (res.status === 401 || res.status === 403)
      throw new ControlPlaneError(
        `the control plane refused CONTROL_PLANE_TOKEN (HTTP ${res.status}): use an admin or operator token`,
      );
    return { status: res.status, body: parsed };
  }

  private fail(what: string, r: { status: number; body: unknown }): never {
    const detail = (r.body as { detail?: string } | undefined)?.detail ?? JSON.stringify(r.body);
    throw new ControlPlaneError(`${what} failed: HTTP ${r.status} ${detail}`);
  }

  /** Creates the client if it does not exist yet. */
  async ensureClient(slug: string, name: string, timeZone: string): Promise<void> {
    const got = await this.call('GET', `/api/v1/clients/${slug}`);
    if (got.status === 200) return;
    const r = await this.call('POST', '/api/v1/clients', { slug, name, timeZone, slaTarget: 0.999 });
    if (r.status !== 201 && r.status !== 409) this.fail(`creating client ${slug}`, r);
  }

  /** Creates or updates the instance with the demo's current URLs; returns its id. */
  async upsertInstance(inst: DemoInstance): Promise<string> {
    const { client, instance } = inst.spec;
    const fields = {
      environment: 'demo',
      baseUrl: inst.urls.proxy + '/',
      metricsUrl: inst.urls.metrics,
      labels: { demo: 'true' },
      services: [
        {
          name: 'backend',
          kind: 'backend',
          probe: { type: 'http', url: `${inst.urls.backend}/health`, healthJson: true, timeoutMs: 2000 },
        },
        {
          name: 'frontend',
          kind: 'frontend',
          probe: { type: 'http', url: `${inst.urls.frontend}/healthz`, timeoutMs: 2000 },
        },
        {
          name: 'proxy',
          kind: 'proxy',
          probe: { type: 'http', url: `${inst.urls.proxy}/`, timeoutMs: 2000 },
        },
      ],
    };
    const got = await this.call('GET', `/api/v1/instances/${instance}`);
    if (got.status === 200) {
      const r = await this.call('PATCH', `/api/v1/instances/${got.body.id}`, fields);
      if (r.status !== 200) this.fail(`updating instance ${instance}`, r);
      return got.body.id as string;
    }
    const r = await this.call('POST', '/api/v1/instances', { client, slug: instance, ...fields });
    if (r.status !== 201) this.fail(`registering instance ${instance}`, r);
    return r.body.id as string;
  }

  /**
   * A Faro app key for the instance's web page (opened through the proxy or the frontend directly), if the control plane has the Faro receiver; undefined
   * otherwise (the page is then served without it).
   */
  async faroKey(instanceId: string, origins: string[]): Promise<string | undefined> {
    const body = { allowedOrigins: origins, pageRoutes: ['/', '/chat', '/appointments/:id'] };
    let r = await this.call('POST', `/api/v1/instances/${instanceId}/faro-keys`, body);
    // A key from an earlier run exists (and was shown once, then): rotate to get one for this run's origin.
    if (r.status === 409)
      r = await this.call('POST', `/api/v1/instances/${instanceId}/faro-keys/rotate`, body);
    return r.status === 201 && typeof r.body?.key === 'string' ? (r.body.key as string) : undefined;
  }
}
