// Reads dashboards the way Grafana would run them: every panel target and variable query, with Grafana's
// built-in intervals and the template variables replaced by concrete values.
import { parser } from '@prometheus-io/lezer-promql';
import type { Dashboard, Panel, RowPanel, VariableModel } from '@grafana/grafana-foundation-sdk/dashboard';

export interface PanelQuery {
  dashboard: string;
  panel: string;
  refId: string;
  expr: string;
  datasourceUid: string | undefined;
}

interface Target {
  refId?: string;
  expr?: string;
  datasource?: { uid?: string };
}

export function panelsOf(d: Dashboard): Panel[] {
  const out: Panel[] = [];
  for (const p of d.panels ?? []) {
    if (p.type === 'row') out.push(...((p as RowPanel).panels ?? []));
    else out.push(p as Panel);
  }
  return out;
}

export function queriesOf(name: string, d: Dashboard): PanelQuery[] {
  return panelsOf(d).flatMap((p) =>
    ((p.targets ?? []) as Target[]).map((t) => ({
      dashboard: name,
      panel: p.title ?? '(untitled)',
      refId: t.refId ?? '?',
      expr: t.expr ?? '',
      datasourceUid: t.datasource?.uid ?? p.datasource?.uid,
    })),
  );
}

export function variablesOf(d: Dashboard): VariableModel[] {
  return d.templating?.list ?? [];
}

/** The PromQL inside a label_values(selector, label) variable query. */
export function variableSelector(v: VariableModel): string | undefined {
  const q = typeof v.query === 'string' ? v.query : (v.query as { query?: string } | undefined)?.query;
  return q?.match(/^label_values\((.*),\s*[a-zA-Z_][a-zA-Z0-9_]*\)$/)?.[1];
}

/** Grafana's substitutions; a range of 1h and step-sized intervals of 1m are what a 6h dashboard gets. */
export function substitute(expr: string, vars: Record<string, string>): string {
  let out = expr
    .replaceAll('$__rate_interval', '1m')
    .replaceAll('$__interval', '1m')
    .replaceAll('$__range', '1h');
  for (const [k, v] of Object.entries(vars)) out = out.replaceAll(`$${k}`, v).replaceAll(`\${${k}}`, v);
  return out;
}

/** Positions of lezer parse errors (empty when the expression parses), plus any `$` left unsubstituted. */
export function parseErrors(expr: string): string[] {
  const errors: string[] = [];
  if (expr.trim() === '') errors.push('empty expression');
  if (expr.includes('$')) errors.push(`unsubstituted variable in ${expr}`);
  const cursor = parser.parse(expr).cursor();
  do {
    if (cursor.type.isError)
      errors.push(`syntax error at ${cursor.from}: ...${expr.slice(cursor.from, cursor.from + 30)}`);
  } while (cursor.next());
  return errors;
}

/** Metric names of every vector selector in the expression. */
export function metricNames(expr: string): string[] {
  const names = new Set<string>();
  const cursor = parser.parse(expr).cursor();
  do {
    if (cursor.name === 'VectorSelector') {
      const id = cursor.node.getChild('Identifier');
      if (id) names.add(expr.slice(id.from, id.to));
    }
  } while (cursor.next());
  return [...names];
}

/** An answer of Prometheus's instant query API. */
export interface PromResponse {
  status: string;
  error?: string;
  data?: { resultType: string; result: unknown };
}

/** Data as a panel would show it: at least one sample that is a number (NaN is Grafana's "no value"). */
export function hasData(r: PromResponse): boolean {
  if (r.status !== 'success' || !r.data) return false;
  if (r.data.resultType === 'scalar') return !Number.isNaN(Number((r.data.result as [number, string])[1]));
  return (r.data.result as { value: [number, string] }[]).some((s) => !Number.isNaN(Number(s.value[1])));
}
