import assert from 'node:assert/strict';
import fs from 'node:fs';
import { ConfigError, loadConfig } from '../../control-plane/src/config.ts';
import { CLIENT_DASHBOARD, grafanaLinks } from '../../control-plane/src/console/grafana.ts';
import { sentence, when } from '../../control-plane/src/console/render.ts';

describe("the console's Grafana links and how it words times and errors", () => {
  it('links to the client detail dashboard by the uid and variables the committed dashboard has', () => {
    const dashboard = JSON.parse(fs.readFileSync('grafana/dashboards/client-detail.json', 'utf8')) as {
      uid: string;
      templating: { list: { name: string }[] };
    };
    assert.equal(dashboard.uid, CLIENT_DASHBOARD.uid);
    const vars = dashboard.templating.list.map((v) => v.name);
    assert.ok(
      vars.includes(CLIENT_DASHBOARD.client) && vars.includes(CLIENT_DASHBOARD.instance),
      String(vars),
    );
    const links = grafanaLinks('https://ops.example.test/grafana')!;
    assert.equal(
      links.instance('smile-dental', 'smile-prod'),
      'https://ops.example.test/grafana/d/concierge-client-detail?var-client=smile-dental&var-instance=smile-prod',
    );
    assert.equal(
      links.client('a&b'),
      'https://ops.example.test/grafana/d/concierge-client-detail?var-client=a%26b',
      'values are encoded',
    );
  });

  it('makes no links without GRAFANA_URL, and refuses one that is not an http(s) URL', () => {
    assert.equal(loadConfig({}).console.grafanaUrl, undefined);
    assert.equal(grafanaLinks(loadConfig({}).console.grafanaUrl), undefined);
    assert.equal(
      loadConfig({ GRAFANA_URL: 'https://grafana.example.test/' }).console.grafanaUrl,
      'https://grafana.example.test',
    );
    for (const bad of ['grafana.example.test', 'javascript:alert(1)', 'ftp://grafana.example.test'])
      assert.throws(
        () => loadConfig({ GRAFANA_URL: bad }),
        (err: Error) =>
          err instanceof ConfigError && /GRAFANA_URL must be a http: or https: URL/.test(err.message),
        bad,
      );
  });

  it('shows times as people read them, in UTC', () => {
    assert.equal(when('2026-12-07T14:05:59.123Z'), '7 Dec 2026, 14:05 UTC');
    assert.equal(when('2026-01-01T00:00:00Z'), '1 Jan 2026, 00:00 UTC');
    assert.equal(when(null), '');
    assert.equal(when('not a time'), '');
  });

  it("turns a field's message into a sentence naming the field", () => {
    assert.equal(
      sentence('Base URL', 'must be a URL that starts with http:// or https://'),
      'Base URL must be a URL that starts with http:// or https://.',
    );
    assert.equal(sentence('Client', 'is decommissioned'), 'Client is decommissioned.');
    assert.equal(
      sentence('Services', 'duplicate service name backend'),
      'Services: duplicate service name backend.',
    );
  });
});
