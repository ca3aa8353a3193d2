/**
 * The monthly report's capacity section from a real Prometheus running the project's capacity rules: a
 * node_exporter and postgres_exporter stand-in (their metric names and labels, per the fleet's label contract)
 * for one client's instance whose root file system fills at a known rate, another client's instance nearly
 * full, and a series that claims the first client for an instance that is not its own.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { DateTime } from 'luxon';
import { PrometheusCapacity } from '../../control-plane/src/reports/capacity.ts';
import { pdfText } from '../fixtures/reports/pdf-pages.ts';
import {
  clientBody,
  instanceBody,
  startControlPlane,
  type TestControlPlane,
} from '../helpers/control-plane.ts';
import { REPO, query, startPrometheus, type Proc } from '../helpers/stack.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const SIZE = 1e12;
// 1 MB a second of a 1 TB disk: 8.64 % of it a day; from half full, about 5.8 days to full.
const FILL_PER_SECOND = 1e6;
const GiB = 2 ** 30;

function exposition(t0: number): string {
  const s = (Date.now() - t0) / 1000;
  const node = (client: string, instance: string, availFs: number, idle: number) => [
    `node_cpu_seconds_total{job="node",client="${client}",instance="${instance}",cpu="0",mode="idle"} ${idle * s}`,
    `node_cpu_seconds_total{job="node",client="${client}",instance="${instance}",cpu="0",mode="user"} ${(1 - idle) * s}`,
    `node_memory_MemTotal_bytes{job="node",client="${client}",instance="${instance}"} 8000000000`,
    `node_memory_MemAvailable_bytes{job="node",client="${client}",instance="${instance}"} 4000000000`,
    `node_filesystem_size_bytes{job="node",client="${client}",instance="${instance}",device="/dev/vda1",fstype="ext4",mountpoint="/"} ${SIZE}`,
    `node_filesystem_avail_bytes{job="node",client="${client}",instance="${instance}",device="/dev/vda1",fstype="ext4",mountpoint="/"} ${availFs}`,
  ];
  return [
    ...node('cap', 'cap-prod', SIZE / 2 - FILL_PER_SECOND * s, 0.25),
    ...node('other', 'other-prod', SIZE / 100, 0.9),
    // Mislabelled: claims client cap for an instance cap does not have.
    ...node('cap', 'intruder-prod', SIZE / 100, 0.9),
    `pg_stat_activity_count{job="postgres",client="cap",instance="cap-prod",datname="concierge",state="active"} 6`,
    `pg_stat_activity_count{job="postgres",client="cap",instance="cap-prod",datname="concierge",state="idle"} 4`,
    `pg_settings_max_connections{job="postgres",client="cap",instance="cap-prod"} 100`,
    `pg_database_size_bytes{job="postgres",client="cap",instance="cap-prod",datname="concierge"} ${2 * GiB + 2 ** 20 * s}`,
    '',
  ].join('\n');
}

describe('report capacity section from a real Prometheus with the capacity rules', () => {
  let cp: TestControlPlane;
  let prom: Proc;
  let target: http.Server;
  const month = DateTime.now().setZone('America/New_York').toFormat('yyyy-MM');

  before(async function () {
    this.timeout(90_000);
    const t0 = Date.now() - 60_000;
    target = http.createServer((_req, res) => {
      res.setHeader('Content-Type', 'text/plain; version=0.0.4');
      res.end(exposition(t0));
    });
    await new Promise<void>((r) => target.listen(0, '127.0.0.1', () => r()));
    const port = (target.address() as AddressInfo).port;
    // The project's rules, with the 7-day trend group evaluated every second rather than every 2 minutes.
    const rules = (await fs.readFile(path.join(REPO, 'prometheus/rules/capacity.yml'), 'utf8')).replace(
      'interval: 2m',
      'interval: 1s',
    );
    assert.match(rules, /interval: 1s/);
    prom = await startPrometheus(
      `
global: { scrape_interval: 1s, evaluation_interval: 1s }
rule_files: [capacity.yml]
scrape_configs:
  - job_name: exporters
    honor_labels: true
    static_configs:
      - targets: ['127.0.0.1:${port}']
`,
      { 'capacity.yml': rules },
    );
    cp = await startControlPlane({ WORKERS: 'off', PROMETHEUS_URL: prom.url });
    for (const c of ['cap', 'other']) {
      await cp.call('POST', '/api/v1/clients', { body: clientBody(c) });
      await cp.call('POST', '/api/v1/instances', { body: instanceBody(c, `${c}-prod`) });
    }
    // Enough evaluations for a trend (deriv needs two recorded samples; a few more steady it).
    for (let i = 0; i < 60; i++) {
      const r = await query(
        prom,
        'count_over_time(instance:capacity_days_until_full:days{client="cap"}[1m])',
      );
      if (r.length > 0 && r.every((x) => Number(x.value[1]) >= 5)) break;
      await sleep(500);
    }
  });
  after(async () => {
    await cp?.close();
    await prom?.stop();
    target?.close();
  });

  it("gives each of the client's own resources its peak in the month and its days until full", async () => {
    const r = await cp.call('GET', `/api/v1/clients/cap/reports/${month}.json`);
    assert.equal(r.status, 200, r.text);
    const c = r.body.capacity;
    assert.equal(c.available, true, JSON.stringify(c));
    const rows = c.resources as {
      instance: string;
      resource: string;
      mountpoint: string | null;
      peakUsedRatio: number;
      daysUntilFull: number;
    }[];
    // Only cap-prod: neither the other client's instance nor the one mislabelled as cap's.
    assert.deepEqual(
      rows.map((x) => [x.instance, x.resource, x.mountpoint]),
      [
        ['cap-prod', 'cpu', null],
        ['cap-prod', 'memory', null],
        ['cap-prod', 'filesystem', '/'],
        ['cap-prod', 'postgres_connections', null],
      ],
    );
    const [cpu, memory, disk, conns] = rows;
    assert.ok(Math.abs(cpu!.peakUsedRatio - 0.75) < 0.01, String(cpu!.peakUsedRatio));
    assert.equal(memory!.peakUsedRatio, 0.5);
    assert.equal(memory!.daysUntilFull, 365, 'steady memory: a year or more');
    assert.equal(conns!.peakUsedRatio, 0.1);
    // 0.5 left at 0.0864 a day: 5.79 days, less what filled since.
    assert.ok(disk!.daysUntilFull > 5.6 && disk!.daysUntilFull < 5.8, String(disk!.daysUntilFull));
    assert.ok(disk!.peakUsedRatio > 0.5 && disk!.peakUsedRatio < 0.51, String(disk!.peakUsedRatio));
    assert.equal(c.databases.length, 1);
    const db = c.databases[0];
    assert.equal(db.instance, 'cap-prod');
    assert.equal(db.database, 'concierge');
    assert.ok(db.peakBytes > 2 * GiB, String(db.peakBytes));
    // 1 MiB a second: 84.4 GiB a day.
    assert.ok(Math.abs(db.growthBytesPerDay / (86400 * 2 ** 20) - 1) < 0.02, String(db.growthBytesPerDay));
  });

  it('shows the section in the HTML and the PDF', async () => {
    const html = (await cp.call('GET', `/api/v1/clients/cap/reports/${month}.html`)).text;
    assert.match(html, /<h2>Capacity<\/h2>/);
    assert.match(
      html,
      /<tr><th scope="row">cap-prod<\/th><td>Disk \/<\/td><td>50\.\d %<\/td><td>5\.\d days<\/td><\/tr>/,
    );
    assert.match(html, /<td>Memory<\/td><td>50\.0 %<\/td><td>a year or more<\/td>/);
    assert.match(html, /<td>PostgreSQL connections<\/td><td>10\.0 %<\/td>/);
    assert.match(html, /<td>concierge<\/td><td>2\.\d GiB<\/td><td>\+8[34]\.\d GiB a day<\/td>/);
    assert.doesNotMatch(html, /other-prod|intruder-prod/);
    const pdf = await fetch(`${cp.url}/api/v1/clients/cap/reports/${month}.pdf`, {
      headers: { authorization: `Bearer ${cp.adminToken}` },
    });
    assert.equal(pdf.status, 200);
    const bytes = Buffer.from(await pdf.arrayBuffer());
    // Kept for a look (test/artifacts is git-ignored).
    await fs.mkdir(path.join(REPO, 'test/artifacts/capacity'), { recursive: true });
    await fs.writeFile(path.join(REPO, 'test/artifacts/capacity/report.pdf'), bytes);
    await fs.writeFile(path.join(REPO, 'test/artifacts/capacity/report.html'), html);
    const text = pdfText(bytes);
    assert.match(text, /Capacity/);
    assert.match(text, /PostgreSQL connections/);
    assert.match(text, /a year or more/);
  });

  it("reads only the client's own instances for another client's report", async () => {
    const theirs = await cp.call('GET', `/api/v1/clients/other/reports/${month}.json`);
    assert.equal(theirs.status, 200, theirs.text);
    assert.deepEqual(
      theirs.body.capacity.resources.map((x: { instance: string; resource: string }) => [
        x.instance,
        x.resource,
      ]),
      [
        ['other-prod', 'cpu'],
        ['other-prod', 'memory'],
        ['other-prod', 'filesystem'],
      ],
    );
    assert.equal(theirs.body.capacity.resources[2].peakUsedRatio, 0.99);
    assert.deepEqual(theirs.body.capacity.databases, []);
  });

  it('says capacity data is unavailable, and still reports, when Prometheus fails or holds nothing', async () => {
    await cp.call('POST', '/api/v1/clients', { body: clientBody('quiet') });
    await cp.call('POST', '/api/v1/instances', { body: instanceBody('quiet', 'quiet-prod') });
    const quiet = await cp.call('GET', `/api/v1/clients/quiet/reports/${month}.html`);
    assert.equal(quiet.status, 200);
    assert.match(
      quiet.text,
      /Capacity data unavailable \(Prometheus holds no capacity data for these instances this month\)\./,
    );

    // A Prometheus that answers 503, and one that does not answer at all within the timeout.
    const broken = http.createServer((_req, res) => res.writeHead(503).end());
    const silent = http.createServer(() => undefined);
    for (const s of [broken, silent]) await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
    const url = (s: http.Server) => `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
    const from = new Date(Date.now() - 86400_000);
    try {
      assert.deepEqual(
        await new PrometheusCapacity(url(broken)).forClient('cap', ['cap-prod'], from, new Date()),
        {
          available: false,
          reason: 'Prometheus could not be queried (Prometheus answered 503)',
        },
      );
      // A slug that is not one (only a bypass of the fleet's schema could store it) never reaches PromQL.
      assert.deepEqual(
        await new PrometheusCapacity(url(broken)).forClient(
          'cap',
          ['x"} or vector(1) or {a="'],
          from,
          new Date(),
        ),
        { available: false, reason: 'a client or instance slug is not one Prometheus can be asked about' },
      );
      const late = await new PrometheusCapacity(url(silent), 300).forClient(
        'cap',
        ['cap-prod'],
        from,
        new Date(),
      );
      assert.equal(late.available, false);
      assert.match(
        (late as { reason: string }).reason,
        /^Prometheus could not be queried \(.*(timeout|aborted)/i,
      );
    } finally {
      silent.closeAllConnections();
      for (const s of [broken, silent]) await new Promise((r) => s.close(r));
    }
  });
});
