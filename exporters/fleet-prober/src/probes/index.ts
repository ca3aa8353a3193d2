import type { ProbeResult, Target } from '../types.ts';
import { probeDns } from './dns.ts';
import { probeHttp, type HttpProbeOptions } from './http.ts';
import { probeTcp } from './tcp.ts';

/** Runs the probe of the target's type. */
export function probe(target: Target, httpOpts: HttpProbeOptions): Promise<ProbeResult> {
  switch (target.probeType) {
    case 'http':
      return probeHttp(target, httpOpts);
    case 'tcp':
      return probeTcp(target);
    case 'dns':
      return probeDns(target);
  }
}
