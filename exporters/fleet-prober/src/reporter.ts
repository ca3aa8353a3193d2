import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { errText } from './discovery.ts';
import { httpCall } from './http-client.ts';
import type { Logger, Transition } from './types.ts';

export interface ReporterOptions {
  /** Full URL of POST /api/v1/availability/transitions. */
  readonly url: string;
  readonly token: string;
  readonly proberId: string;
  /** Where pending transitions are kept across restarts. */
  readonly file: string;
  /** Oldest transitions are dropped (and logged) beyond this many. */
  readonly maxPending: number;
  readonly batchSize: number;
  readonly initialBackoffMs: number;
  readonly maxBackoffMs: number;
  readonly requestTimeoutMs: number;
  readonly logger: Logger;
  readonly onError: (kind: 'report_retry' | 'report_rejected' | 'buffer_overflow' | 'state_file') => void;
}

type Outcome = { kind: 'ok' } | { kind: 'rejected'; status: number } | { kind: 'retry'; afterMs?: number };

/**
 * Delivers transitions to the control plane in order, at least once (each carries a uuid the control plane
 * deduplicates on). Retries with exponential backoff and jitter while the control plane is unreachable,
 * answers 5xx or 429; drops what it rejects with another 4xx. The buffer is mirrored to a file.
 */
export class Reporter {
  private buffer: Transition[] = [];
  private stopped = true;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private writing: Promise<void> | undefined;
  private dirty = false;

  constructor(private readonly opts: ReporterOptions) {}

  get pending(): readonly Transition[] {
    return this.buffer;
  }

  /** Reads transitions left by a previous run. A corrupt file is set aside, not fatal. */
  async load(): Promise<void> {
    let text: string;
    try {
      text = await readFile(this.opts.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    try {
      const parsed = JSON.parse(text) as { version?: unknown; transitions?: unknown };
      if (parsed.version !== 1 || !Array.isArray(parsed.transitions)) throw new Error('unexpected shape');
      this.buffer = (parsed.transitions as Transition[]).concat(this.buffer);
      this.opts.logger.info({ pending: this.buffer.length }, 'loaded pending transitions');
    } catch (err) {
      this.opts.onError('state_file');
      const aside = `${this.opts.file}.corrupt-${Date.now()}`;
      await rename(this.opts.file, aside);
      this.opts.logger.error({ err: errText(err), movedTo: aside }, 'pending transitions file unreadable');
    }
  }

  start(): void {
    this.stopped = false;
    this.kick();
  }

  enqueue(t: Transition): void {
    this.buffer.push(t);
    if (this.buffer.length > this.opts.maxPending) {
      const dropped = this.buffer.splice(0, this.buffer.length - this.opts.maxPending);
      this.opts.onError('buffer_overflow');
      this.opts.logger.error({ dropped: dropped.map((d) => d.id) }, 'transition buffer full; dropped oldest');
    }
    void this.persist();
    this.kick();
  }

  /** Lets an in-flight request finish, then writes the buffer out. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.loop;
    await this.persist();
  }

  private kick(): void {
    if (this.stopped) return;
    this.loop ??= this.run().finally(() => {
      this.loop = undefined;
      if (!this.stopped && this.buffer.length > 0) this.kick();
    });
  }

  private async run(): Promise<void> {
    let attempt = 0;
    // After a 4xx on a batch, send its members one by one so one bad transition does not sink the others.
    let isolate = 0;
    while (!this.stopped && this.buffer.length > 0) {
      const batch = this.buffer.slice(0, isolate > 0 ? 1 : this.opts.batchSize);
      const outcome = await this.send(batch);
      if (outcome.kind === 'retry') {
        attempt++;
        this.opts.onError('report_retry');
        await this.sleep(outcome.afterMs ?? this.backoff(attempt));
        continue;
      }
      attempt = 0;
      if (outcome.kind === 'rejected' && batch.length > 1) {
        isolate = batch.length;
        continue;
      }
      if (outcome.kind === 'rejected') {
        this.opts.onError('report_rejected');
        this.opts.logger.error(
          { status: outcome.status, transition: batch[0] },
          'control plane rejected a transition; dropped',
        );
      }
      isolate = Math.max(0, isolate - batch.length);
      const done = new Set(batch.map((t) => t.id));
      this.buffer = this.buffer.filter((t) => !done.has(t.id));
      void this.persist();
    }
  }

  private async send(transitions: Transition[]): Promise<Outcome> {
    try {
      const res = await httpCall(this.opts.url, {
        method: 'POST',
        headers: { authorization: `Bearer ${this.opts.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ prober: this.opts.proberId, transitions }),
        timeoutMs: this.opts.requestTimeoutMs,
      });
      if (res.status >= 200 && res.status < 300) return { kind: 'ok' };
      if (res.status === 429 || res.status >= 500) {
        this.opts.logger.warn({ status: res.status }, 'control plane not taking transitions; will retry');
        return {
          kind: 'retry',
          afterMs: res.status === 429 ? retryAfterMs(res.headers['retry-after']) : undefined,
        };
      }
      return { kind: 'rejected', status: res.status };
    } catch (err) {
      this.opts.logger.warn({ err: errText(err) }, 'control plane unreachable; will retry');
      return { kind: 'retry' };
    }
  }

  /** Exponential backoff with "equal jitter": at least half the step, so retries neither stampede nor stall. */
  private backoff(attempt: number): number {
    const step = Math.min(
      this.opts.maxBackoffMs,
      this.opts.initialBackoffMs * 2 ** Math.min(attempt - 1, 30),
    );
    return step / 2 + Math.random() * (step / 2);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wake = () => {
        this.wake = undefined;
        done();
      };
    });
  }

  /** Coalesced atomic write (temp file + rename) of the whole buffer. */
  private persist(): Promise<void> {
    this.dirty = true;
    this.writing ??= (async () => {
      while (this.dirty) {
        this.dirty = false;
        const tmp = `${this.opts.file}.tmp`;
        try {
          await mkdir(dirname(this.opts.file), { recursive: true });
          await writeFile(tmp, JSON.stringify({ version: 1, transitions: this.buffer }));
          await rename(tmp, this.opts.file);
        } catch (err) {
          this.opts.onError('state_file');
          this.opts.logger.error({ err: errText(err) }, 'could not persist pending transitions');
        }
      }
    })().finally(() => {
      this.writing = undefined;
    });
    return this.writing;
  }
}

function retryAfterMs(header: string | undefined): number | undefined {
  if (!header) return undefined;
  const secs = Number(header);
  const ms = Number.isFinite(secs) ? secs * 1000 : Date.parse(header) - Date.now();
  // Cap it: a confused server must not park our buffer for hours.
  return Number.isFinite(ms) ? Math.min(Math.max(ms, 0), 300_000) : undefined;
}
