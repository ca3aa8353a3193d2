/**
 * How the prober should be run (its process environment), and why; the bench runs it this way.
 *
 * - `--max-semi-space-size=1`: under the prober's steady allocation (one HTTP exchange per probe) V8's young
 *   generation grows to 2 x 16 MiB and stays there, a third of the prober's resident memory at 5,000
 *   targets. At 1 MiB scavenges run more often; each costs what survives, and little outlives a probe.
 * - glibc malloc: every socket read takes a 64 KiB buffer from malloc. From the main arena and a dozen
 *   thread arenas, freed buffers fragment the heap and are not given back (~13 MiB at 5,000 targets);
 *   mapped on their own (threshold 64 KiB) and with two arenas they are.
 */
export const PROBER_NODE_OPTIONS = '--max-semi-space-size=1 --optimize-for-size';

export const PROBER_MALLOC_ENV: Readonly<Record<string, string>> = {
  MALLOC_ARENA_MAX: '2',
  MALLOC_MMAP_THRESHOLD_: '65536',
  MALLOC_TRIM_THRESHOLD_: '131072',
};
