/**
 * How the stack starts the backup exporter: with the V8 option and malloc settings of the exporter's own module
 * (exporters/backup-exporter/src/node-options.ts), as `npm run backup-exporter` and the image do.
 */
import {
  BACKUP_ENTRY,
  BACKUP_MALLOC_ENV,
  BACKUP_NODE_OPTIONS,
} from '@concierge-ops/backup-exporter/node-options';

/** The exporter's command line after `node` (options first), and the environment it adds to `env`. */
export function backupExporterLaunch(env: NodeJS.ProcessEnv): { args: string[]; env: NodeJS.ProcessEnv } {
  return { args: [...BACKUP_NODE_OPTIONS.split(' '), BACKUP_ENTRY], env: { ...env, ...BACKUP_MALLOC_ENV } };
}
