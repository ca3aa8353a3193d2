import type { Logger } from 'pino';
import type { Config } from './config.ts';
import type { Pool } from './db/pool.ts';
import { AuditService } from './audit/service.ts';
import { FleetService } from './fleet/service.ts';
import { createMetrics, type Metrics } from './metrics/registry.ts';
import { TokenService } from './tokens/service.ts';

/** Every service of the control plane, wired once per process (or per test) and passed down. */
export interface Context {
  readonly config: Config;
  readonly log: Logger;
  readonly pool: Pool;
  readonly metrics: Metrics;
  readonly audit: AuditService;
  readonly fleet: FleetService;
  readonly tokens: TokenService;
}

export function createContext(config: Config, log: Logger, pool: Pool): Context {
  const metrics = createMetrics();
  const audit = new AuditService(pool);
  const fleet = new FleetService(pool, audit);
  const tokens = new TokenService(pool, audit, (idOrSlug) => fleet.resolveClientId(idOrSlug));
  return { config, log, pool, metrics, audit, fleet, tokens };
}
