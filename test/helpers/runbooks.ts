// Reads the runbooks the way an operator uses them: the PromQL blocks they paste into Prometheus.
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { metricNames, parseErrors } from './dashboards.ts';

export const RUNBOOKS = path.resolve(import.meta.dirname, '../../docs/runbooks');

/** Every query line of every ```promql block, with its file; `# ...` comments stripped. */
export function runbookQueries(dir = RUNBOOKS): { file: string; expr: string }[] {
  const out: { file: string; expr: string }[] = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.md'))) {
    const text = readFileSync(path.join(dir, file), 'utf8');
    for (const block of text.matchAll(/```promql\n([\s\S]*?)```/g))
      for (const line of block[1]!.split('\n')) {
        const expr = line.replace(/#.*$/, '').trim();
        if (expr) out.push({ file, expr });
      }
  }
  return out;
}

/** Metric name -> the runbooks that query it; a line that does not parse is named under `errors`. */
export function runbookMetrics(dir = RUNBOOKS): { metrics: Map<string, string[]>; errors: string[] } {
  const metrics = new Map<string, string[]>();
  const errors: string[] = [];
  for (const q of runbookQueries(dir)) {
    for (const e of parseErrors(q.expr)) errors.push(`${q.file}: ${e}`);
    for (const m of metricNames(q.expr)) metrics.set(m, [...new Set([...(metrics.get(m) ?? []), q.file])]);
  }
  return { metrics, errors };
}
