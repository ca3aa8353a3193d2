import { parseDnsServer } from '@concierge-ops/shared/probes';
import safeRegex from 'safe-regex';
import { ValidationError } from '../http/errors.ts';
import type { Probe, ServiceSpec } from './types.ts';

/**
 * The checks of a service's probe that a JSON Schema cannot make: the body regex compiles and cannot
 * backtrack catastrophically, the TLS thresholds are in order and only on https, the DNS server is an address.
 * Each problem is a 400 naming the field (`/services/2/probe/bodyRegex`); nothing is stored.
 */
export function checkProbes(services: ServiceSpec[]): void {
  const errors: Array<{ field: string; message: string }> = [];
  services.forEach((s, i) => {
    for (const [field, message] of probeProblems(s.probe))
      errors.push({ field: `/services/${i}/probe${field}`, message });
  });
  if (errors.length > 0) throw new ValidationError('invalid probe settings', errors);
}

function probeProblems(p: Probe): Array<[string, string]> {
  const problems: Array<[string, string]> = [];
  if (p.type === 'http') {
    if (p.bodyRegex !== undefined) {
      const problem = regexProblem(p.bodyRegex);
      if (problem) problems.push(['/bodyRegex', problem]);
    }
    if (p.tlsExpiry !== undefined) {
      if (!p.url.toLowerCase().startsWith('https:'))
        problems.push(['/tlsExpiry', 'applies to https URLs only (this probe has no certificate to check)']);
      if (p.tlsExpiry.criticalDays >= p.tlsExpiry.warningDays)
        problems.push(['/tlsExpiry/criticalDays', 'must be fewer days than warningDays']);
    }
  } else if (p.type === 'dns' && p.server !== undefined && parseDnsServer(p.server) === undefined) {
    problems.push(['/server', 'must be an IP address, optionally with :port (IPv6 as [address]:port)']);
  }
  return problems;
}

/**
 * Why a body regex is refused, or undefined. Compiled as the prober compiles it (no flags). safe-regex refuses
 * nested unbounded repetition (star height above 1, as in (a+)+) and more than 25 repetitions, the shapes that
 * backtrack exponentially; what it cannot see (overlapping alternatives such as (a|a)*) the prober still runs
 * under a time limit, on at most its body limit.
 */
export function regexProblem(source: string): string | undefined {
  try {
    new RegExp(source);
  } catch {
    return 'is not a valid JavaScript regular expression';
  }
  if (!safeRegex(source))
    return 'may backtrack catastrophically (nested repetition such as (a+)+, or more than 25 repetitions): simplify it';
  return undefined;
}
