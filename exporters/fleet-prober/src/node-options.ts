import { LEAN_MALLOC_ENV } from '@concierge-ops/shared/process';

/**
 * How the prober should be run (node options on its command line: node refuses --heap-growing-percent in
 * NODE_OPTIONS; malloc settings in its environment), and why; bench:prober runs it this way and the compose
 * file does the same. Measured at 5,000 targets and a 30 s interval (see the README's Memory).
 *
 * - `--max-semi-space-size=1`: under the prober's steady allocation (one HTTP exchange per probe) V8's young
 *   generation grows to 2 x 16 MiB and stays there, a third of the prober's resident memory. At 1 MiB,
 *   scavenges run more often, and each costs only what survives it.
 * - `--heap-growing-percent=50`: what a scavenge catches in flight is promoted (~1.7 MiB/s at 166 probes/s)
 *   and V8 let it pile up to ~40 MiB of old space before collecting; the live heap is ~14 MiB. Growing the
 *   limit by half the live heap keeps that under ~22 MiB, for one cheap mark-compact every few seconds.
 *   (`--optimize-for-size` did as well on memory but cost a third more CPU per probe.)
 * - `--no-turbo-inlining`: TurboFan still optimises the hot functions but does not inline their callees, so
 *   its compile jobs (zones on the background threads) and the optimised code stay small: several MiB of
 *   anonymous memory less at 5,000 targets, at no measurable CPU cost. (`--no-opt` saved as much plus TurboFan's
 *   own code pages, but cost about a third more CPU per probe.)
 * - glibc malloc: the shared LEAN_MALLOC_ENV (@concierge-ops/shared/process), which says why.
 *
 * With these, in the fourth round (no pino, no prom-client, /metrics written in pieces, an unchanged SD list not
 * decoded) the peak at 5,000 targets and 30 s came to 76-78 MiB from 85 in the same session, CPU ratio unchanged
 * (0.52): the start-up parse of the whole target list is now the peak, 69-73 MiB between scrapes. Flags tried
 * and not kept then: `--interrupt-budget=270336` and `--max-optimized-bytecode-size=2048` (no less memory,
 * more CPU).
 */
export const PROBER_NODE_OPTIONS = '--max-semi-space-size=1 --heap-growing-percent=50 --no-turbo-inlining';

export const PROBER_MALLOC_ENV = LEAN_MALLOC_ENV;
