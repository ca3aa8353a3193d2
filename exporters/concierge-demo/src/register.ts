/**
 * Registers the demo's clients and instances in the control plane through its public API (as an operator
 * would): a client per practice, an instance with its services and probe URLs, and its metrics URL for
 * Prometheus's service discovery. Re-running the demo updates the same instances (new ports), so their
 * history, incidents and SLA carry on.
 */
import type { DemoInstance } from './instance.ts';
import { errorMessage } from '@concierge-ops/shared/errors';
import {
  controlPlaneClient,
  type ControlPlaneClient,
  type Problem,
  type paths,
} from '@concierge-ops/shared/client';

/** What the demo sets on its instances (the PATCH body; with client and slug, the POST body). */
type InstanceFields = NonNullable<
  paths['/api/v1/instances/{id}']['patch']['requestBody']
>['content']['application/json'];

export class ControlPlaneError extends Error {}

/** The web chat's pages, which a Faro key accepts reports from. */
const PAGE_ROUTES = ['/', '/chat', '/appointments/:id'];

export class ControlPlane {
  private readonly api: ControlPlaneClient;

  constructor(url: string, token: string) {
    this.api = controlPlaneClient(url, { token, timeoutMs: 10_000 });
  }

  /** One call of the typed client: unreachable or a refused token end the demo with what to fix. */
  private async send<R extends { response: Response }>(call: Promise<R>): Promise<R> {
    let r: R;
    try {
      r = await call;
    } catch (err) {
      throw new ControlPlaneError(
        `cannot reach the control plane at CONTROL_PLANE_URL (${errorMessage(err)})`,
      );
    }
    const status = r.response.status;
    if (status === 401 || status === 403)
      throw new ControlPlaneError(
        `the control plane refused CONTROL_PLANE_TOKEN (HTTP ${status}): use an admin or operator token`,
      );
    return r;
  }

  private fail(what: string, r: { response: Response; error?: unknown }): never {
    const detail = (r.error as Problem | undefined)?.detail ?? JSON.stringify(r.error);
    throw new ControlPlaneError(`${what} failed: HTTP ${r.response.status} ${detail}`);
  }

  /** Creates the client if it does not exist yet. */
  async ensureClient(slug: string, name: string, timeZone: string): Promise<void> {
    const r = await this.send(
      this.api.POST('/api/v1/clients', { body: { slug, name, timeZone, slaTarget: 0.999 } }),
    );
    if (r.response.status !== 201 && r.response.status !== 409) this.fail(`creating client ${slug}`, r);
  }

  /**
   * Updates the instance with the demo's current URLs (and `extra`, such as exporters), or, the first time,
   * creates its client and it; returns its id. A restart (the common case) takes one request.
   */
  async upsertInstance(
    inst: DemoInstance,
    spec: { clientName: string; timeZone: string },
    extra: { nodeExporterUrl?: string; postgresExporterUrl?: string } = {},
  ): Promise<string> {
    const { client, instance } = inst.spec;
    const fields = {
      ...extra,
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
    } satisfies InstanceFields;
    // By slug: the instance of an earlier run, if there is one.
    const patched = await this.send(
      this.api.PATCH('/api/v1/instances/{id}', { params: { path: { id: instance } }, body: fields }),
    );
    if (patched.data) return patched.data.id;
    if (patched.response.status !== 404) this.fail(`updating instance ${instance}`, patched);
    await this.ensureClient(client, spec.clientName, spec.timeZone);
    const r = await this.send(
      this.api.POST('/api/v1/instances', { body: { client, slug: instance, ...fields } }),
    );
    if (!r.data) this.fail(`registering instance ${instance}`, r);
    return r.data.id;
  }

  /**
   * A new Faro app key for the instance's web page (opened through the proxy or the frontend directly) in place
   * of the one an earlier run made (and was shown once, then); undefined if it has none, or if the control plane
   * has no Faro receiver. By the instance's slug, so that a restart can send it beside the instance's update.
   */
  async rotateFaroKey(instance: string, origins: string[]): Promise<string | undefined> {
    const body = { allowedOrigins: origins, pageRoutes: PAGE_ROUTES };
    const r = await this.send(
      this.api.POST('/api/v1/instances/{id}/faro-keys/rotate', { params: { path: { id: instance } }, body }),
    );
    return r.data?.key;
  }

  /** The instance's first Faro app key; undefined if the control plane has no Faro receiver. */
  async createFaroKey(instanceId: string, origins: string[]): Promise<string | undefined> {
    const body = { allowedOrigins: origins, pageRoutes: PAGE_ROUTES };
    const r = await this.send(
      this.api.POST('/api/v1/instances/{id}/faro-keys', { params: { path: { id: instanceId } }, body }),
    );
    return r.data?.key;
  }
}
