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

/** Listens on `port` at `host` (every address when undefined) and closes; whether that worked. */
function canListen(port: number, host: string | undefined): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, host, () => srv.close(() => resolve(true)));
  });
}

async function isFree(port: number): Promise<boolean> {
  return (await canListen(port, '127.0.0.1')) && (await canListen(port, undefined));
}

/** The kernel's choice of port 0, for a machine whose ephemeral range leaves no room below it. */
function kernelPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** A TCP port free on loopback and on every address, outside the ephemeral range, not handed out before. */
export async function freePort(): Promise<number> {
  const [ephemeralLow, ephemeralHigh] = ephemeralRange();
  // Above the range when there is more room there (a range starting low, as some hosts configure).
  const [lo, hi] =
    ephemeralLow - LOWEST >= 65_535 - ephemeralHigh
      ? [LOWEST, ephemeralLow - 1]
      : [ephemeralHigh + 1, 65_535];
  const size = hi - lo + 1;
  if (size < 100) {
    for (;;) {
      const port = await kernelPort();
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
