/**
 * Every Grafana panel query and variable query, run against the Prometheus of a real `npm run stack`: it scrapes
 * the demo fleet (concierge-telemetry), the fleet prober, the backup exporter, the control plane, itself and
 * Alertmanager, with the project's rules. The test makes what the panels show happen: a demo instance's backend
 * broken and another's OpenEMR, a real pg_dump archive with its manifest for the backup exporter (verified and
 * restore-tested), two alerts through Alertmanager that open incidents and page by SMS and call (Twilio
 * stand-in), acknowledged and resolved through the API, Faro payloads with web vitals, errors and sessions sent
 * with an app key made through the API, and an https service so certificate expiry is measured.
 *
 * A query that returns nothing (or only NaN, which Grafana shows as no value) fails, naming dashboard, panel and
 * query. ALLOWED lists the panels that cannot have data in a few minutes, each with its reason.
 */
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { selfSignedCert } from '../../exporters/fleet-prober/testing/stand-ins.ts';
import { buildDashboards } from '../../grafana/src/dashboards.ts';
import { waitFor } from '../helpers/alerts.ts';
import {
  queriesOf,
  substitute,
  variableSelector,
  variablesOf,
  hasData,
  type PromResponse,
} from '../helpers/dashboards.ts';
import { reachableTempDir } from '../helpers/process.ts';
import { runbookMetrics } from '../helpers/runbooks.ts';
import { startPg15 } from '../helpers/pg15.ts';
import { seedRota } from '../helpers/stack.ts';
import { requireTool } from '../helpers/tools.ts';
import { TwilioStandIn } from '../helpers/twilio-standin.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const run = promisify(execFile);
const OLIVIA = '+15551230002';
const DEV = '+15551230003';
const ORIGIN = 'http://dashboards-test.example.test';
// The demo's first instance: the client detail dashboard is checked for it.
const CLIENT = 'demo-riverside';
const INSTANCE = 'riverside-prod';

/** Panels that cannot have data within a test's minutes, each with why. Keep it short. */
const ALLOWED: Record<string, string> = {};

