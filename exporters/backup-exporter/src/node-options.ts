import { LEAN_MALLOC_ENV } from '@concierge-ops/shared/process';

/**
 * How the backup exporter should be run (node options on its command line, malloc settings in its environment);
 * `npm run backup-exporter`, the stack, its image and bench:startup all use these.
 *
 * - `--max-semi-space-size=1`: the exporter idles between scans and restore tests (the work is pg_restore's, in
 *   a child process), so V8's young generation never needs more than 1 MiB; bench:startup measured 1.4 MiB less
 *   resident at ready for it alone.
 * - glibc malloc: LEAN_MALLOC_ENV; with both, 64 MiB against 66.5 resident at ready.
 */
export const BACKUP_NODE_OPTIONS = '--max-semi-space-size=1';

export const BACKUP_MALLOC_ENV = LEAN_MALLOC_ENV;

export const BACKUP_ENTRY = 'exporters/backup-exporter/dist/main.js';
