import crypto from 'node:crypto';

/** An Alertmanager v4 webhook body, as 0.25 sends it. */
export function alertPayload(
  opts: {
    groupKey?: string;
    status?: 'firing' | 'resolved';
    client?: string;
    /** null: no such label */
    instance?: string | null;
    service?: string | null;
    severity?: string;
    alertname?: string;
    fingerprints?: string[];
    startsAt?: string;
    summary?: string;
  } = {},
) {
  const status = opts.status ?? 'firing';
  const labels = {
    alertname: opts.alertname ?? 'ConciergeBackendDown',
    client: opts.client ?? 'smile-dental',
    ...(opts.instance === null ? {} : { instance: opts.instance ?? 'smile-prod' }),
    ...(opts.service === null ? {} : { service: opts.service ?? 'backend' }),
    severity: opts.severity ?? 'critical',
  };
  const startsAt = opts.startsAt ?? '2026-11-25T10:00:00Z';
  const fingerprints = opts.fingerprints ?? ['a1b2c3d4e5f60718'];
  return {
    receiver: 'control-plane',
    status,
    alerts: fingerprints.map((fingerprint, i) => ({
      status,
      labels: { ...labels, ...(i > 0 ? { replica: String(i) } : {}) },
      annotations: { summary: opts.summary ?? 'Backend of smile-prod is not answering its health check' },
      startsAt,
      endsAt: status === 'firing' ? '0001-01-01T00:00:00Z' : '2026-11-25T10:30:00Z',
      generatorURL: 'http://prometheus:9090/graph?g0.expr=up',
      fingerprint,
    })),
    groupLabels: { alertname: labels.alertname, client: labels.client },
    commonLabels: labels,
    commonAnnotations: {},
    externalURL: 'http://alertmanager:9093',
    version: '4',
    groupKey:
      opts.groupKey ??
      `{}/{severity=~"critical|warning"}:{alertname="${labels.alertname}", client="${labels.client}"}`,
    truncatedAlerts: 0,
  };
}

export const randomFingerprint = () => crypto.randomBytes(8).toString('hex');

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, ms = 15000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
