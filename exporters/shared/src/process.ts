/** Every bad environment variable at once, named; the process prints it and exits 2. */
export class ConfigError extends Error {
  constructor(
    what: string,
    readonly problems: readonly string[],
  ) {
    super(`invalid ${what} configuration: ${problems.join('; ')}`);
    this.name = 'ConfigError';
  }
}

/** What runProcess logs through: pino's shape, so a pino logger or a lighter one with the same calls fits. */
export interface ProcessLogger {
  info(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface Running {
  logger: ProcessLogger;
  stop(): Promise<void>;
}

/**
 * An exporter's process entry: configuration (exit 2 naming what is wrong), start (exit 1 on failure), and
 * SIGTERM/SIGINT stopping gracefully, or exiting 1 after `stopTimeoutMs` if something hangs.
 */
export function runProcess<C>(
  name: string,
  loadConfig: () => C,
  start: (config: C) => Promise<Running>,
  stopTimeoutMs: number,
): void {
  const main = async () => {
    let config: C;
    try {
      config = loadConfig();
    } catch (err) {
      if (err instanceof ConfigError) {
        process.stderr.write(`${err.message}\n`);
        process.exit(2);
      }
      throw err;
    }
    const running = await start(config);
    let stopping = false;
    const shutdown = (signal: string): void => {
      if (stopping) return;
      stopping = true;
      running.logger.info({ signal }, 'stopping');
      setTimeout(() => {
        running.logger.error({}, 'graceful stop timed out');
        process.exit(1);
      }, stopTimeoutMs).unref();
      running.stop().then(
        () => process.exit(0),
        (err: unknown) => {
          running.logger.error({ err }, 'error while stopping');
          process.exit(1);
        },
      );
    };
    process.on('SIGTERM', () => shutdown('SIGTERM'));
    process.on('SIGINT', () => shutdown('SIGINT'));
  };
  main().catch((err: unknown) => {
    process.stderr.write(`${name} failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}

/**
 * glibc malloc settings for a long-running service that reads sockets: every socket read takes a 64 KiB buffer
 * from malloc, and from the main arena and a dozen thread arenas the freed buffers fragment the heap and are not
 * given back (~13 MiB in the prober at 5,000 targets). Mapped on their own (threshold 64 KiB) and with two
 * arenas, they are. Set in the service's environment (malloc reads them at start), by its npm script, the stack
 * and its image alike.
 */
export const LEAN_MALLOC_ENV: Readonly<Record<string, string>> = {
  MALLOC_ARENA_MAX: '2',
  MALLOC_MMAP_THRESHOLD_: '65536',
  MALLOC_TRIM_THRESHOLD_: '131072',
};
