// Shared pieces of every dashboard: data source references, query and panel shorthands, variables.
import type * as cog from '@grafana/grafana-foundation-sdk/cog';
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as prometheus from '@grafana/grafana-foundation-sdk/prometheus';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as table from '@grafana/grafana-foundation-sdk/table';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';

/** Must match grafana/provisioning/datasources/datasources.yml (test/unit/dashboards.test.ts checks it). */
export const PROMETHEUS: common.DataSourceRef = { type: 'prometheus', uid: 'prometheus' };
export const ALERTMANAGER: common.DataSourceRef = { type: 'alertmanager', uid: 'alertmanager' };

/** Selector for the client detail dashboard's two variables. */
export const SEL = 'client="$client", instance="$instance"';

export interface Query {
  expr: string;
  legend?: string;
  /** Instant table query (tables); default is a range time series. */
  table?: boolean;
}

export function query(q: Query, refId: string): prometheus.DataqueryBuilder {
  const b = new prometheus.DataqueryBuilder().datasource(PROMETHEUS).refId(refId).expr(q.expr);
  if (q.table) return b.instant().format(prometheus.PromQueryFormat.Table);
  return b.range().legendFormat(q.legend ?? '__auto');
}

function refId(i: number): string {
  return String.fromCharCode(65 + i);
}

function thresholdSteps(steps: [number | null, string][]): cog.Builder<dashboard.ThresholdsConfig> {
  return new dashboard.ThresholdsConfigBuilder()
    .mode(dashboard.ThresholdsMode.Absolute)
    .steps(steps.map(([value, color]) => ({ value, color })));
}

export interface PanelOptions {
  title: string;
  description: string;
  queries: Query[];
  unit?: string;
  width?: number;
  height?: number;
  /** [threshold, colour] from lowest; the first threshold is null (base). */
  thresholds?: [number | null, string][];
  min?: number;
  max?: number;
  decimals?: number;
}

export function timeseriesPanel(o: PanelOptions): timeseries.PanelBuilder {
  const p = new timeseries.PanelBuilder()
    .title(o.title)
    .description(o.description)
    .datasource(PROMETHEUS)
    .span(o.width ?? 12)
    .height(o.height ?? 8)
    .unit(o.unit ?? 'short')
    .lineWidth(1)
    .fillOpacity(10);
  o.queries.forEach((q, i) => p.withTarget(query(q, refId(i))));
  if (o.thresholds) p.thresholds(thresholdSteps(o.thresholds));
  if (o.min !== undefined) p.min(o.min);
  if (o.max !== undefined) p.max(o.max);
  return p;
}

export function statPanel(o: PanelOptions): stat.PanelBuilder {
  const p = new stat.PanelBuilder()
    .title(o.title)
    .description(o.description)
    .datasource(PROMETHEUS)
    .span(o.width ?? 6)
    .height(o.height ?? 4)
    .unit(o.unit ?? 'short')
    .colorMode(common.BigValueColorMode.Background)
    .graphMode(common.BigValueGraphMode.None)
    .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false));
  o.queries.forEach((q, i) => p.withTarget(query(q, refId(i))));
  p.thresholds(thresholdSteps(o.thresholds ?? [[null, 'green']]));
  if (o.decimals !== undefined) p.decimals(o.decimals);
  return p;
}

export interface TableColumn {
  /** Header shown in Grafana; carries the unit, e.g. "Newest backup age (h)" (see tableOfColumns). */
  name: string;
  query: string;
  thresholds?: [number | null, string][];
}

/**
 * One row per label set (client, instance, ...), one column per instant query: Grafana's merge transformation
 * joins the queries' rows on their labels, organize renames `Value #A` and friends and hides Time.
 *
 * Why units live in the header and the query (x100, /3600) rather than in per-column overrides: the dashboard
 * schema we validate against (contracts/grafana-dashboard.jsonschema.json) types an override's matcher
 * options and property values as objects, so `byName` + `{id: 'unit', value: 's'}` fails it. Colours still
 * work: the `byNames` matcher takes an object, and thresholds and cellOptions are objects.
 */
export function tableOfColumns(o: {
  title: string;
  description: string;
  columns: TableColumn[];
  sortBy: string;
  desc?: boolean;
  width?: number;
  height?: number;
}): table.PanelBuilder {
  const p = new table.PanelBuilder()
    .title(o.title)
    .description(o.description)
    .datasource(PROMETHEUS)
    .span(o.width ?? 24)
    .height(o.height ?? 10)
    .decimals(2)
    .sortBy([new common.TableSortByFieldStateBuilder().displayName(o.sortBy).desc(o.desc ?? false)]);
  const renameByName: Record<string, string> = {};
  o.columns.forEach((c, i) => {
    p.withTarget(query({ expr: c.query, table: true }, refId(i)));
    renameByName[`Value #${refId(i)}`] = c.name;
  });
  p.withTransformation({ id: 'merge', options: {} });
  p.withTransformation({
    id: 'organize',
    options: { excludeByName: { Time: true }, renameByName, indexByName: {} },
  });
  for (const c of o.columns) {
    if (!c.thresholds) continue;
    p.withOverride({
      matcher: { id: 'byNames', options: { mode: 'include', names: [c.name] } },
      properties: [
        { id: 'thresholds', value: thresholdSteps(c.thresholds).build() },
        { id: 'custom.cellOptions', value: { type: 'color-background' } },
      ],
    });
  }
  return p;
}

/** A Prometheus label_values() variable; `dependsOn` makes Grafana refresh it when that one changes. */
export function labelVariable(
  name: string,
  label: string,
  queryText: string,
): dashboard.QueryVariableBuilder {
  return (
    new dashboard.QueryVariableBuilder(name)
      .label(label)
      .datasource(PROMETHEUS)
      // The plain-string form: Grafana's Prometheus plugin still reads it, and the schema only allows a string
      // or an object of objects (the editor's {qryType, query, refId} form fails it).
      .query(queryText)
      .definition(queryText)
      .refresh(dashboard.VariableRefresh.OnTimeRangeChanged)
      .sort(dashboard.VariableSort.AlphabeticalAsc)
  );
}

export function baseDashboard(uid: string, title: string, description: string): dashboard.DashboardBuilder {
  return new dashboard.DashboardBuilder(title)
    .uid(uid)
    .description(description)
    .tags(['concierge-ops', 'generated'])
    .editable()
    .refresh('1m')
    .time({ from: 'now-6h', to: 'now' })
    .timezone('browser')
    .link(
      new dashboard.DashboardLinkBuilder('Concierge-ops dashboards')
        .type(dashboard.DashboardLinkType.Dashboards)
        .tags(['concierge-ops'])
        .asDropdown(true)
        .includeVars(true)
        .keepTime(true),
    );
}

export function row(title: string): dashboard.RowBuilder {
  return new dashboard.RowBuilder(title);
}
