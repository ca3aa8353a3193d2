// Each instance's host and database exporters, registered through the fleet API and scraped by a real
// Prometheus through the control plane's http_sd: Debian's node_exporter and postgres_exporter, the latter
// against the control plane's own test database.
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  clientBody,
  instanceBody,
  startControlPlane,
  type TestControlPlane,
} from '../helpers/control-plane.ts';
import { startNodeExporter, startPostgresExporter } from '../helpers/exporters.ts';
import { query, startPrometheus, type Proc } from '../helpers/stack.ts';
import { waitFor } from '../helpers/alerts.ts';

describe('instance exporters: node_exporter and postgres_exporter registered per instance', function () {
  this.timeout(90_000);
  let cp: TestControlPlane;
  let nodeExporter: Proc;
  let pgExporter: Proc;
  let prom: Proc | undefined;
  let dir: string;

  before(async () => {
    cp = await startControlPlane();
    nodeExporter = await startNodeExporter();
    pgExporter = await startPostgresExporter(cp.databaseUrl);
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'instance-exporters-'));
    assert.equal(
      (await cp.call('POST', '/api/v1/clients', { body: clientBody('smile-dental') })).status,
      201,
    );
    assert.equal(
      (await cp.call('POST', '/api/v1/clients', { body: clientBody('other-clinic') })).status,
      201,
    );
  });
  after(async () => {
    await prom?.stop();
    await nodeExporter?.stop();
    await pgExporter?.stop();
    await cp?.close();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  it('registers both URLs on create and update, audited, and lists them per job as http_sd groups', async () => {
    const created = await cp.call('POST', '/api/v1/instances', {
      body: instanceBody('smile-dental', 'smile-prod', { nodeExporterUrl: `${nodeExporter.url}/metrics` }),
    });
    assert.equal(created.status, 201, created.text);
    assert.equal(created.body.nodeExporterUrl, `${nodeExporter.url}/metrics`);
    assert.equal(created.body.postgresExporterUrl, null);

    const patched = await cp.call('PATCH', '/api/v1/instances/smile-prod', {
      body: { postgresExporterUrl: `${pgExporter.url}/metrics` },
    });
    assert.equal(patched.status, 200, patched.text);
    assert.equal(patched.body.postgresExporterUrl, `${pgExporter.url}/metrics`);
    assert.equal(patched.body.nodeExporterUrl, `${nodeExporter.url}/metrics`, 'a patch keeps the other URL');

    const audit = await cp.call('GET', `/api/v1/audit?targetType=instance&targetId=${created.body.id}`);
    assert.equal(audit.body[0].action, 'instance.update');
    assert.equal(audit.body[0].before.postgresExporterUrl, null);
    assert.equal(audit.body[0].after.postgresExporterUrl, `${pgExporter.url}/metrics`);
    assert.match(audit.body[0].actor, /bootstrap-admin \(admin/);

    // An instance of another client with no exporters is in no exporter job.
    const other = await cp.call('POST', '/api/v1/instances', {
      body: instanceBody('other-clinic', 'other-prod', { metricsUrl: 'http://10.9.0.1:9464/metrics' }),
    });
    assert.equal(other.status, 201, other.text);

    const group = (u: string) => ({
      targets: [new URL(u).host],
      labels: {
        client: 'smile-dental',
        instance: 'smile-prod',
        environment: 'prod',
        __scheme__: 'http',
        __metrics_path__: '/metrics',
      },
    });
    const node = await cp.call('GET', '/api/v1/sd/scrape-targets?job=node');
    assert.equal(node.status, 200, node.text);
    assert.deepEqual(node.body, [group(nodeExporter.url)]);
    const postgres = await cp.call('GET', '/api/v1/sd/scrape-targets?job=postgres');
    assert.deepEqual(postgres.body, [group(pgExporter.url)]);
    // The runtimes' list is as it was: only the instance with a metricsUrl.
    const runtimes = await cp.call('GET', '/api/v1/sd/scrape-targets');
    assert.deepEqual(
      runtimes.body.map((g: { labels: { instance: string } }) => g.labels.instance),
      ['other-prod'],
    );
    for (const q of ['job=mysql', 'job=node&job=postgres', 'job=node%00', 'jobs=node']) {
      const bad = await cp.call('GET', `/api/v1/sd/scrape-targets?${q}`);
      assert.equal(bad.status, 400, `${q}: ${bad.text}`);
      assert.match(bad.text, /job/, q);
    }
  });

  it('a real Prometheus scrapes them through the control plane: up and pg_up are 1 with client and instance', async () => {
    const tokenFile = path.join(dir, 'prometheus.token');
    await fs.writeFile(tokenFile, await cp.token('prometheus'));
    const job = (name: string) => [
      `  - job_name: ${name}`,
      '    http_sd_configs:',
      `      - url: ${cp.url}/api/v1/sd/scrape-targets?job=${name}`,
      '        refresh_interval: 1s',
      `        authorization: {type: Bearer, credentials_file: ${tokenFile}}`,
    ];
    prom = await startPrometheus(
      ['global: {scrape_interval: 1s}', 'scrape_configs:', ...job('node'), ...job('postgres')].join('\n'),
    );
    const one = async (expr: string) => {
      const r = await query(prom!, expr);
      return r.length === 1 && r[0]!.value[1] === '1' && r;
    };
    await waitFor('up{job="node"} == 1 for smile-prod', () =>
      one('up{job="node",client="smile-dental",instance="smile-prod"}'),
    );
    await waitFor('pg_up{job="postgres"} == 1 for smile-prod', () =>
      one('pg_up{job="postgres",client="smile-dental",instance="smile-prod"}'),
    );
    // The host's own series carry the instance's labels too, so the capacity rules can attribute them.
    const cpu = await query(prom, 'count(node_cpu_seconds_total{job="node",client="smile-dental"})');
    assert.ok(Number(cpu[0]?.value[1]) > 0, 'node_cpu_seconds_total scraped with the client label');
    assert.equal((await query(prom, 'up{client="other-clinic"}')).length, 0);
  });

  it('refuses bad exporter URLs at the field and changes nothing', async () => {
    const before = (await cp.call('GET', '/api/v1/instances/smile-prod')).body;
    const audits = await cp.count('audit_log');
    const cases: [string, string][] = [
      ['nodeExporterUrl', 'http://10.0.0.1:9100/me\u0000trics'],
      ['postgresExporterUrl', 'ftp://10.0.0.1:9187/metrics'],
      ['nodeExporterUrl', 'file:///etc/passwd'],
      ['postgresExporterUrl', `http://10.0.0.1:9187/${'a'.repeat(10_000)}`],
      ['nodeExporterUrl', 'http://\ud800.example.test/metrics'],
    ];
    for (const [field, value] of cases) {
      const r = await cp.call('PATCH', '/api/v1/instances/smile-prod', { body: { [field]: value } });
      assert.equal(r.status, 400, `${field}=${JSON.stringify(value.slice(0, 40))}: ${r.text}`);
      assert.ok(
        r.body.errors.some((e: { field: string }) => e.field === `/${field}`),
        `names /${field}: ${r.text}`,
      );
      const c = await cp.call('POST', '/api/v1/instances', {
        body: instanceBody('smile-dental', 'smile-new', { [field]: value }),
      });
      assert.equal(c.status, 400, c.text);
      assert.ok(
        c.body.errors.some((e: { field: string }) => e.field === `/${field}`),
        c.text,
      );
    }
    assert.deepEqual((await cp.call('GET', '/api/v1/instances/smile-prod')).body, before);
    assert.equal((await cp.call('GET', '/api/v1/instances/smile-new')).status, 404);
    assert.equal(await cp.count('audit_log'), audits);
  });

  it("hides another client's exporter URLs from a client's token and keeps SD to Prometheus's roles", async () => {
    const token = await cp.token('client', 'other-clinic');
    assert.equal((await cp.call('GET', '/api/v1/instances/smile-prod', { token })).status, 404);
    const own = await cp.call('GET', '/api/v1/instances', { token });
    assert.deepEqual(
      own.body.map((i: { slug: string }) => i.slug),
      ['other-prod'],
    );
    const r = await cp.call('PATCH', '/api/v1/instances/smile-prod', {
      token,
      body: { nodeExporterUrl: 'http://10.6.6.6:9100/metrics' },
    });
    assert.equal(r.status, 403, r.text);
    const sd = await cp.call('GET', '/api/v1/sd/scrape-targets?job=node', { token });
    assert.equal(sd.status, 403, sd.text);
    const node = await cp.call('GET', '/api/v1/sd/scrape-targets?job=node');
    assert.deepEqual(node.body[0].targets, [new URL(nodeExporter.url).host]);
  });

  it('removes an endpoint with null in a PATCH (out of its SD job, audited), and refuses null on create', async () => {
    const removed = await cp.call('PATCH', '/api/v1/instances/smile-prod', {
      body: { nodeExporterUrl: null },
    });
    assert.equal(removed.status, 200, removed.text);
    assert.equal(removed.body.nodeExporterUrl, null);
    assert.equal(removed.body.postgresExporterUrl, `${pgExporter.url}/metrics`, 'the other stays');
    assert.deepEqual((await cp.call('GET', '/api/v1/sd/scrape-targets?job=node')).body, []);
    assert.equal((await cp.call('GET', '/api/v1/sd/scrape-targets?job=postgres')).body.length, 1);
    const audit = await cp.call('GET', `/api/v1/audit?targetType=instance&targetId=${removed.body.id}`);
    assert.equal(audit.body[0].before.nodeExporterUrl, `${nodeExporter.url}/metrics`);
    assert.equal(audit.body[0].after.nodeExporterUrl, null);

    const created = await cp.call('POST', '/api/v1/instances', {
      body: instanceBody('smile-dental', 'smile-null', { nodeExporterUrl: null }),
    });
    assert.equal(created.status, 400, created.text);
    assert.ok(
      created.body.errors.some((e: { field: string }) => e.field === '/nodeExporterUrl'),
      created.text,
    );
  });
});
