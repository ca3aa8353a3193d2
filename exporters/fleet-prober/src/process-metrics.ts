import { readdirSync, readFileSync } from 'node:fs';
import { constants, monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { getHeapSpaceStatistics } from 'node:v8';
import { escapeLabel, family, sample, single } from './exposition.ts';

/**
 * The process_* and nodejs_* families prom-client's default metrics served (names, types, help and labels
 * unchanged, so dashboards and queries read the same), minus the three `nodejs_active_*_total` gauges that
 * `promtool check metrics` rejects. Written straight from node's own counters at each scrape.
 */
const GC_BUCKETS = [0.001, 0.01, 0.1, 1, 2, 5];
const GC_KINDS: Record<number, string> = {
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
};
const LAG_STATS = [
  ['min', 'The minimum recorded event loop delay.'],
  ['max', 'The maximum recorded event loop delay.'],
  ['mean', 'The mean of the recorded event loop delays.'],
  ['stddev', 'The standard deviation of the recorded event loop delays.'],
  ['p50', 'The 50th percentile of the recorded event loop delays.'],
  ['p90', 'The 90th percentile of the recorded event loop delays.'],
  ['p99', 'The 99th percentile of the recorded event loop delays.'],
] as const;

interface GcKind {
  readonly buckets: number[];
  sum: number;
  count: number;
}

export class ProcessMetrics {
  private readonly startTime = Math.round(Date.now() / 1000 - process.uptime());
  private readonly maxFds = readMaxFds();
  private readonly lagHistogram = monitorEventLoopDelay();
  /** Measured by the previous scrape (a setImmediate's delay), as prom-client reported it. */
  private lag = 0;
  private readonly gc = new Map<string, GcKind>();
  private readonly gcObserver: PerformanceObserver;

  constructor() {
    this.lagHistogram.enable();
    this.gcObserver = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        const { detail } = entry as unknown as { detail?: { kind?: number } };
        const kind = GC_KINDS[detail?.kind ?? -1];
        if (kind !== undefined) this.observeGc(kind, entry.duration / 1000);
      }
    });
    this.gcObserver.observe({ entryTypes: ['gc'] });
  }

  stop(): void {
    this.lagHistogram.disable();
    this.gcObserver.disconnect();
  }

  private observeGc(kind: string, seconds: number): void {
    let k = this.gc.get(kind);
    if (!k) this.gc.set(kind, (k = { buckets: GC_BUCKETS.map(() => 0), sum: 0, count: 0 }));
    for (let i = 0; i < GC_BUCKETS.length; i++) if (seconds <= GC_BUCKETS[i]!) k.buckets[i]!++;
    k.sum += seconds;
    k.count++;
  }

  text(): string {
    const out: string[] = [];
    const cpu = process.cpuUsage();
    out.push(
      single(
        'process_cpu_user_seconds_total',
        'counter',
        'Total user CPU time spent in seconds.',
        cpu.user / 1e6,
      ),
      single(
        'process_cpu_system_seconds_total',
        'counter',
        'Total system CPU time spent in seconds.',
        cpu.system / 1e6,
      ),
      single(
        'process_cpu_seconds_total',
        'counter',
        'Total user and system CPU time spent in seconds.',
        (cpu.user + cpu.system) / 1e6,
      ),
      single(
        'process_start_time_seconds',
        'gauge',
        'Start time of the process since unix epoch in seconds.',
        this.startTime,
      ),
    );
    const status = readStatus();
    if (status) {
      out.push(
        single('process_resident_memory_bytes', 'gauge', 'Resident memory size in bytes.', status.rss),
        single('process_virtual_memory_bytes', 'gauge', 'Virtual memory size in bytes.', status.size),
        single('process_heap_bytes', 'gauge', 'Process heap size in bytes.', status.data),
      );
    }
    const openFds = countOpenFds();
    if (openFds !== undefined) {
      out.push(single('process_open_fds', 'gauge', 'Number of open file descriptors.', openFds));
    }
    if (this.maxFds !== undefined) {
      out.push(single('process_max_fds', 'gauge', 'Maximum number of open file descriptors.', this.maxFds));
    }
    out.push(this.lagText());
    out.push(
      byType(
        'nodejs_active_resources',
        'Number of active resources that are currently keeping the event loop alive, grouped by async resource type.',
        process.getActiveResourcesInfo(),
      ),
      byType(
        'nodejs_active_handles',
        'Number of active libuv handles grouped by handle type. Every handle type is C++ class name.',
        activeNames('_getActiveHandles'),
      ),
      byType(
        'nodejs_active_requests',
        'Number of active libuv requests grouped by request type. Every request type is C++ class name.',
        activeNames('_getActiveRequests'),
      ),
    );
    const mem = process.memoryUsage();
    out.push(
      single(
        'nodejs_heap_size_total_bytes',
        'gauge',
        'Process heap size from Node.js in bytes.',
        mem.heapTotal,
      ),
      single(
        'nodejs_heap_size_used_bytes',
        'gauge',
        'Process heap size used from Node.js in bytes.',
        mem.heapUsed,
      ),
      single('nodejs_external_memory_bytes', 'gauge', 'Node.js external memory size in bytes.', mem.external),
    );
    const spaces = getHeapSpaceStatistics();
    for (const [what, field] of [
      ['total', 'space_size'],
      ['used', 'space_used_size'],
      ['available', 'space_available_size'],
    ] as const) {
      const name = `nodejs_heap_space_size_${what}_bytes`;
      const samples = spaces.map((s) => {
        const space = s.space_name.slice(0, s.space_name.indexOf('_space'));
        return sample(name, `space="${escapeLabel(space)}"`, s[field]);
      });
      out.push(family(name, 'gauge', `Process heap space size ${what} from Node.js in bytes.`, samples));
    }
    const [major, minor, patch] = process.versions.node.split('.');
    out.push(
      family('nodejs_version_info', 'gauge', 'Node.js version info.', [
        sample(
          'nodejs_version_info',
          `version="${process.version}",major="${major}",minor="${minor}",patch="${patch}"`,
          1,
        ),
      ]),
    );
    out.push(this.gcText());
    return out.join('');
  }

  private lagText(): string {
    const start = process.hrtime.bigint();
    setImmediate(() => {
      this.lag = Number(process.hrtime.bigint() - start) / 1e9;
    });
    const h = this.lagHistogram;
    const values = {
      min: h.min,
      max: h.max,
      mean: h.mean,
      stddev: h.stddev,
      p50: h.percentile(50),
      p90: h.percentile(90),
      p99: h.percentile(99),
    };
    h.reset();
    const parts = [
      single('nodejs_eventloop_lag_seconds', 'gauge', 'Lag of event loop in seconds.', this.lag),
    ];
    for (const [stat, help] of LAG_STATS) {
      const name = `nodejs_eventloop_lag_${stat}_seconds`;
      parts.push(single(name, 'gauge', help, values[stat] / 1e9));
    }
    return parts.join('');
  }

  private gcText(): string {
    const name = 'nodejs_gc_duration_seconds';
    const samples: string[] = [];
    for (const [kind, k] of this.gc) {
      const l = `kind="${kind}"`;
      GC_BUCKETS.forEach((le, i) => samples.push(sample(`${name}_bucket`, `le="${le}",${l}`, k.buckets[i]!)));
      samples.push(sample(`${name}_bucket`, `le="+Inf",${l}`, k.count));
      samples.push(sample(`${name}_sum`, l, k.sum), sample(`${name}_count`, l, k.count));
    }
    return family(
      name,
      'histogram',
      'Garbage collection duration by kind, one of major, minor, incremental or weakcb.',
      samples,
    );
  }
}

