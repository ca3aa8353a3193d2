/** Service tokens for the stack's own parts, created through the control plane's API like an operator would. */
import fs from 'node:fs/promises';
import path from 'node:path';
import { controlPlaneClient, ok } from '@concierge-ops/shared/client';

export const SERVICE_TOKENS = {
  prober: 'prober',
  'backup-agent': 'backup-agent',
  alertmanager: 'alertmanager',
  // Prometheus scrapes the control plane's /metrics and reads /api/v1/sd/scrape-targets: the prometheus role.
  prometheus: 'prometheus',
  // The demo fleet registers clients and instances: staff work, but not admin.
  demo: 'operator',
} as const;
export type ServiceName = keyof typeof SERVICE_TOKENS;

/**
 * Revokes the tokens an earlier run created (named `stack-<service>`), creates fresh ones, and writes each to
 * `<dir>/<service>.token` (mode 0600) for the processes that read a credentials file.
 */
export async function createServiceTokens(
  controlPlaneUrl: string,
  adminToken: string,
  dir: string,
): Promise<Record<ServiceName, { token: string; file: string }>> {
  const api = controlPlaneClient(controlPlaneUrl, { token: adminToken });
  const existing = ok('listing tokens', await api.GET('/api/v1/tokens'));
  for (const t of existing)
    if (t.revokedAt === null && /^stack-/.test(t.name))
      ok(
        `revoking token ${t.name}`,
        await api.POST('/api/v1/tokens/{id}/revoke', { params: { path: { id: t.id } } }),
      );
  const out = {} as Record<ServiceName, { token: string; file: string }>;
  for (const [name, role] of Object.entries(SERVICE_TOKENS) as [
    ServiceName,
    (typeof SERVICE_TOKENS)[ServiceName],
  ][]) {
    const created = ok(
      `creating the ${name} token`,
      await api.POST('/api/v1/tokens', { body: { name: `stack-${name}`, role } }),
    );
    const file = path.join(dir, `${name}.token`);
    await fs.writeFile(file, created.token, { mode: 0o600 });
    out[name] = { token: created.token, file };
  }
  return out;
}
