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
        labels.__meta_concierge_probe_url = s.probe.url;
        labels.__meta_concierge_expect_status = String(s.probe.expectStatus);
        labels.__meta_concierge_health_json = String(s.probe.healthJson);
        return { targets: [s.probe.url], labels };
      }
      return {
        targets: [`${s.probe.host.includes(':') ? `[${s.probe.host}]` : s.probe.host}:${s.probe.port}`],
        labels,
      };
    }),
  );
}

/** The concierge runtimes' own metrics endpoints, for Prometheus to scrape. */
export function scrapeTargets(instances: Instance[]): TargetGroup[] {
  return instances
    .filter((i) => i.metricsUrl !== null)
    .map((i) => {
      const u = new URL(i.metricsUrl!);
      return {
        targets: [u.host],
        labels: {
          client: i.client.slug,
          instance: i.slug,
          environment: i.environment,
          __scheme__: u.protocol.replace(':', ''),
          __metrics_path__: u.pathname || '/metrics',
        },
      };
    });
}
