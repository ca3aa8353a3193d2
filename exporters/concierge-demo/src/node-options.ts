import { LEAN_MALLOC_ENV } from '@concierge-ops/shared/process';

/**
 * How the demo fleet should be run (node options on its command line: node refuses V8 options such as this one
 * in NODE_OPTIONS; malloc settings in its environment); `npm run demo`, the stack, its image and bench:startup
 * all use these.
 *
 * - `--liftoff-only`: the demo registers its fleet with the control plane through fetch, whose HTTP parser
 *   (undici's llhttp) is WebAssembly. V8 compiles it with its baseline compiler (Liftoff), then once more with
 *   TurboFan on a background thread, and that compile leaves ~8 MiB resident in the thread's malloc arena for
 *   as long as the demo runs: in about half of the starts, 73 MiB at ready against 65. The few dozen requests
 *   the demo sends run as well on Liftoff's code. (JavaScript is still optimised: the flag is WebAssembly's.)
 * - glibc malloc: LEAN_MALLOC_ENV (@concierge-ops/shared/process), ~1.5 MiB less at ready.
 */
export const DEMO_NODE_OPTIONS = '--liftoff-only';

export const DEMO_MALLOC_ENV = LEAN_MALLOC_ENV;

export const DEMO_ENTRY = 'exporters/concierge-demo/dist/main.js';
