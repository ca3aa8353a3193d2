/**
 * What the control plane (which validates a service's probe settings) and the fleet prober (which reads them
 * from service discovery) must agree on: one grammar, one set of bounds and defaults (docs/api.md).
 */
import { isIP } from 'node:net';

export const DNS_RECORD_TYPES = ['A', 'AAAA', 'CNAME', 'MX', 'TXT'] as const;
export type DnsRecordType = (typeof DNS_RECORD_TYPES)[number];

/** The longest body regex: short enough to read, and a bound on what the ReDoS check has to look at. */
export const MAX_BODY_REGEX = 256;

/** CertificateExpiring's thresholds, in days, for a service whose probe sets no tlsExpiry. */
export const DEFAULT_TLS_DAYS = { warning: 21, critical: 7 } as const;

/** One step of a JSON path: `.name`, `[index]` or `['name']`. */
const STEP = "\\.([A-Za-z_][A-Za-z0-9_-]{0,63})|\\[(0|[1-9][0-9]{0,5})\\]|\\['([^'\\\\]{1,64})'\\]";

/** A whole JSON path (`$` and its steps, no wildcards or filters), as a JSON Schema pattern. */
export const JSON_PATH_PATTERN = `^\\$(?:${STEP})*$`;
export const MAX_JSON_PATH = 256;

/** `$.a[0]['b c']` as its steps ['a', 0, 'b c'], or undefined when it is not in the grammar. */
export function parseJsonPath(text: string): (string | number)[] | undefined {
  if (!text.startsWith('$') || text.length > MAX_JSON_PATH) return undefined;
  const step = new RegExp(STEP, 'y');
  const steps: (string | number)[] = [];
  step.lastIndex = 1;
  while (step.lastIndex < text.length) {
    const m = step.exec(text);
    if (!m) return undefined;
    steps.push(m[1] ?? (m[2] !== undefined ? Number(m[2]) : m[3]!));
  }
  return steps;
}

/**
 * A DNS server given as an IP address with an optional port: "192.0.2.53", "192.0.2.53:5353",
 * "2001:db8::53" or "[2001:db8::53]:5353" (an IPv6 address with a port needs the brackets). Undefined when
 * it is none of these. `server` is the form node's Resolver.setServers takes.
 */
export function parseDnsServer(v: string): { address: string; port: number; server: string } | undefined {
  const family = isIP(v);
  if (family !== 0) return { address: v, port: 53, server: family === 6 ? `[${v}]:53` : `${v}:53` };
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([0-9.]+)):([0-9]{1,5})$/.exec(v);
  if (!m) return undefined;
  const address = (m[1] ?? m[2])!;
  const port = Number(m[3]);
  const v6 = m[1] !== undefined;
  if (isIP(address) !== (v6 ? 6 : 4) || port < 1 || port > 65535) return undefined;
  return { address, port, server: v6 ? `[${address}]:${port}` : `${address}:${port}` };
}
