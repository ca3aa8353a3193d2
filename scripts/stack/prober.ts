/**
 * How the stack starts the fleet prober: with the V8 options and malloc settings the prober is meant to run
 * with, taken from the prober's own module (exporters/fleet-prober/src/node-options.ts), as `npm run prober`
 * and the image do, so the stack measures and behaves like a deployed prober.
 */
import { PROBER_MALLOC_ENV, PROBER_NODE_OPTIONS } from '@concierge-ops/fleet-prober/node-options';

export const PROBER_ENTRY = 'exporters/fleet-prober/dist/main.js';

/** The prober's command line after `node` (options first), and the environment it adds to `env`. */
export function proberLaunch(env: NodeJS.ProcessEnv): { args: string[]; env: NodeJS.ProcessEnv } {
  return {
    args: [...PROBER_NODE_OPTIONS.split(' '), PROBER_ENTRY],
    env: { ...env, ...PROBER_MALLOC_ENV },
  };
}