describe('dashboards against the Prometheus of a running stack', function () {
  this.timeout(240_000);
  let tw: TwilioStandIn;
  let dir: string;
  let child: ChildProcess;
  let exited: Promise<number | null>;
  let out = '';
  let admin = '';
  let tls: https.Server | undefined;
  let faroTimer: NodeJS.Timeout | undefined;
  const urls: Record<string, string> = {};

  const prom = async (expr: string): Promise<PromResponse> => {
    const res = await fetch(`${urls.prometheus}/api/v1/query`, {
      method: 'POST',
      body: new URLSearchParams({ query: expr }),
    });
    return (await res.json()) as PromResponse;
  };
  const api = async (method: string, url: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(urls['control plane'] + url, {
      method,
      headers: {
        authorization: `Bearer ${admin}`,
        ...(body ? { 'content-type': 'application/json' } : {}),
        ...headers,
      },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    let json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, body: json, text };
  };

  before(async () => {
    for (const t of ['prometheus', 'prometheus-alertmanager', 'pg_dump', 'pg_restore']) requireTool(t);
    tw = await new TwilioStandIn().start();
    dir = await reachableTempDir('dashboards-stack-');
    // An https service for the demo's first instance, with a certificate the prober trusts (NODE_EXTRA_CA_CERTS).
    const pem = selfSignedCert(dir, 30);
    await fs.writeFile(path.join(dir, 'ca.pem'), pem.cert);
    tls = https.createServer({ key: pem.key, cert: pem.cert }, (_req, res) => res.writeHead(200).end('ok'));
    await new Promise<void>((r) => tls!.listen(0, '127.0.0.1', () => r()));
    // A real pg_dump archive (PostgreSQL 15, as the exporter's pg_restore reads) with its manifest, for
    // riverside, in the folder the stack's backup exporter scans; it verifies it and restore-tests it.
    const pg15 = await startPg15();
    try {
      const db15 = new pg.Client({
        host: '127.0.0.1',
        port: pg15.port,
        user: 'postgres',
        database: 'postgres',
      });
      await db15.connect();
      await db15.query(`create table appointments (id int primary key, at timestamptz);
        insert into appointments select g, now() - g * interval '1 hour' from generate_series(1, 120) g;`);
      await db15.end();
      const backups = path.join(dir, 'backups');
      await fs.mkdir(backups, { recursive: true });
      const startedAt = new Date().toISOString();
      const file = path.join(backups, 'riverside.dump');
      await run('pg_dump', [
        '-h',
        '127.0.0.1',
        '-p',
        String(pg15.port),
        '-U',
        'postgres',
        '-Fc',
        '-f',
        file,
        'postgres',
      ]);
      const archive = await fs.readFile(file);
      await fs.writeFile(
        `${file}.manifest.json`,
        JSON.stringify({
          version: 1,
          file: 'riverside.dump',
          client: CLIENT,
          instance: INSTANCE,
          kind: 'full',
          startedAt,
          finishedAt: new Date().toISOString(),
          sha256: createHash('sha256').update(archive).digest('hex'),
          tables: { 'public.appointments': 120 },
        }),
      );
    } finally {
      await pg15.stop();
    }
    child = spawn(process.execPath, ['--import', 'tsx', 'scripts/stack.ts'], {
      cwd: ROOT,
      env: {
        ...process.env,
        DATA_DIR: dir,
        STACK_SCRAPE_INTERVAL: '2s',
        PROBE_INTERVAL_SECONDS: '1',
        PROBER_SD_REFRESH_SECONDS: '2',
        BACKUP_SCAN_INTERVAL_SECONDS: '2',
        BACKUP_RESTORE_TEST_INTERVAL_SECONDS: '5',
        WORKER_POLL_INTERVAL_MS: '100',
        NODE_EXTRA_CA_CERTS: path.join(dir, 'ca.pem'),
        TWILIO_ACCOUNT_SID: 'AC' + 'ef'.repeat(16),
        TWILIO_AUTH_TOKEN: 'twilio-auth-token-for-tests-0123456789',
        TWILIO_FROM_NUMBER: '+15005550006',
        TWILIO_API_URL: tw.url,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (out += d));
    exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    await waitFor(
      'the stack to print its URLs',
      () => /Ctrl-C stops everything/.test(out) || undefined,
      150_000,
    ).catch((err: unknown) => {
      throw new Error(`${String(err)}\n${out}`);
    });
    for (const m of out.matchAll(/^ {2}(\S.*?\S) {2,}(https?:\/\/127\.0\.0\.1:\d+)/gm)) urls[m[1]!] = m[2]!;
    assert.ok(urls['demo fleet'], `the stack did not start the demo fleet:\n${out}`);
    admin = (await fs.readFile(path.join(dir, 'secrets/admin.token'), 'utf8')).trim();
    const { databaseUrl } = JSON.parse(await fs.readFile(path.join(dir, 'stack.json'), 'utf8')) as {
      databaseUrl: string;
    };

    // Down and error panels: lakeview's backend fails; riverside's OpenEMR is down (errors, escalations).
    const control = JSON.parse(await fs.readFile(path.join(dir, 'demo/control.json'), 'utf8')) as {
      url: string;
    };
    for (const [instance, target] of [
      ['lakeview-prod', 'backend'],
      [INSTANCE, 'openemr'],
    ]) {
      const r = await fetch(`${control.url}/break`, {
        method: 'POST',
        body: JSON.stringify({ instance, target }),
      });
      assert.equal(r.status, 200, await r.text());
    }

    // The https service, beside the demo's own services of riverside.
    const inst = await api('GET', `/api/v1/instances/${INSTANCE}`);
    assert.equal(inst.status, 200, inst.text);
    const services = (inst.body.services as { name: string; kind: string; probe: unknown }[]).map(
      ({ name, kind, probe }) => ({ name, kind, probe }),
    );
    const port = (tls.address() as AddressInfo).port;
    services.push({
      name: 'edge-tls',
      kind: 'frontend',
      probe: { type: 'http', url: `https://127.0.0.1:${port}/` },
    });
    const patched = await api('PATCH', `/api/v1/instances/${INSTANCE}`, { services });
    assert.equal(patched.status, 200, patched.text);

    // Faro: a new app key for riverside (the demo's key keeps working through the grace period), then a page's
    // payloads every second: web vitals, a JavaScript error and a session start.
    const key = await api('POST', `/api/v1/instances/${INSTANCE}/faro-keys/rotate`, {
      allowedOrigins: [ORIGIN],
      pageRoutes: ['/', '/chat'],
      graceSeconds: 3600,
    });
    assert.equal(key.status, 201, key.text);
    let n = 0;
    const sendFaro = async () => {
      const now = new Date().toISOString();
      n++;
      const r = await api(
        'POST',
        `/api/v1/faro/collect/${key.body.key}`,
        {
          meta: {
            sdk: { name: '@grafana/faro-web-sdk', version: '2.12.1' },
            app: { name: 'concierge-web-chat', version: '1.0.0', environment: 'test' },
            session: { id: `dash${n}`, attributes: {} },
            page: { url: `${ORIGIN}/chat`, id: 'p1' },
            view: { name: 'default' },
          },
          measurements: [
            {
              type: 'web-vitals',
              values: { lcp: 1800 + n, inp: 120 + n, ttfb: 200 + n, cls: 0.05, fcp: 900 },
              timestamp: now,
            },
          ],
          exceptions: [
            { type: 'TypeError', value: 'x is undefined', timestamp: now, stacktrace: { frames: [] } },
          ],
          events: [{ name: 'session_start', timestamp: now }],
        },
        { origin: ORIGIN },
      );
      assert.ok(r.status < 300, `faro collect answered ${r.status}: ${r.text}`);
    };
    await sendFaro();
    faroTimer = setInterval(() => void sendFaro().catch(() => undefined), 1000);

    // A responder rota; level 2 of the ladder after 3 s, so both levels page while the test watches.
    await seedRota(databaseUrl, [OLIVIA, DEV], 3);

    // Two alerts through Alertmanager: two incidents, each paging level 1 (Olivia) and then level 2 (Dev).
    for (const [alertname, instance, client] of [
      ['DashboardsTestA', INSTANCE, CLIENT],
      ['DashboardsTestB', 'hillcrest-prod', 'demo-hillcrest'],
    ]) {
      const res = await fetch(`${urls.alertmanager}/api/v2/alerts`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify([
          {
            labels: { alertname, severity: 'critical', client, instance, service: 'backend' },
            annotations: { summary: `Dashboards test alert for ${instance}.` },
            startsAt: new Date().toISOString(),
          },
        ]),
      });
      assert.equal(res.status, 200);
    }
    const sms = await waitFor(
      'level 1 and level 2 SMS pages',
      () => (tw.messages(OLIVIA).length >= 2 && tw.messages(DEV).length >= 2 ? true : undefined),
      60_000,
    ).catch(async (err: unknown) => {
      const list = await api('GET', '/api/v1/incidents').catch(() => undefined);
      throw new Error(
        `${String(err)}: SMS to level 1 ${tw.messages(OLIVIA).length}, to level 2 ${tw.messages(DEV).length}\n` +
          `incidents: ${list?.text}\nstack output (last 6000 characters):\n${out.slice(-6000)}`,
      );
    });
    assert.ok(sms);
    // A request with a token the control plane does not know: the auth-denied series.
    const denied = await fetch(`${urls['control plane']}/api/v1/incidents`, {
      headers: { authorization: 'Bearer cop_not-a-token' },
    });
    assert.equal(denied.status, 401);
    const incidents = await waitFor(
      'the two incidents',
      async () => {
        const list = await api('GET', '/api/v1/incidents');
        const mine = (list.body as { id: string; title?: string; alertname?: string }[]).filter((i) =>
          /DashboardsTest/.test(JSON.stringify(i)),
        );
        return mine.length >= 2 ? mine : undefined;
      },
      30_000,
    );
    // Acknowledged and resolved one after the other, scrapes apart: the time-to-ack and time-to-resolve
    // histograms then grow between two scrapes, which is what rate() needs.
    const pause = () => new Promise((r) => setTimeout(r, 4500));
    for (const step of ['ack', 'resolve'])
      for (const i of incidents) {
        const r = await api('POST', `/api/v1/incidents/${i.id}/${step}`, { note: 'dashboards test' });
        assert.equal(r.status, 200, r.text);
        await pause();
      }
  });

  after(async () => {
    if (faroTimer) clearInterval(faroTimer);
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
    tls?.closeAllConnections();
    await new Promise((r) => (tls ? tls.close(r) : r(undefined)));
    await tw?.stop();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  it('resolves the client detail variables from what Prometheus scraped', async () => {
    const d = buildDashboards()['client-detail']!;
    const vars: Record<string, string> = {};
    const want: Record<string, string> = { client: CLIENT, instance: INSTANCE };
    for (const v of variablesOf(d)) {
      const sel = variableSelector(v);
      assert.ok(sel, `variable ${v.name} is not a label_values query`);
      const label = /,\s*([a-zA-Z_]\w*)\)$/.exec(String(v.query))![1]!;
      const url = `${urls.prometheus}/api/v1/label/${label}/values?${new URLSearchParams({ 'match[]': substitute(sel, vars) })}`;
      const values = await waitFor(
        `client-detail / variable ${v.name}: ${want[v.name]} among its values`,
        async () => {
          const got = ((await (await fetch(url)).json()) as { data: string[] }).data;
          return got.includes(want[v.name]!) ? got : undefined;
        },
        30_000,
      );
      vars[v.name] = want[v.name]!;
      if (v.name === 'instance') assert.deepEqual(values, [INSTANCE], 'instances of one client');
    }
    assert.deepEqual(vars, want);
  });

  it('returns data for every panel query', async () => {
    const vars = { client: CLIENT, instance: INSTANCE };
    // The capacity dashboard's series come from the node_exporter and postgres_exporter the stack runs and
    // registers on the demo's first instance.
    const queries = Object.entries(buildDashboards()).flatMap(([name, d]) => queriesOf(name, d));
    const where = (q: (typeof queries)[number]) => `${q.dashboard} / ${q.panel} / ${q.refId}`;
    const checked = queries.filter((q) => !(where(q) in ALLOWED));
    // Data arrives over a few scrapes (rate() needs two samples, a histogram an increase between two): poll
    // until every query has returned data once, as a panel over the last minutes would show it.
    const pending = new Map(checked.map((q) => [where(q), q]));
    assert.equal(pending.size, checked.length, 'dashboard / panel / refId names every query once');
    const last = new Map<string, string>();
    const started = Date.now();
    // The capacity-trend group (prometheus/rules/capacity.yml) runs every 2 minutes, at an offset in that
    // interval Prometheus picks: its records can first appear up to 2 minutes after the data they need, so
    // the queries that read them get 2 minutes and a half; every other query 90 s.
    const TREND = /instance:capacity_(days_until_full|database_growth)/;
    const deadline = (q: { expr: string }) => started + (TREND.test(q.expr) ? 150_000 : 90_000);
    for (;;) {
      for (const [k, q] of pending) {
        const expr = substitute(q.expr, vars);
        const r = await prom(expr);
        if (hasData(r)) pending.delete(k);
        else last.set(k, r.status === 'success' ? `no data for ${expr}` : `${r.error ?? r.status}`);
      }
      if ([...pending.values()].every((q) => Date.now() > deadline(q))) break;
      await new Promise((r) => setTimeout(r, 2000));
    }
    const failures = [...pending.keys()].map((k) => `${k}: ${last.get(k)}`);
    console.log(
      `      ${checked.length - failures.length} of ${queries.length} panel queries returned data ` +
        `(${Math.round((Date.now() - started) / 1000)} s after the setup); allowlisted: ${Object.keys(ALLOWED).length}`,
    );
    for (const [k, why] of Object.entries(ALLOWED)) console.log(`        - ${k}: ${why}`);
    assert.deepEqual(failures, []);
    assert.ok(checked.length >= 80, `only ${checked.length} queries checked`);
  });

  it('finds in Prometheus every metric a runbook queries', async () => {
    const { metrics, errors } = runbookMetrics();
    assert.deepEqual(errors, [], 'every runbook query parses');
    assert.ok(metrics.size >= 30, `only ${metrics.size} metric names read from the runbooks`);
    // postgres_exporter exports the replication lag only on a primary with a standby connected, and the stack's
    // database has none (test/stack/exporter-metrics.test.ts names the same one exception).
    assert.ok(
      metrics.delete('pg_stat_replication_pg_wal_lsn_diff'),
      'PostgresReplicationLag names its metric',
    );
    // What the scenario above does not produce: a heartbeat monitor (HeartbeatMissing's series), and
    // riverside's WAL (PitrWindowGap's series).
    const hb = await api('POST', '/api/v1/heartbeats', {
      instance: INSTANCE,
      name: 'nightly-export',
      intervalSeconds: 3600,
    });
    assert.equal(hb.status, 201, hb.text);
    const pushed = await fetch(urls['control plane'] + hb.body.pushPath);
    assert.equal(pushed.status, 200, await pushed.text());
    for (const [id, from, to] of [
      ['dash-wal1', 6, 4],
      ['dash-wal2', 3, 1],
    ] as const) {
      const at = (h: number) => new Date(Date.now() - h * 3600_000).toISOString();
      const r = await api('POST', '/api/v1/backups/runs', {
        runId: id,
        instance: INSTANCE,
        tool: 'pgbackrest',
        kind: 'wal',
        status: 'success',
        startedAt: at(from),
        finishedAt: at(to),
        walStart: at(from),
        walEnd: at(to),
      });
      assert.equal(r.status, 201, r.text);
    }
    const names = async () =>
      new Set(
        (
          (await (await fetch(`${urls.prometheus}/api/v1/label/__name__/values`)).json()) as {
            data: string[];
          }
        ).data,
      );
    let missing: string[];
    const deadline = Date.now() + 60_000;
    for (;;) {
      const have = await names();
      missing = [...metrics.keys()]
        .filter((m) => !have.has(m))
        .map((m) => `${m} (${metrics.get(m)!.join(', ')})`);
      if (missing.length === 0 || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 2000));
    }
    assert.deepEqual(missing, []);
  });
});
