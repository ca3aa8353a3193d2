import type { Instance } from './types.ts';

/** One Prometheus http_sd target group. */
export interface TargetGroup {
  targets: string[];
  labels: Record<string, string>;
}

/**
 * The fleet as http_sd target groups, one per service. Probe settings travel as `__meta_concierge_*` labels:
 * the prober reads them, and Prometheus drops them after relabelling, so they never become series labels.
 */
export function probeTargets(instances: Instance[]): TargetGroup[] {
  return instances.flatMap((i) =>
    i.services.map((s) => {
      const labels: Record<string, string> = {
        client: i.client.slug,
        instance: i.slug,
        service: s.name,
        service_kind: s.kind,
        environment: i.environment,
        __meta_concierge_instance_id: i.id,
        __meta_concierge_probe_type: s.probe.type,
        __meta_concierge_timeout_ms: String(s.probe.timeoutMs),
      };
      if (s.probe.type === 'http') {
        const p = s.probe;
        labels.__meta_concierge_probe_url = p.url;
        labels.__meta_concierge_expect_status = String(p.expectStatus);
        labels.__meta_concierge_health_json = String(p.healthJson);
        if (p.bodyRegex !== undefined) labels.__meta_concierge_body_regex = p.bodyRegex;
        if (p.bodyJson !== undefined) {
          labels.__meta_concierge_body_json_path = p.bodyJson.path;
          // JSON text, so that 200, "200" and true stay apart.
          labels.__meta_concierge_body_json_equals = JSON.stringify(p.bodyJson.equals);
        }
        if (p.tlsExpiry !== undefined) {
          labels.__meta_concierge_tls_warning_days = String(p.tlsExpiry.warningDays);
          labels.__meta_concierge_tls_critical_days = String(p.tlsExpiry.criticalDays);
        }
        return { targets: [p.url], labels };
      }
      if (s.probe.type === 'dns') {
        const p = s.probe;
        labels.__meta_concierge_dns_name = p.name;
        labels.__meta_concierge_dns_record_type = p.recordType;
        if (p.server !== undefined) labels.__meta_concierge_dns_server = p.server;
        if (p.expect !== undefined) labels.__meta_concierge_dns_expect = p.expect;
        return { targets: [p.name], labels };
      }
      return {
        targets: [`${s.probe.host.includes(':') ? `[${s.probe.host}]` : s.probe.host}:${s.probe.port}`],
        labels,
      };
    }),
  );
}

/** What `/api/v1/sd/scrape-targets?job=` lists: the runtimes (default) or the instances' exporters. */
export const SCRAPE_JOBS = ['concierge', 'node', 'postgres'] as const;
export type ScrapeJob = (typeof SCRAPE_JOBS)[number];

const SCRAPE_URL: Record<ScrapeJob, (i: Instance) => string | null> = {
  concierge: (i) => i.metricsUrl,
  node: (i) => i.nodeExporterUrl,
  postgres: (i) => i.postgresExporterUrl,
};

/**
 * One job's metrics endpoints, for Prometheus to scrape: the concierge runtimes' own (`concierge`), or each
 * instance's host node_exporter (`node`) or database postgres_exporter (`postgres`). Every group carries the
 * instance's client and instance labels, so the series of all three jobs join on them.
 */
export function scrapeTargets(instances: Instance[], job: ScrapeJob = 'concierge'): TargetGroup[] {
  return instances.flatMap((i) => {
    const url = SCRAPE_URL[job](i);
    if (url === null) return [];
    const u = new URL(url);
    return [
      {
        targets: [u.host],
        labels: {
          client: i.client.slug,
          instance: i.slug,
          environment: i.environment,
          __scheme__: u.protocol.replace(':', ''),
          __metrics_path__: u.pathname || '/metrics',
        },
      },
    ];
  });
}
