import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import { freePort } from '@concierge-ops/shared/ports';

function listen(port: number, host?: string): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(port, host, () => resolve(srv));
  });
}

const close = (srv: net.Server) => new Promise<void>((resolve) => srv.close(() => resolve()));

describe('free ports for the servers a parent starts', () => {
  it('hands out distinct ports outside the kernel ephemeral range, each free on loopback and every address', async () => {
    const [low, high] = fs
      .readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')
      .trim()
      .split(/\s+/)
      .map(Number);
    const ports = await Promise.all(Array.from({ length: 40 }, () => freePort()));
    assert.equal(new Set(ports).size, 40, `a port handed out twice: ${ports.join(', ')}`);
    for (const port of ports) {
      assert.ok(port < low! || port > high!, `${port} is inside the ephemeral range ${low}-${high}`);
      assert.ok(port >= 1024 && port <= 65_535, `${port} is not an unprivileged port`);
    }
    // Every one can be listened on, as a child would: on every address, and on loopback by another child.
    for (const port of ports.slice(0, 10)) await close(await listen(port));
    for (const port of ports.slice(10, 20)) await close(await listen(port, '127.0.0.1'));
  });

  it('never hands out a port again, even once it is closed', async () => {
    // 2,000 random picks from the ~22,000 ports below the range would repeat one almost surely (birthday
    // odds e^-88 of not) if the process did not remember what it handed out.
    const seen = new Set<number>();
    for (let i = 0; i < 2000; i++) {
      const port = await freePort();
      assert.ok(!seen.has(port), `${port} handed out again after ${i} others`);
      seen.add(port);
    }
  });
});
