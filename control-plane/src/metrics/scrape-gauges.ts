import { Gauge, type Registry } from 'prom-client';

/** One labelled value set per row, as a scrape-time gauge reads it. */
export interface GaugeSpec<Row> {
  name: string;
  help: string;
  /** null leaves the series out (no data is not zero) */
  value: (r: Row) => number | null;
}

/**
 * Gauges computed from the database at scrape time, sharing one computation per scrape: the first collect
 * starts `rows()`, the others within a second reuse it. A failed computation (database away) leaves these
 * series absent rather than failing the whole scrape.
 */
export function registerScrapeGauges<Row extends { labels: Record<string, string> }>(
  registry: Registry,
  labelNames: readonly string[],
  rows: () => Promise<Row[]>,
  specs: GaugeSpec<Row>[],
): void {
  let last: { at: number; result: Promise<Row[]> } | undefined;
  const compute = () => {
    if (!last || Date.now() - last.at >= 1000)
      last = { at: Date.now(), result: rows().catch(() => [] as Row[]) };
    return last.result;
  };
  for (const spec of specs)
    new Gauge({
      name: spec.name,
      help: spec.help,
      labelNames: labelNames as string[],
      registers: [registry],
      async collect() {
        this.reset();
        for (const r of await compute()) {
          const v = spec.value(r);
          if (v !== null) this.set(r.labels, v);
        }
      },
    });
}
