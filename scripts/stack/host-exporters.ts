/**
 * The stack's own host and database, watched as a client instance's are (docs/hosts-and-databases.md): the
 * stack runs Debian's node_exporter and postgres_exporter (against its own PostgreSQL) and registers them on
 * the first demo instance through the fleet API, as an operator would, so Prometheus's `node` and `postgres`
 * jobs find them through the control plane's service discovery.
 */
import { controlPlaneClient, ok } from '@concierge-ops/shared/client';

/** postgres_exporter reads its connection from DATA_SOURCE_NAME; lib/pq asks for TLS unless told not to. */
export function postgresExporterDsn(databaseUrl: string): string {
  const u = new URL(databaseUrl);
  if (!u.searchParams.has('sslmode')) u.searchParams.set('sslmode', 'disable');
  return u.toString();
}

/** Sets the instance's nodeExporterUrl and postgresExporterUrl (an audited instance.update). */
export async function registerHostExporters(
  controlPlaneUrl: string,
  token: string,
  instance: string,
  urls: { nodeExporterUrl: string; postgresExporterUrl: string },
): Promise<void> {
  const api = controlPlaneClient(controlPlaneUrl, { token });
  ok(
    `registering the stack's exporters on instance ${instance}`,
    await api.PATCH('/api/v1/instances/{id}', { params: { path: { id: instance } }, body: urls }),
  );
}
