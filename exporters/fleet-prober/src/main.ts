import pino from 'pino';
import { ConfigError, loadConfig, type Config } from './config.ts';
import { FleetProber } from './prober.ts';

/** Process entry: config -> start; SIGTERM/SIGINT stop gracefully (pending transitions are persisted). */
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
  const logger = pino({
    name: 'fleet-prober',
    level: config.logLevel,
    // Belt and braces: nothing logs the token, and nothing should start to.
    redact: ['token', 'proberToken', '*.token', 'headers.authorization', '*.headers.authorization'],
  });
  const prober = new FleetProber({
    controlPlaneUrl: config.controlPlaneUrl,
    token: config.proberToken,
    proberId: config.proberId,
    port: config.port,
    probeIntervalSeconds: config.probeIntervalSeconds,
    concurrency: config.concurrency,
    downAfter: config.downAfter,
    upAfter: config.upAfter,
    sdRefreshSeconds: config.sdRefreshSeconds,
    heartbeatSeconds: config.heartbeatSeconds,
    stateDir: config.stateDir,
    logger,
  });
  await prober.start();

  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    // A hung probe or control plane must not keep the process from exiting forever.
    setTimeout(() => {
      logger.error({}, 'graceful stop timed out');
      process.exit(1);
    }, 15_000).unref();
    prober.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'error while stopping');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(`fleet prober failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
