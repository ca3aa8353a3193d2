import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Heartbeat } from '../../exporters/fleet-prober/src/heartbeat.ts';

describe('fleet prober heartbeat', () => {
  it('claims coverage only when probes ran since the last beat, with its token and id', async () => {
    const seen: Array<{ auth?: string; body: string }> = [];
    const server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        seen.push({ auth: req.headers.authorization, body });
        res.end('{}');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    let probes = 0;
    const silent = { error() {}, warn() {}, info() {}, debug() {} };
    const hb = new Heartbeat({
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/availability/heartbeat`,
      token: 'tok',
      proberId: 'p1',
      intervalMs: 60_000,
      logger: silent,
      probesDone: () => probes,
    });
    try {
      assert.equal(await hb.beat(), false, 'no probes yet: no beat');
      probes = 5;
      assert.equal(await hb.beat(), true);
      assert.equal(await hb.beat(), false, 'stuck prober: no beat');
      assert.deepEqual(seen, [{ auth: 'Bearer tok', body: '{"prober":"p1"}' }]);
    } finally {
      server.close();
    }
  });
});
