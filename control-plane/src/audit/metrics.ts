import { Gauge, type Registry } from 'prom-client';
import type { Logger } from 'pino';
import type { AuditService } from './service.ts';
import { errorMessage } from '@concierge-ops/shared/errors';

/**
 * The newest signed checkpoint, for Prometheus to keep outside the database: its seq and when it was signed
 * (0 until the first). Registered only where checkpoints are on, so their absence is visible too.
 */
export function registerAuditMetrics(registry: Registry, audit: AuditService, log: Logger): void {
  const newest = async () => {
    try {
      return await audit.newestCheckpoint();
    } catch (err) {
      log.warn({ err: errorMessage(err) }, 'audit: the checkpoint file could not be read for /metrics');
      return undefined;
    }
  };
  new Gauge({
    name: 'concierge_ops_audit_checkpoint_seq',
    help: 'Audit log seq covered by the newest signed checkpoint.',
    registers: [registry],
    async collect() {
      this.set((await newest())?.seq ?? 0);
    },
  });
  new Gauge({
    name: 'concierge_ops_audit_checkpoint_timestamp_seconds',
    help: 'When the newest audit checkpoint was signed (Unix time); 0 before the first.',
    registers: [registry],
    async collect() {
      const c = await newest();
      this.set(c ? Date.parse(c.at) / 1000 : 0);
    },
  });
}
