import pino from 'pino';
import { ConfigError, loadConfig, type Config } from './config.ts';
import { BackupExporter, type RecordSource } from './exporter.ts';
import { pgbackrestSource, resticSource } from './sources/commands.ts';

/** Process entry: config -> start; SIGTERM/SIGINT let the running scan or restore test finish, then exit. */
async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger = pino({ name: 'backup-exporter', level: config.logLevel, redact: ['token', '*.token'] });
  const sources: RecordSource[] = [];
  if (config.resticRepository || config.resticSnapshotsFile)
    sources.push(
      resticSource({
        ...(config.resticRepository ? { repository: config.resticRepository } : {}),
        ...(config.resticSnapshotsFile ? { file: config.resticSnapshotsFile } : {}),
      }),
    );
  if (config.pgbackrestStanzas.size > 0)
    sources.push(
      pgbackrestSource({
        targets: config.pgbackrestStanzas,
        ...(config.pgbackrestInfoFile ? { file: config.pgbackrestInfoFile } : {}),
      }),
    );
  const exporter = new BackupExporter({ ...config, sources, logger });
  await exporter.start();
  logger.info({ port: exporter.port }, 'backup exporter listening');

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    // A restore test can take minutes; past this the process exits anyway and the next start redoes it.
    setTimeout(() => process.exit(1), 120_000).unref();
    exporter.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(
    `backup exporter failed to start: ${err instanceof Error ? err.message : String(err)}\n`,
  );
  process.exit(1);
});
