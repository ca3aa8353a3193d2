import { Resolver } from 'node:dns/promises';
import type { DnsQuery, ProbeResult, Target } from '../types.ts';
import { failure, probeResult } from './common.ts';

/**
 * One DNS query of the target's name and record type, of its server (or the host's resolvers), with no retry:
 * success when the server answers with at least one record and, when an answer is expected, with that one.
 * A fresh Resolver per probe, so that one stuck query cannot delay another's, cancelled at the timeout.
 */
export async function probeDns(target: Target): Promise<ProbeResult> {
  const q = target.dns!;
  const started = performance.now();
  const elapsed = (): number => (performance.now() - started) / 1000;
  const resolver = new Resolver({ timeout: target.timeoutMs, tries: 1 });
  if (q.server !== undefined) resolver.setServers([q.server]);
  const timer = setTimeout(() => resolver.cancel(), target.timeoutMs);
  let answers: string[];
  try {
    answers = await resolve(resolver, q);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    if (code === 'ECANCELLED' || code === 'ETIMEOUT')
      return failure(`timeout after ${target.timeoutMs}ms`, elapsed());
    // c-ares codes only (ENOTFOUND, ENODATA, ESERVFAIL, EREFUSED, ...): never the message, which names the host.
    return failure(/^E[A-Z]+$/.test(code) ? `dns ${code}` : 'dns query failed', elapsed());
  } finally {
    clearTimeout(timer);
  }
  const durationSeconds = elapsed();
  if (answers.length === 0) return failure('dns no answer', durationSeconds);
  if (q.expect !== undefined && !answers.includes(normalise(q.recordType, q.expect)))
    return failure('dns answer not the expected one', durationSeconds);
  return probeResult(true, 'up', durationSeconds, 'resolved');
}

/** Answers as comparable text: names lower-case without the root dot, MX its exchange, TXT its joined strings. */
async function resolve(r: Resolver, q: DnsQuery): Promise<string[]> {
  switch (q.recordType) {
    case 'A':
      return r.resolve4(q.name);
    case 'AAAA':
      return (await r.resolve6(q.name)).map((a) => normalise('AAAA', a));
    case 'CNAME':
      return (await r.resolveCname(q.name)).map((n) => normalise('CNAME', n));
    case 'MX':
      return (await r.resolveMx(q.name)).map((mx) => normalise('MX', mx.exchange));
    case 'TXT':
      return (await r.resolveTxt(q.name)).map((chunks) => chunks.join(''));
  }
}

function normalise(type: DnsQuery['recordType'], v: string): string {
  if (type === 'TXT' || type === 'A') return v;
  if (type === 'AAAA') return canonicalV6(v);
  return v.toLowerCase().replace(/\.$/, '');
}

/** 2001:DB8:0::1 and 2001:db8::1 alike: the form URL parsing gives (RFC 5952, as c-ares prints them). */
function canonicalV6(v: string): string {
  try {
    return new URL(`http://[${v}]/`).hostname.slice(1, -1);
  } catch {
    return v.toLowerCase();
  }
}
