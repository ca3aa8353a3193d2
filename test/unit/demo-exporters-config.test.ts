// The demo's DEMO_NODE_EXPORTER_URL and DEMO_POSTGRES_EXPORTER_URL (docker-compose sets them): http(s) URLs only,
// and a bad one is named in the start-up error.
import assert from 'node:assert/strict';
import { DemoConfigError, loadDemoConfig } from '../../exporters/concierge-demo/src/config.ts';

const base = { CONTROL_PLANE_URL: 'http://127.0.0.1:8080', CONTROL_PLANE_TOKEN: 'demo-token' };

describe('demo configuration: exporters for the first instance', () => {
  it('has none unless set', () => {
    assert.deepEqual(loadDemoConfig(base).exporters, {});
  });

  it('takes both URLs as compose sets them', () => {
    const c = loadDemoConfig({
      ...base,
      DEMO_NODE_EXPORTER_URL: 'http://node-exporter:9100/metrics',
      DEMO_POSTGRES_EXPORTER_URL: 'https://postgres-exporter:9187/metrics',
    });
    assert.deepEqual(c.exporters, {
      nodeExporterUrl: 'http://node-exporter:9100/metrics',
      postgresExporterUrl: 'https://postgres-exporter:9187/metrics',
    });
  });

  it('refuses a URL that is not http(s), naming the variable', () => {
    assert.throws(
      () =>
        loadDemoConfig({
          ...base,
          DEMO_NODE_EXPORTER_URL: 'file:///etc/passwd',
          DEMO_POSTGRES_EXPORTER_URL: 'not a url',
        }),
      (err: unknown) =>
        err instanceof DemoConfigError &&
        err.problems.includes('DEMO_NODE_EXPORTER_URL must be an http(s) URL') &&
        err.problems.includes('DEMO_POSTGRES_EXPORTER_URL must be an http(s) URL'),
    );
  });
});
