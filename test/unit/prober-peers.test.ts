import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Peers } from '../../exporters/fleet-prober/src/peers.ts';

const K = 'i-1/backend';
const SILENT = { debug() {}, info() {}, warn() {}, error() {} };

describe('fleet prober peer views', () => {
  let server: http.Server;
  let url: string;
  /** What the peer holds down; each answer is what it held when the request arrived, sent after `delayMs`. */
  let down: string[];
  let delayMs: number;
  let answered: number;

  beforeEach(async () => {
    down = [];
    delayMs = 0;
    answered = 0;
    server = http.createServer((_req, res) => {
      const held = down; // what the peer held when the request arrived, answered a moment later
      setTimeout(() => {
        answered++;
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ location: 'b', down: held }));
      }, delayMs);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterEach(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(() => r(undefined)));
  });

  it('answers a poll asked for during another with a view asked for after it, so a change is not missed', async () => {
    const peers = new Peers({
      urls: [url],
      pollMs: 60_000,
      timeoutMs: 2000,
      logger: SILENT,
      onError() {},
      onPolled() {},
    });
    delayMs = 150;
    peers.start(); // the first poll goes out now, while the peer holds nothing down
    await new Promise((r) => setTimeout(r, 20));
    down = [K]; // the peer's view changes after that request left
    const askedAt = performance.now();
    await peers.poll();
    assert.equal(peers.downCount(K), 1, 'the view read after the change');
    assert.equal(peers.downCount(K, askedAt), 1, 'and it was asked for after the call');
    assert.equal(answered, 2);
    await peers.stop();
  });

  it('does not count a view asked for before a given moment', async () => {
    const peers = new Peers({
      urls: [url],
      pollMs: 60_000,
      timeoutMs: 2000,
      logger: SILENT,
      onError() {},
      onPolled() {},
    });
    down = [K];
    peers.start();
    await peers.poll();
    const later = performance.now() + 1;
    assert.equal(peers.downCount(K), 1);
    assert.equal(peers.downCount(K, later), 0);
    assert.ok(peers.oldestView() < later);
    await peers.stop();
  });
});
