import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { probeTargets } from '../../control-plane/src/fleet/sd.ts';
import type { Instance, Probe } from '../../control-plane/src/fleet/types.ts';
import { parseTargetGroups } from '../../exporters/fleet-prober/src/discovery.ts';
import { parseDnsServer, parseJsonPath } from '@concierge-ops/shared/probes';
import { guardedTest } from '../../exporters/fleet-prober/src/probes/body.ts';
import { probe } from '../../exporters/fleet-prober/src/probes/index.ts';
import type { Target } from '../../exporters/fleet-prober/src/types.ts';
import { DnsStandIn } from '../helpers/dns-server.ts';

const ID = '7d3c1a52-5b8e-4c1f-9a1e-2f4b6c8d0e12';

/** The prober's target for a probe as the control plane serves it (its http_sd group, parsed). */
function targetFor(p: Probe): Target {
  const instance = {
    id: ID,
    client: { id: ID, slug: 'acme' },
    slug: 'acme-prod',
    environment: 'prod',
    services: [{ name: 'svc', kind: 'backend', probe: p }],
  } as unknown as Instance;
  const { targets, errors } = parseTargetGroups(JSON.parse(JSON.stringify(probeTargets([instance]))));
  assert.deepEqual(errors, []);
  return targets[0]!;
}

