/**
 * Runs one probe per target per interval, each target at a stable offset inside the interval (a hash of
 * its key, as Prometheus spreads scrapes), with at most `concurrency` probes in flight.
 */

export interface SchedulerOptions<T> {
  readonly intervalMs: number;
  readonly concurrency: number;
  /** A probe starting later than this after its slot counts as late. */
  readonly lateToleranceMs: number;
  /** `reprobe` is true for a run asked for by `reprobe()` rather than by the target's slot. */
  readonly run: (target: T, dueMs: number, reprobe: boolean) => Promise<void>;
  /** Called with how many probes were late or skipped (previous probe of the target still running). */
  readonly onLate: (count: number) => void;
  readonly now?: () => number;
}

interface Slot<T> {
  readonly key: string;
  readonly offset: number;
  target: T;
}

interface Job<T> {
  readonly target: T;
  readonly key: string;
  readonly due: number;
  readonly reprobe: boolean;
}

/** FNV-1a over the key, reduced into [0, intervalMs): stable across restarts and replicas. */
export function offsetFor(key: string, intervalMs: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % Math.max(1, Math.floor(intervalMs));
}

export class Scheduler<T extends { readonly key: string }> {
  private slots: Slot<T>[] = [];
  /** Wall-clock start of the current cycle, aligned to the interval so offsets mean the same after a restart. */
  private cycleStart = 0;
  private cursor = 0;
  /** Time of the last tick: slots due at or before it have been dispatched in this cycle. */
  private watermark = 0;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  /** Jobs waiting for a concurrency slot from `queueHead` on; taken ones are cleared so a backlog holds no garbage. */
  private readonly queue: Array<Job<T> | undefined> = [];
  private queueHead = 0;
  private active = 0;
  private readonly inFlight = new Set<string>();
  /** Re-probes waiting for their moment, by target key (only targets whose last probe failed). */
  private readonly reprobeTimers = new Map<string, NodeJS.Timeout>();
  private readonly reprobing = new Set<string>();
  private idleWaiters: Array<() => void> = [];
  private readonly now: () => number;

  constructor(private readonly opts: SchedulerOptions<T>) {
    this.now = opts.now ?? Date.now;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    const now = this.now();
    this.cycleStart = now - (now % this.opts.intervalMs);
    this.watermark = now;
    this.cursor = this.firstSlotAfter(now);
    this.arm();
  }

  /** Stops dispatching; resolves once in-flight probes have finished (queued ones are dropped). */
  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    for (const t of this.reprobeTimers.values()) clearTimeout(t);
    this.reprobeTimers.clear();
    this.queue.length = 0;
    this.queueHead = 0;
    if (this.active > 0) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  /** Replaces the target list; targets that keep their key keep their slot. */
  setTargets(targets: readonly T[]): void {
    const { intervalMs } = this.opts;
    this.slots = targets
      .map((target) => ({ key: target.key, offset: offsetFor(target.key, intervalMs), target }))
      .sort((a, b) => a.offset - b.offset || (a.key < b.key ? -1 : 1));
    if (this.running) {
      this.cursor = this.firstSlotAfter(this.watermark);
      this.arm();
    }
  }

  /**
   * Probes the target once more after `delayMs`, outside its slot, to confirm or contradict a failure. Not
   * queued while the target's probe is in flight: that probe's outcome is the next observation anyway.
   */
  reprobe(target: T, delayMs: number): void {
    const { key } = target;
    if (!this.running || this.reprobeTimers.has(key)) return;
    const timer = setTimeout(() => {
      this.reprobeTimers.delete(key);
      if (!this.running || this.inFlight.has(key)) return;
      this.inFlight.add(key);
      this.reprobing.add(key);
      this.queue.push({ target, key, due: this.now(), reprobe: true });
      this.pump();
    }, delayMs);
    this.reprobeTimers.set(key, timer);
  }

  private firstSlotAfter(t: number): number {
    const i = this.slots.findIndex((s) => this.cycleStart + s.offset > t);
    return i === -1 ? this.slots.length : i;
  }

  private arm(): void {
    clearTimeout(this.timer);
    if (!this.running || this.slots.length === 0) return;
    const next =
      this.cursor < this.slots.length
        ? this.cycleStart + this.slots[this.cursor]!.offset
        : this.cycleStart + this.opts.intervalMs + this.slots[0]!.offset;
    this.timer = setTimeout(() => this.tick(), Math.max(0, next - this.now()));
  }

  private tick(): void {
    const { intervalMs } = this.opts;
    const now = this.now();
    let late = 0;
    while (this.slots.length > 0) {
      if (this.cursor >= this.slots.length) {
        this.cycleStart += intervalMs;
        this.cursor = 0;
        // Far behind (a stalled event loop, a suspended VM): skip whole cycles rather than burst.
        const behind = Math.floor((now - this.cycleStart) / intervalMs);
        if (behind >= 1) {
          late += behind * this.slots.length;
          this.cycleStart += behind * intervalMs;
        }
      }
      const slot = this.slots[this.cursor]!;
      const due = this.cycleStart + slot.offset;
      if (due > now) break;
      this.cursor++;
      if (this.inFlight.has(slot.key)) {
        // The previous probe of this target is still running: skip this slot. A re-probe is not late work:
        // it is this slot's observation, come early.
        if (!this.reprobing.has(slot.key)) late++;
        continue;
      }
      this.inFlight.add(slot.key);
      this.queue.push({ target: slot.target, key: slot.key, due, reprobe: false });
    }
    this.watermark = now;
    if (late > 0) this.opts.onLate(late);
    this.pump();
    this.arm();
  }

  private pump(): void {
    while (this.active < this.opts.concurrency && this.queueHead < this.queue.length) {
      const job = this.queue[this.queueHead]!;
      this.queue[this.queueHead++] = undefined;
      this.active++;
      if (this.now() - job.due > this.opts.lateToleranceMs) this.opts.onLate(1);
      this.opts
        .run(job.target, job.due, job.reprobe)
        .catch(() => undefined) // run() reports its own errors; never let one stop the loop
        .finally(() => {
          this.active--;
          this.inFlight.delete(job.key);
          if (job.reprobe) this.reprobing.delete(job.key);
          if (this.running) this.pump();
          if (this.active === 0) this.idleWaiters.splice(0).forEach((w) => w());
        });
    }
    if (this.queueHead === this.queue.length) {
      this.queue.length = 0;
      this.queueHead = 0;
    }
  }
}
