import net from 'node:net';
import type { ProbeResult, Target } from '../types.ts';
import { failure, ProbeError, probeResult, socketErrorReason } from './common.ts';

/** TCP connect probe: success once the handshake completes; the socket is closed at once. */
export function probeTcp(target: Target): Promise<ProbeResult> {
  const started = performance.now();
  const elapsed = (): number => (performance.now() - started) / 1000;
  return new Promise<ProbeResult>((resolve) => {
    const socket = net.connect({ host: target.host!, port: target.port! });
    const timer = setTimeout(() => socket.destroy(new ProbeError('timeout')), target.timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      const durationSeconds = elapsed();
      socket.destroy();
      resolve(probeResult(true, 'up', durationSeconds, 'connected'));
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(failure(socketErrorReason(err, target.timeoutMs), elapsed()));
    });
  });
}
