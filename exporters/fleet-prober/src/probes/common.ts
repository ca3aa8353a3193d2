import type { ProbeResult, ServiceState } from '../types.ts';

/** An error raised by the probe itself (timeout, oversized body); its message is safe to report. */
export class ProbeError extends Error {}

/**
 * Every probe result, built with all its fields in one order: one hidden class for all of them. Results built
 * by spreading a partial one (`{ ...base, success }`) each got a hidden class of their own in V8, and each
 * target keeps its last result: ~1.5 MiB of maps and property arrays at 5,000 targets.
 */
export function probeResult(
  success: boolean,
  state: ServiceState,
  durationSeconds: number,
  reason: string,
  more: {
    httpStatus?: number | undefined;
    certExpiry?: number | undefined;
    dependencies?: ReadonlyMap<string, boolean> | undefined;
  } = {},
): ProbeResult {
  return {
    success,
    state,
    durationSeconds,
    reason,
    httpStatus: more.httpStatus,
    certExpiry: more.certExpiry,
    dependencies: more.dependencies,
  };
}

export function failure(reason: string, durationSeconds: number): ProbeResult {
  return probeResult(false, 'down', durationSeconds, reason);
}

/**
 * A short reason safe to send and log: the error code and the step, never the error message itself
 * (Node puts host:port and sometimes the URL in it).
 */
export function socketErrorReason(err: unknown, timeoutMs: number): string {
  if (!(err instanceof Error)) return 'probe failed';
  if (err instanceof ProbeError)
    return err.message === 'timeout' ? `timeout after ${timeoutMs}ms` : err.message;
  const code = (err as NodeJS.ErrnoException).code ?? '';
  const syscall = (err as NodeJS.ErrnoException).syscall;
  if (/CERT|SELF_SIGNED|UNABLE_TO|HOSTNAME|ERR_TLS|ERR_SSL/.test(code)) return `TLS ${code}`;
  if (code === 'ECONNRESET' || err.message === 'socket hang up') return 'connection reset';
  if (syscall === 'connect' || code === 'ECONNREFUSED' || code === 'EHOSTUNREACH') return `connect ${code}`;
  if (syscall === 'getaddrinfo') return `dns ${code}`;
  if (code !== '') return code;
  return 'probe failed';
}