/** VmRSS, VmSize and VmData of /proc/self/status in bytes; undefined off Linux. */
function readStatus(): { rss: number; size: number; data: number } | undefined {
  let text: string;
  try {
    text = readFileSync('/proc/self/status', 'utf8');
  } catch {
    return undefined;
  }
  const kb = (key: string): number =>
    Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0) * 1024;
  return { rss: kb('VmRSS'), size: kb('VmSize'), data: kb('VmData') };
}

function countOpenFds(): number | undefined {
  try {
    return readdirSync('/proc/self/fd').length - 1; // less the descriptor reading the folder
  } catch {
    return undefined;
  }
}

function readMaxFds(): number | undefined {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'));
    const n = Number(line?.split(/ {2,}/)[1]);
    return Number.isFinite(n) ? n : undefined;
  } catch {
    return undefined;
  }
}

/** Constructor names of node's active handles or requests (prom-client's grouping); [] where node lacks them. */
function activeNames(fn: '_getActiveHandles' | '_getActiveRequests'): string[] {
  const get = (process as unknown as Record<string, (() => unknown[]) | undefined>)[fn];
  if (typeof get !== 'function') return [];
  const names: string[] = [];
  for (const h of get.call(process)) {
    const name = (h as { constructor?: { name?: string } } | null)?.constructor?.name;
    if (name !== undefined) names.push(name);
  }
  return names;
}

function byType(name: string, help: string, types: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const t of types) counts.set(t, (counts.get(t) ?? 0) + 1);
  const samples = [...counts].map(([type, n]) => sample(name, `type="${escapeLabel(type)}"`, n));
  return family(name, 'gauge', help, samples);
}
