import { hostname } from 'node:os';
import type { Logger } from './types.ts';

/**
 * The prober's logger: pino's JSON lines (`level` as pino's number, `time` in ms, `pid`, `hostname`, `name`,
 * the fields, then `msg`), one synchronous write to stdout per line. Not pino itself: pino and its worker
 * and stream modules cost ~4 MiB resident in a process whose whole budget at 5,000 targets is 64 MiB, for
 * the handful of lines the prober writes (start, stop, state changes, failures).
 */
export const LOG_LEVELS = {
  fatal: 60,
  error: 50,
  warn: 40,
  info: 30,
  debug: 20,
  trace: 10,
  silent: Infinity,
};
export type LogLevel = keyof typeof LOG_LEVELS;

/** Keys whose values never reach a log line, at any depth (pino's `redact` did this for these paths). */
const REDACTED = new Set(['token', 'proberToken', 'authorization']);

export interface JsonLogger extends Logger {
  fatal(obj: object, msg?: string): void;
  trace(obj: object, msg?: string): void;
}

export function jsonLogger(opts: {
  name: string;
  level: LogLevel;
  write?: (line: string) => void;
}): JsonLogger {
  const threshold = LOG_LEVELS[opts.level];
  const write = opts.write ?? ((line: string) => process.stdout.write(line));
  const head = `"pid":${process.pid},"hostname":${JSON.stringify(hostname())},"name":${JSON.stringify(opts.name)}`;
  const at =
    (level: number) =>
    (obj: object, msg?: string): void => {
      if (level < threshold) return;
      const fields = JSON.stringify(obj, redact);
      const rest = fields.length > 2 ? `,${fields.slice(1, -1)}` : '';
      const message = msg === undefined ? '' : `,"msg":${JSON.stringify(msg)}`;
      write(`{"level":${level},"time":${Date.now()},${head}${rest}${message}}\n`);
    };
  return {
    fatal: at(60),
    error: at(50),
    warn: at(40),
    info: at(30),
    debug: at(20),
    trace: at(10),
  };
}

/** JSON.stringify replacer: secrets out, errors as pino's err serializer writes them. */
function redact(key: string, value: unknown): unknown {
  if (REDACTED.has(key)) return '[Redacted]';
  if (value instanceof Error) return { type: value.name, message: value.message, stack: value.stack };
  return value;
}
