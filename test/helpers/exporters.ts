// Debian's node_exporter and postgres_exporter on free loopback ports, as the capacity tests scrape them.
import { start, type Proc } from './stack.ts';

/** prometheus-node-exporter (1.5) reading this machine. */
export function startNodeExporter(): Promise<Proc> {
  return start({
    bin: 'prometheus-node-exporter',
    files: {},
    args: (_dir, port) => [`--web.listen-address=127.0.0.1:${port}`],
    readyPath: '/',
  });
}

/**
 * prometheus-postgres-exporter (0.11) against one database. It reads its connection from DATA_SOURCE_NAME
 * only (no flag), so the URL goes through the environment of its process. lib/pq asks for TLS unless told
 * otherwise, and the test servers are plain loopback ones.
 */
export function startPostgresExporter(databaseUrl: string): Promise<Proc> {
  const u = new URL(databaseUrl);
  if (!u.searchParams.has('sslmode')) u.searchParams.set('sslmode', 'disable');
  return start({
    bin: 'prometheus-postgres-exporter',
    files: {},
    args: (_dir, port) => [`--web.listen-address=127.0.0.1:${port}`],
    readyPath: '/',
    env: { DATA_SOURCE_NAME: u.toString() },
  });
}
