import { runProcess } from '@concierge-ops/shared/process';
import { loadConfig } from './config.ts';
import { jsonLogger } from './log.ts';
import { FleetProber } from './prober.ts';

/** Process entry: config -> start; SIGTERM/SIGINT stop gracefully (pending transitions are persisted). */
runProcess(
  'fleet prober',
  loadConfig,
  async (config) => {
    // Belt and braces: nothing logs the token, and nothing should start to (the logger redacts it anyway).
    const logger = jsonLogger({ name: 'fleet-prober', level: config.logLevel });
    const prober = new FleetProber({
      controlPlaneUrl: config.controlPlaneUrl,
      token: config.proberToken,
      proberId: config.proberId,
      port: config.port,
      probeIntervalSeconds: config.probeIntervalSeconds,
      concurrency: config.concurrency,
      downAfter: config.downAfter,
      reprobeIntervalSeconds: config.reprobeIntervalSeconds,
      upAfter: config.upAfter,
      sdRefreshSeconds: config.sdRefreshSeconds,
      heartbeatSeconds: config.heartbeatSeconds,
      stateDir: config.stateDir,
      location: config.location,
      peers: config.peers,
      quorum: config.quorum,
      peerPollSeconds: config.peerPollSeconds,
      alertmanagerUrls: config.alertmanagerUrls,
      alertResendSeconds: config.alertResendSeconds,
      alertLabels: config.alertLabels,
      logger,
    });
    await prober.start();
    return { logger, stop: () => prober.stop() };
  },
  // A hung probe or control plane must not keep the process from exiting forever.
  15_000,
);
