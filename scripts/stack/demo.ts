/**
 * How the stack starts the demo fleet: with the V8 option and malloc settings of the demo's own module
 * (exporters/concierge-demo/src/node-options.ts), as `npm run demo` and the image do.
 */
import { DEMO_ENTRY, DEMO_MALLOC_ENV, DEMO_NODE_OPTIONS } from '@concierge-ops/concierge-demo/node-options';

/** The demo's command line after `node` (options first), and the environment it adds to `env`. */
export function demoLaunch(env: NodeJS.ProcessEnv): { args: string[]; env: NodeJS.ProcessEnv } {
  return { args: [...DEMO_NODE_OPTIONS.split(' '), DEMO_ENTRY], env: { ...env, ...DEMO_MALLOC_ENV } };
}
