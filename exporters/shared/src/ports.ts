import fs from 'node:fs';
import net from 'node:net';

/**
 * Ports for servers that a parent starts and must name before they listen (the stack, tests, benches).
 *
 * Asking the kernel for port 0 and closing it hands out a port from the ephemeral range, the same range the
 * kernel takes local ports of outgoing connections from. Between choosing the port and the child binding it,
 * any connection on the machine (a database pool filling up, a scrape) may take it as its local port, and the
 * child fails with EADDRINUSE. So the port is chosen below the ephemeral range, where only an explicit bind
 * can take it; it is checked free on loopback and on every address (a child may listen on `::`), and this
 * process never hands out the same port twice.
 */

const given = new Set<number>();
/** The lowest port handed out: below it are well-known services' registered ports. */
const LOWEST = 10_000;

/** The kernel's ephemeral range (`ip_local_port_range`); Linux's default when it cannot be read. */
function ephemeralRange(): [number, number] {
  try {
    const [lo, hi] = fs
      .readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')
      .trim()
      .split(/\s+/)
      .map(Number);
    if (Number.isInteger(lo) && Number.isInteger(hi)) return [lo!, hi!];
  } catch {
    // not Linux
  }
  return [32_768, 60_999];
}

/** Listens on `port` at `host` (every address when undefined) and closes: the port it got, or undefined. */
function listenOnce(port: number, host: string | undefined): Promise<number | undefined> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(undefined));
    srv.listen(port, host, () => {
      const got = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(got));
    });
  });
}

async function isFree(port: number): Promise<boolean> {
  return (
    (await listenOnce(port, '127.0.0.1')) !== undefined && (await listenOnce(port, undefined)) !== undefined
  );
}

/** Where ports are chosen: the larger side of the ephemeral range, read once. */
let range: [number, number] | undefined;
function portRange(): [number, number] {
  if (range) return range;
  const [ephemeralLow, ephemeralHigh] = ephemeralRange();
  // Above the range when there is more room there (a range starting low, as some hosts configure).
  range =
    ephemeralLow - LOWEST >= 65_535 - ephemeralHigh
      ? [LOWEST, ephemeralLow - 1]
      : [ephemeralHigh + 1, 65_535];
  return range;
}

/** A TCP port free on loopback and on every address, outside the ephemeral range, not handed out before. */
export async function freePort(): Promise<number> {
  const [lo, hi] = portRange();
  const size = hi - lo + 1;
  // A machine whose ephemeral range leaves no room: the kernel's choice of port 0, as before.
  if (size < 100) {
    for (;;) {
      const port = await listenOnce(0, '127.0.0.1');
      if (port === undefined) throw new Error('no free TCP port on 127.0.0.1');
      if (given.has(port)) continue;
      given.add(port);
      return port;
    }
  }
  const start = Math.floor(Math.random() * size);
  for (let i = 0; i < size; i++) {
    const port = lo + ((start + i) % size);
    if (given.has(port)) continue;
    given.add(port); // before the check, so that calls running at once never check the same port
    if (await isFree(port)) return port;
  }
  throw new Error(`no free TCP port between ${lo} and ${hi}`);
}
