/**
 * The few metric kinds the prober serves, written straight in the Prometheus text format (0.0.4), in place
 * of prom-client: that library (with @opentelemetry/api, which it loads) costs ~6 MiB resident in a process
 * whose whole budget at 5,000 targets is 64 MiB, for a dozen counters and gauges.
 */
export const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** Label value escaping of the text format: backslash, double quote and newline. */
export function escapeLabel(v: string): string {
  return /[\\"\n]/.test(v) ? v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n') : v;
}

/** `a="x",b="y"` for a label set (values escaped), in the order given. */
export function labelText(labels: Readonly<Record<string, string>>): string {
  return Object.entries(labels)
    .map(([k, v]) => `${k}="${escapeLabel(v)}"`)
    .join(',');
}

/** Sample value as prom-client wrote it: integers plain, others as JavaScript prints them, NaN and infinities named. */
export function num(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

/** One family: HELP, TYPE and its samples (`name{labels} value` lines, already formatted). */
export function family(name: string, type: string, help: string, samples: readonly string[]): string {
  const head = `# HELP ${name} ${help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}\n# TYPE ${name} ${type}\n`;
  return samples.length === 0 ? head : `${head}${samples.join('\n')}\n`;
}

/** A family of one unlabelled sample: most process and Node.js metrics. */
export function single(name: string, type: 'gauge' | 'counter', help: string, value: number): string {
  return family(name, type, help, [sample(name, '', value)]);
}

/** A sample line; no labels writes no braces. */
export function sample(name: string, labels: string, value: number): string {
  return labels === '' ? `${name} ${num(value)}` : `${name}{${labels}} ${num(value)}`;
}

/**
 * A counter with a fixed set of label names; a label set is kept from its first `inc` (zero included) in
 * the order it first appeared, as prom-client kept them.
 */
export class Counter<L extends string = never> {
  private readonly values = new Map<string, number>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly labelNames: readonly L[] = [],
  ) {}

  inc(labels: Readonly<Record<L, string>>, value?: number): void;
  inc(value?: number): void;
  inc(a?: Readonly<Record<L, string>> | number, b?: number): void {
    const labels = typeof a === 'object' ? a : undefined;
    const value = typeof a === 'number' ? a : (b ?? 1);
    if (!(value >= 0)) throw new Error(`${this.name}: a counter only goes up (got ${value})`);
    const key = labels ? this.labelNames.map((n) => `${n}="${escapeLabel(labels[n])}"`).join(',') : '';
    this.values.set(key, (this.values.get(key) ?? 0) + value);
  }

  text(): string {
    const samples = [...this.values].map(([labels, v]) => sample(this.name, labels, v));
    // An unlabelled counter never incremented still shows 0, as prom-client's did.
    if (this.labelNames.length === 0 && samples.length === 0) samples.push(sample(this.name, '', 0));
    return family(this.name, 'counter', this.help, samples);
  }
}