describe('fleet prober probes: body match, dns, TLS thresholds', () => {
  let server: http.Server;
  let body = '';
  let base = '';
  before(async () => {
    server = http.createServer((_req, res) => res.writeHead(200).end(body));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise((r) => server.close(r)));

  const httpProbe = (extra: Partial<Extract<Probe, { type: 'http' }>>): Probe => ({
    type: 'http',
    url: `${base}/health`,
    expectStatus: 200,
    timeoutMs: 2000,
    healthJson: false,
    ...extra,
  });

  it('passes a body that matches the regex and fails one that does not, with the reason', async () => {
    const t = targetFor(httpProbe({ bodyRegex: '"status":\\s*"(ok|up)"' }));
    body = '{"status": "up", "version": "2.4"}';
    const good = await probe(t, {});
    assert.deepEqual([good.success, good.state, good.reason], [true, 'up', 'HTTP 200']);
    body = '{"status": "maintenance"}';
    const bad = await probe(t, {});
    assert.deepEqual([bad.success, bad.state, bad.reason], [false, 'down', 'body did not match']);
  });

  it('checks a JSON path against its expected value, telling a missing path from a wrong value', async () => {
    const t = targetFor(httpProbe({ bodyJson: { path: "$.checks[1]['db pool'].ready", equals: true } }));
    body = JSON.stringify({ checks: [{}, { 'db pool': { ready: true } }] });
    assert.equal((await probe(t, {})).success, true);
    body = JSON.stringify({ checks: [{}, { 'db pool': { ready: 'true' } }] });
    const wrong = await probe(t, {});
    assert.deepEqual(
      [wrong.success, wrong.reason],
      [false, "body JSON $.checks[1]['db pool'].ready is not the expected value"],
    );
    body = JSON.stringify({ checks: [{ 'db pool': { ready: true } }] });
    assert.equal((await probe(t, {})).reason, "body JSON has no $.checks[1]['db pool'].ready");
    body = 'ready';
    assert.equal((await probe(t, {})).reason, 'body is not JSON');
  });

  it('reads at most its body limit: a larger body fails the probe instead of being held', async () => {
    const t = targetFor(httpProbe({ bodyRegex: 'ok' }));
    body = 'x'.repeat(64 * 1024) + 'ok';
    const r = await probe(t, { maxBodyBytes: 16 * 1024 });
    assert.deepEqual([r.success, r.reason], [false, 'body too large']);
    assert.equal((await probe(t, {})).success, true, 'within the default 256 KiB it matches');
  });

  it('stops a regex that backtracks catastrophically at the guard and fails the probe', async () => {
    // (a|a)* passes the control plane's star-height check, yet is exponential on "aaaa...!".
    const t = targetFor(httpProbe({ bodyRegex: '^(a|a)*$' }));
    body = 'a'.repeat(40) + '!';
    const started = performance.now();
    const r = await probe(t, {});
    assert.ok(performance.now() - started < 2000, 'the prober was not stalled');
    assert.deepEqual([r.success, r.reason], [false, 'body regex ran longer than 100ms']);
    assert.equal(guardedTest(/^(a|a)*$/, 'aaaa'), true, 'the same regex still matches short input');
  });

  it('parses only the JSON path grammar the API allows', () => {
    assert.deepEqual(parseJsonPath("$.a[0]['b c'].d_e"), ['a', 0, 'b c', 'd_e']);
    assert.deepEqual(parseJsonPath('$'), []);
    for (const bad of ['$..a', '$.a[*]', 'a.b', '$[01]', "$['a\\'b']", '$.a[?(@.b)]'])
      assert.equal(parseJsonPath(bad), undefined, bad);
  });

  it('reads a DNS server as an address with an optional port, IPv6 with a port only in brackets', () => {
    const server = (v: string) => parseDnsServer(v)?.server;
    assert.equal(server('192.0.2.53'), '192.0.2.53:53');
    assert.equal(server('192.0.2.53:5353'), '192.0.2.53:5353');
    assert.equal(server('2001:db8::53'), '[2001:db8::53]:53');
    assert.equal(server('[2001:db8::53]:5353'), '[2001:db8::53]:5353');
    for (const bad of [
      'dns.example',
      '999.1.1.1',
      '192.0.2.1:0',
      '192.0.2.1:65536',
      '[192.0.2.1]:53',
      '[::1]53',
      '',
    ])
      assert.equal(server(bad), undefined, bad);
  });

  it('exports the service TLS thresholds in seconds, 21 and 7 days when unset, and none for plain http', () => {
    const set = targetFor(
      httpProbe({ url: 'https://127.0.0.1:1/', tlsExpiry: { warningDays: 30, criticalDays: 10 } }),
    );
    assert.deepEqual([set.tlsWarningSeconds, set.tlsCriticalSeconds], [30 * 86400, 10 * 86400]);
    const unset = targetFor(httpProbe({ url: 'https://127.0.0.1:1/' }));
    assert.deepEqual([unset.tlsWarningSeconds, unset.tlsCriticalSeconds], [21 * 86400, 7 * 86400]);
    const plain = targetFor(httpProbe({}));
    assert.equal(plain.tlsWarningSeconds, undefined);
  });

  describe('dns', () => {
    let dns: DnsStandIn;
    before(async () => {
      dns = await new DnsStandIn().listen();
      dns
        .set('clinic.example.test', 'A', ['192.0.2.10', '192.0.2.11'])
        .set('clinic.example.test', 'AAAA', ['2001:db8:0:0::10'])
        .set('www.clinic.example.test', 'CNAME', ['Edge.CDN.example.test'])
        .set('clinic.example.test', 'MX', [{ preference: 10, exchange: 'mx1.clinic.example.test' }])
        .set('clinic.example.test', 'TXT', [['v=spf1 ', 'include:mail.example.test -all']]);
      dns.silent.add('slow.example.test');
    });
    after(() => dns.close());

    const dnsProbe = (extra: Partial<Extract<Probe, { type: 'dns' }>>): Probe => ({
      type: 'dns',
      name: 'clinic.example.test',
      recordType: 'A',
      server: dns.server,
      timeoutMs: 500,
      ...extra,
    });

    it('resolves each record type and finds the expected answer among them', async () => {
      const cases: Array<[Partial<Extract<Probe, { type: 'dns' }>>, boolean]> = [
        [{ recordType: 'A', expect: '192.0.2.11' }, true],
        [{ recordType: 'A', expect: '192.0.2.99' }, false],
        [{ recordType: 'AAAA', expect: '2001:DB8::10' }, true],
        [{ name: 'www.clinic.example.test', recordType: 'CNAME', expect: 'edge.cdn.example.test.' }, true],
        [{ recordType: 'MX', expect: 'mx1.clinic.example.test' }, true],
        [{ recordType: 'TXT', expect: 'v=spf1 include:mail.example.test -all' }, true],
        [{ recordType: 'TXT' }, true],
      ];
      for (const [extra, ok] of cases) {
        const r = await probe(targetFor(dnsProbe(extra)), {});
        assert.equal(r.success, ok, JSON.stringify(extra));
        assert.equal(r.reason, ok ? 'resolved' : 'dns answer not the expected one');
      }
      assert.ok(dns.asked.includes('www.clinic.example.test CNAME'));
    });

    it('fails an unknown name, a name without that record, and a server that does not answer', async () => {
      const nx = await probe(targetFor(dnsProbe({ name: 'gone.example.test' })), {});
      assert.deepEqual([nx.success, nx.state, nx.reason], [false, 'down', 'dns ENOTFOUND']);
      const nodata = await probe(
        targetFor(dnsProbe({ name: 'www.clinic.example.test', recordType: 'MX' })),
        {},
      );
      assert.deepEqual([nodata.success, nodata.reason], [false, 'dns ENODATA']);
      const slow = await probe(targetFor(dnsProbe({ name: 'slow.example.test', timeoutMs: 300 })), {});
      assert.deepEqual([slow.success, slow.reason], [false, 'timeout after 300ms']);
      assert.ok(slow.durationSeconds < 2, `took ${slow.durationSeconds}s`);
    });
  });
});
