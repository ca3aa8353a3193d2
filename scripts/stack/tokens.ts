/** Service tokens for the stack's own parts, created through the control plane's API like an operator would. */
import fs from 'node:fs/promises';
import path from 'node:path';

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

interface TokenView {
  id: string;
  name: string;
  revokedAt: string | null;
}

export async function api(
  base: string,
  admin: string,
  method: string,
  url: string,
  body?: unknown,
): Promise<unknown> {
  const res = await fetch(base + url, {
    method,
    headers: { authorization: `Bearer ${admin}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${url} answered ${res.status}: ${text.slice(0, 500)}`);
  return text ? JSON.parse(text) : undefined;
}

/**
 * Revokes the tokens an earlier run created (named `stack-<service>`), creates fresh ones, and writes each to
 * `<dir>/<service>.token` (mode 0600) for the processes that read a credentials file.
 */
export async function createServiceTokens(
  controlPlaneUrl: string,
  adminToken: string,
  dir: string,
): Promise<Record<ServiceName, { token: string; file: string }>> {
  const existing = (await api(controlPlaneUrl, adminToken, 'GET', '/api/v1/tokens')) as TokenView[];
  for (const t of existing)
    if (t.revokedAt === null && /^stack-/.test(t.name))
      await api(controlPlaneUrl, adminToken, 'POST', `/api/v1/tokens/${t.id}/revoke`);
  const out = {} as Record<ServiceName, { token: string; file: string }>;
  for (const [name, role] of Object.entries(SERVICE_TOKENS) as [ServiceName, string][]) {
    const created = (await api(controlPlaneUrl, adminToken, 'POST', '/api/v1/tokens', {
      name: `stack-${name}`,
      role,
    })) as { token: string };
    const file = path.join(dir, `${name}.token`);
    await fs.writeFile(file, created.token, { mode: 0o600 });
    out[name] = { token: created.token, file };
  }
  return out;
}
