/**
 * The Prometheus pull endpoint. `@opentelemetry/exporter-prometheus` is the MetricReader; its serializer
 * writes the text format. Names get the same unit suffix that Prometheus's OTLP receiver adds
 * (`concierge.crisis_response.duration` in `s` -> `concierge_crisis_response_duration_seconds`), so a
 * runtime scraped here and one pushing OTLP to Prometheus produce the same series, and the rules and
 * dashboards read both.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import type { MetricProducer, ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { UNIT_SUFFIXES } from './catalog.ts';

/** `name` with Prometheus's unit suffix; annotation units (`{call}`) add none. */
export function prometheusBaseName(name: string, unit: string): string {
  const base = name.replace(/[^a-zA-Z0-9_:]/g, '_').replace(/_{2,}/g, '_');
  const suffix = UNIT_SUFFIXES[unit];
  return suffix && !base.endsWith(`_${suffix}`) ? `${base}_${suffix}` : base;
}

function withUnitSuffixes(rm: ResourceMetrics): ResourceMetrics {
  return {
    resource: rm.resource,
    scopeMetrics: rm.scopeMetrics.map((sm) => ({
      scope: sm.scope,
      metrics: sm.metrics.map((m) => ({
        ...m,
        // The unit now lives in the name; `# UNIT` lines are OpenMetrics-only and would confuse 0.0.4 parsers.
        descriptor: {
          ...m.descriptor,
          name: prometheusBaseName(m.descriptor.name, m.descriptor.unit),
          unit: '',
        },
      })),
    })),
  } as ResourceMetrics;
}

export interface PullEndpointOptions {
  /** Default 9464 (the OpenTelemetry Prometheus exporter's port); 0 picks a free one. */
  port?: number;
  /** Default 0.0.0.0; 127.0.0.1 for loopback only. */
  host?: string;
}

/** Serves `/metrics` from the reader. Owns its HTTP server; `stop()` closes it. */
export class PullEndpoint {
  readonly reader: PrometheusExporter;
  private readonly serializer = new PrometheusSerializer(undefined, false, undefined, false, true);
  private readonly server: http.Server;

  constructor(metricProducers: MetricProducer[] = []) {
    // The exporter's own server is not started: ours adds the unit suffixes.
    this.reader = new PrometheusExporter({
      preventServerStart: true,
      withoutScopeInfo: true,
      metricProducers,
    });
    this.server = http.createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD' }).end();
      } else if (path === '/metrics') {
        this.metrics().then(
          (body) =>
            res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(body),
          () => res.writeHead(500, { 'content-type': 'text/plain' }).end('# metrics collection failed\n'),
        );
      } else {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics\n');
      }
    });
  }

  /** The exposition text, as Prometheus would read it. */
  async metrics(): Promise<string> {
    const { resourceMetrics } = await this.reader.collect();
    return this.serializer.serialize(withUnitSuffixes(resourceMetrics as unknown as ResourceMetrics));
  }

  async start(options: PullEndpointOptions = {}): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(options.port ?? 9464, options.host ?? '0.0.0.0', () => resolve());
    });
    const { port } = this.server.address() as AddressInfo;
    const host = options.host && options.host !== '0.0.0.0' ? options.host : '127.0.0.1';
    return `http://${host.includes(':') ? `[${host}]` : host}:${port}/metrics`;
  }

  async stop(): Promise<void> {
    if (!this.server.listening) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
