import pino from 'pino';
import { runProcess } from '@concierge-ops/shared/process';
import { loadConfig } from './config.ts';
import { BackupExporter, type RecordSource } from './exporter.ts';
import { pgbackrestSource, resticSource } from './sources/commands.ts';

/** Process entry: config -> start; SIGTERM/SIGINT let the running scan or restore test finish, then exit. */
runProcess(
  'backup exporter',
  loadConfig,
  async (config) => {
    const logger = pino({ name: 'backup-exporter', level: config.logLevel, redact: ['token', '*.token'] });
    const sources: RecordSource[] = [];
    if (config.resticRepository || config.resticSnapshotsFile)
      sources.push(
        resticSource({
          ...(config.resticRepository ? { repository: config.resticRepository } : {}),
          ...(config.resticSnapshotsFile ? { file: config.resticSnapshotsFile } : {}),
          restore: {
            pgRestore: config.pgRestore,
            log: logger,
            timeoutSeconds: config.restoreTestTimeoutSeconds,
          },
        }),
      );
    if (config.pgbackrestStanzas.size > 0)
      sources.push(
        pgbackrestSource({
          targets: config.pgbackrestStanzas,
          ...(config.pgbackrestInfoFile ? { file: config.pgbackrestInfoFile } : {}),
          ...(config.pgbackrestPgBin
            ? {
                restore: {
                  pgBin: config.pgbackrestPgBin,
                  tables: config.pgbackrestTables,
                  database: config.pgbackrestDatabase,
                  timeoutSeconds: config.restoreTestTimeoutSeconds,
                  log: logger,
                },
              }
            : {}),
        }),
      );
    const exporter = new BackupExporter({ ...config, sources, logger });
    await exporter.start();
    logger.info({ port: exporter.port }, 'backup exporter listening');
    return { logger, stop: () => exporter.stop() };
  },
  // A restore test can take minutes; past this the process exits anyway and the next start redoes it.
  120_000,
);
