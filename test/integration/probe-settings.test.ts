import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FleetProber } from '../../exporters/fleet-prober/src/prober.ts';
import { sample, scrape, selfSignedCert, waitFor } from '../../exporters/fleet-prober/testing/stand-ins.ts';
import {
  clientBody,
  instanceBody,
  startControlPlane,
  type TestControlPlane,
} from '../helpers/control-plane.ts';
import { DnsStandIn } from '../helpers/dns-server.ts';

type Body = Record<string, unknown>;

describe('probe settings through the fleet API: body match, dns, TLS expiry thresholds', function () {
  let cp: TestControlPlane;
  before(async () => {
    cp = await startControlPlane({ WORKERS: 'off' });
    assert.equal(
      (await cp.call('POST', '/api/v1/clients', { body: clientBody('bright-smile') })).status,
      201,
    );
    assert.equal(
      (await cp.call('POST', '/api/v1/clients', { body: clientBody('other-clinic') })).status,
      201,
    );
  });
  after(() => cp.close());

  const services = [
    {
      name: 'api',
      kind: 'backend',
      probe: {
        type: 'http',
        url: 'https://bs.example.test/health',
        bodyRegex: '"status":\\s*"ok"',
        bodyJson: { path: '$.checks[0].ready', equals: true },
        tlsExpiry: { warningDays: 30, criticalDays: 10 },
      },
    },
    {
      name: 'dns',
      kind: 'dependency',
      probe: {
        type: 'dns',
        name: 'bs.example.test',
        recordType: 'A',
        server: '192.0.2.53:5353',
        expect: '192.0.2.10',
      },
    },
  ];

  it('stores the settings, serves them to the prober in service discovery and audits them', async () => {
    const created = await cp.call('POST', '/api/v1/instances', {
      body: instanceBody('bright-smile', 'bs-prod', { services }),
    });
    assert.equal(created.status, 201, created.text);
    assert.deepEqual(created.body.services[0].probe, {
      ...services[0]!.probe,
      expectStatus: 200,
      timeoutMs: 5000,
      healthJson: false,
    });
    assert.deepEqual(created.body.services[1].probe, { ...services[1]!.probe, timeoutMs: 5000 });

    const sd = (await cp.call('GET', '/api/v1/sd/probe-targets')).body as {
      targets: string[];
      labels: Body;
    }[];
    const api = sd.find((g) => g.labels.service === 'api')!;
    assert.equal(api.labels.__meta_concierge_body_regex, '"status":\\s*"ok"');
    assert.equal(api.labels.__meta_concierge_body_json_path, '$.checks[0].ready');
    assert.equal(api.labels.__meta_concierge_body_json_equals, 'true');
    assert.equal(api.labels.__meta_concierge_tls_warning_days, '30');
    assert.equal(api.labels.__meta_concierge_tls_critical_days, '10');
    const dns = sd.find((g) => g.labels.service === 'dns')!;
    assert.deepEqual(dns.targets, ['bs.example.test']);
    assert.equal(dns.labels.__meta_concierge_probe_type, 'dns');
    assert.equal(dns.labels.__meta_concierge_dns_record_type, 'A');
    assert.equal(dns.labels.__meta_concierge_dns_server, '192.0.2.53:5353');
    assert.equal(dns.labels.__meta_concierge_dns_expect, '192.0.2.10');

    const audit = await cp.call('GET', `/api/v1/audit?targetType=instance&targetId=${created.body.id}`);
    assert.equal(audit.body[0].action, 'instance.create');
    assert.match(audit.body[0].actor, /bootstrap-admin/);
    assert.deepEqual(audit.body[0].after.services[1].probe.expect, '192.0.2.10');

    // Tenant rules as for every instance field: the client's own token reads them, another client's gets 404.
    const own = await cp.call('GET', '/api/v1/instances/bs-prod', {
      token: await cp.token('client', 'bright-smile'),
    });
    assert.equal(own.body.services[0].probe.tlsExpiry.criticalDays, 10);
    const other = await cp.call('GET', '/api/v1/instances/bs-prod', {
      token: await cp.token('client', 'other-clinic'),
    });
    assert.equal(other.status, 404);
  });

  /** Audit records of instance changes (reads are audited too, staged and chained later: not counted here). */
  const instanceChanges = async () => {
    const sql = `select ((select count(*) from audit_log where action like 'instance.%')
                 + (select count(*) from audit_pending where action like 'instance.%'))::int as n`;
    return (await cp.db.query<{ n: number }>(sql)).rows[0]!.n;
  };

  /** [probe, the pointer the 400 must name] for hostile and wrong probe settings. */
  const refused: Array<[string, Body, string]> = [
    ['a catastrophic regex', { type: 'http', url: 'http://x.test/', bodyRegex: '(a+)+$' }, '/services/0/probe/bodyRegex'],
    ['a regex that does not compile', { type: 'http', url: 'http://x.test/', bodyRegex: 'ok([' }, '/services/0/probe/bodyRegex'],
    ['a huge regex', { type: 'http', url: 'http://x.test/', bodyRegex: 'a'.repeat(10_000) }, '/services/0/probe/bodyRegex'],
    ['a NUL in the regex', { type: 'http', url: 'http://x.test/', bodyRegex: 'ok\u0000' }, '/services/0/probe/bodyRegex'],
    ['a JSON path with a wildcard', { type: 'http', url: 'http://x.test/', bodyJson: { path: '$..ready', equals: true } }, '/services/0/probe/bodyJson/path'],
    ['an object as the expected value', { type: 'http', url: 'http://x.test/', bodyJson: { path: '$.a', equals: { b: 1 } } }, '/services/0/probe/bodyJson/equals'],
    ['a 10,000-character expected value', { type: 'http', url: 'http://x.test/', bodyJson: { path: '$.a', equals: 'x'.repeat(10_000) } }, '/services/0/probe/bodyJson/equals'],
    ['a threshold of a billion days', { type: 'http', url: 'https://x.test/', tlsExpiry: { warningDays: 1e9, criticalDays: 7 } }, '/services/0/probe/tlsExpiry/warningDays'],
    ['TLS thresholds on plain http', { type: 'http', url: 'http://x.test/', tlsExpiry: { warningDays: 30, criticalDays: 7 } }, '/services/0/probe/tlsExpiry'],
    ['a critical threshold above the warning one', { type: 'http', url: 'https://x.test/', tlsExpiry: { warningDays: 7, criticalDays: 14 } }, '/services/0/probe/tlsExpiry/criticalDays'],
    ['a 10,000-character name', { type: 'dns', name: 'a'.repeat(10_000), recordType: 'A' }, '/services/0/probe/name'],
    ['an unknown record type', { type: 'dns', name: 'x.test', recordType: 'SRV' }, '/services/0/probe/recordType'],
    ['a DNS server given by name', { type: 'dns', name: 'x.test', recordType: 'A', server: 'dns.example' }, '/services/0/probe/server'],
    ['a DNS server that is no address', { type: 'dns', name: 'x.test', recordType: 'A', server: '999.1.1.1' }, '/services/0/probe/server'],
    ['a DNS server port out of range', { type: 'dns', name: 'x.test', recordType: 'A', server: '192.0.2.1:99999' }, '/services/0/probe/server'],
    ['an IPv6 server with a port outside brackets', { type: 'dns', name: 'x.test', recordType: 'A', server: '[::1]53' }, '/services/0/probe/server'],
    ['a lone surrogate in the expected answer', { type: 'dns', name: 'x.test', recordType: 'TXT', expect: 'v=\ud800' }, '/services/0/probe/expect'],
  ]; // prettier-ignore
  for (const [what, probe, field] of refused) {
    it(`refuses ${what} with a 400 naming ${field}, and changes nothing`, async () => {
      const before = (await cp.call('GET', '/api/v1/instances/bs-prod')).body;
      const audits = await instanceChanges();
      const body = { services: [{ name: 'svc', kind: 'backend', probe }] };
      const r = await cp.call('PATCH', '/api/v1/instances/bs-prod', { body });
      assert.equal(r.status, 400, r.text);
      const fields = (r.body.errors as { field: string }[]).map((e) => e.field);
      assert.ok(
        fields.some((f) => f === field || f.startsWith(`${field}/`)),
        `${JSON.stringify(fields)} names ${field}`,
      );
      assert.deepEqual((await cp.call('GET', '/api/v1/instances/bs-prod')).body, before);
      assert.equal(await instanceChanges(), audits, 'no change was audited');
      const created = await cp.call('POST', '/api/v1/instances', {
        body: instanceBody('bright-smile', 'bs-new', body),
      });
      assert.equal(created.status, 400);
      assert.equal((await cp.call('GET', '/api/v1/instances/bs-new')).status, 404);
    });
  }

  describe('end to end: the API sets, a real prober probes loopback HTTP, TLS and DNS servers', () => {
    let dir: string;
    let prober: FleetProber | undefined;
    let dnsServer: DnsStandIn;
    let plain: http.Server;
    let tls: https.Server;
    let pem: ReturnType<typeof selfSignedCert>;
    let health = { status: 'ok', checks: [{ ready: true }] };
    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'probe-settings-'));
      pem = selfSignedCert(dir, 45);
      plain = http.createServer((_req, res) => res.writeHead(200).end(JSON.stringify(health)));
      tls = https.createServer({ key: pem.key, cert: pem.cert }, (_req, res) => res.writeHead(200).end('ok'));
      await Promise.all(
        [plain, tls].map((s) => new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()))),
      );
      dnsServer = await new DnsStandIn().listen();
      dnsServer.set('portal.bs.example.test', 'A', ['192.0.2.10']);
    });
    after(async () => {
      await prober?.stop();
      for (const s of [plain, tls]) {
        s.closeAllConnections();
        await new Promise((r) => s.close(r));
      }
      await dnsServer.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('reports each probe up, then down with its reason when the body or the DNS answer changes', async () => {
      const port = (s: http.Server) => (s.address() as AddressInfo).port;
      const created = await cp.call('POST', '/api/v1/instances', {
        body: instanceBody('bright-smile', 'bs-live', {
          services: [
            {
              name: 'api',
              kind: 'backend',
              probe: {
                type: 'http',
                url: `http://127.0.0.1:${port(plain)}/health`,
                bodyRegex: '"status":"ok"',
                bodyJson: { path: '$.checks[0].ready', equals: true },
                timeoutMs: 3000,
              },
            },
            {
              name: 'edge',
              kind: 'proxy',
              probe: {
                type: 'http',
                url: `https://127.0.0.1:${port(tls)}/`,
                tlsExpiry: { warningDays: 60, criticalDays: 50 },
                timeoutMs: 3000,
              },
            },
            {
              name: 'portal-dns',
              kind: 'dependency',
              probe: {
                type: 'dns',
                name: 'portal.bs.example.test',
                recordType: 'A',
                server: dnsServer.server,
                expect: '192.0.2.10',
                timeoutMs: 500,
              },
            },
          ],
        }),
      });
      assert.equal(created.status, 201, created.text);
      const id = created.body.id as string;
      prober = new FleetProber({
        controlPlaneUrl: cp.url,
        token: await cp.token('prober'),
        proberId: 'probe-settings',
        port: 0,
        host: '127.0.0.1',
        probeIntervalSeconds: 0.2,
        reprobeIntervalSeconds: 0.1,
        sdRefreshSeconds: 0.2,
        downAfter: 2,
        upAfter: 1,
        stateDir: dir,
        tlsCa: pem.cert,
        defaultMetrics: false,
      });
      await prober.start();
      const p = prober;
      const live = (service: string) => ({ instance: 'bs-live', service });
      const value = async (name: string, service: string) =>
        sample(await scrape(p.port), name, live(service));
      for (const service of ['api', 'edge', 'portal-dns'])
        await waitFor(`${service} up`, async () => (await value('probe_success', service)) === 1);

      // The https service's own thresholds travel beside its expiry, for CertificateExpiring to compare.
      const text = await scrape(p.port);
      assert.equal(sample(text, 'probe_ssl_earliest_cert_expiry', live('edge')), pem.notAfterSeconds);
      assert.equal(sample(text, 'probe_tls_expiry_warning_threshold_seconds', live('edge')), 60 * 86400);
      assert.equal(sample(text, 'probe_tls_expiry_critical_threshold_seconds', live('edge')), 50 * 86400);
      assert.equal(sample(text, 'probe_tls_expiry_warning_threshold_seconds', live('api')), undefined);
      const lint = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
      assert.equal(lint.status, 0, lint.stdout + lint.stderr);

      // The body still says "ok" but the JSON check fails: down, with the path as the reason.
      health = { status: 'ok', checks: [{ ready: false }] };
      dnsServer.set('portal.bs.example.test', 'A', ['192.0.2.66']);
      const intervals = async () =>
        (await cp.call('GET', `/api/v1/instances/${id}/availability`)).body.intervals as {
          service: string;
          state: string;
          end: string | null;
          reason: string;
        }[];
      // Under load another service may flap too: what counts is the down each of these two got, and its reason.
      const watched = ['api', 'portal-dns'];
      const down = await waitFor('both downs recorded', async () => {
        const open = (await intervals()).filter(
          (i) => i.state === 'down' && i.end === null && watched.includes(i.service),
        );
        return open.length === 2 ? open : undefined;
      });
      assert.deepEqual(down!.map((i) => [i.service, i.reason]).sort(), [
        ['api', 'body JSON $.checks[0].ready is not the expected value'],
        ['portal-dns', 'dns answer not the expected one'],
      ]);
      assert.equal(await value('probe_success', 'edge'), 1, 'the https service stays up');
    });
  });
});
