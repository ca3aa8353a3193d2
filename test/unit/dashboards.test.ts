import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { parse as parseYaml } from 'yaml';
import { buildDashboards, serialize } from '../../grafana/src/dashboards.ts';
import {
  metricNames,
  parseErrors,
  queriesOf,
  substitute,
  variableSelector,
  variablesOf,
} from '../helpers/dashboards.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const DASHBOARD_DIR = join(ROOT, 'grafana', 'dashboards');
const SCHEMA = '/work/shared/contracts/grafana-dashboard.jsonschema.json';
const VARS = { client: 'acme', instance: 'acme-prod' };

/**
 * Series that Prometheus and Alertmanager expose about themselves: no file in this repo registers them. The
 * Prometheus ones are queried against a real Prometheus in test/stack/dashboards.test.ts.
 */
const SELF_METRICS = new Set([
  'up',
  'scrape_duration_seconds',
  'ALERTS',
  'prometheus_rule_evaluation_failures_total',
  'prometheus_rule_group_last_duration_seconds',
  'prometheus_notifications_sent_total',
  'prometheus_notifications_errors_total',
  'prometheus_notifications_dropped_total',
  'alertmanager_notifications_total',
  'alertmanager_notifications_failed_total',
]);

function filesUnder(dir: string, ext: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith(ext))
    .map((e) => join(e.parentPath, e.name));
}

/**
 * Every metric name the project knows: recorded by a rule or read by one (the concierge runtime's contract
 * lives in the rules and their promtool tests), listed in an exporter README's metric table, or registered
 * in source (`name: 'x'` for prom-client, `perGroup('x', ...)` style helpers).
 */
function knownMetrics(): Set<string> {
  const known = new Set(SELF_METRICS);
  for (const file of filesUnder(join(ROOT, 'prometheus', 'rules'), '.yml')) {
    const doc = parseYaml(readFileSync(file, 'utf8')) as {
      groups: { rules: { record?: string; expr: string }[] }[];
    };
    for (const rule of doc.groups.flatMap((g) => g.rules)) {
      if (rule.record) known.add(rule.record);
      for (const m of metricNames(String(rule.expr))) known.add(m);
    }
  }
  const exporters = join(ROOT, 'exporters');
  for (const name of readdirSync(exporters)) {
    try {
      const readme = readFileSync(join(exporters, name, 'README.md'), 'utf8');
      for (const m of readme.matchAll(/^\|\s*`([a-zA-Z_:][a-zA-Z0-9_:]*)`\s*\|/gm)) known.add(m[1]!);
    } catch {
      // An exporter without a README documents its metrics in source only.
    }
  }
  // Every TypeScript file under control-plane/src and exporters/ (shared code and src/ folders alike).
  const sources = [join(ROOT, 'control-plane', 'src'), exporters];
  for (const dir of sources) {
    for (const file of filesUnder(dir, '.ts')) {
      for (const m of readFileSync(file, 'utf8').matchAll(
        /(?:name:\s*|\(\s*)'([a-z_][a-z0-9_]*_[a-z0-9_]+)'/g,
      ))
        known.add(m[1]!);
    }
  }
  return known;
}

function isKnown(known: Set<string>, metric: string): boolean {
  if (known.has(metric)) return true;
  const base = metric.replace(/_(bucket|sum|count)$/, '');
  return base !== metric && known.has(base);
}

describe('grafana dashboards', () => {
  const built = buildDashboards();
  const names = Object.keys(built);
  const committed = readdirSync(DASHBOARD_DIR).filter((f) => f.endsWith('.json'));

  it('commits exactly what the generator produces now (run `npm run dashboards` after a change)', () => {
    for (const name of names) {
      const file = `${name}.json`;
      assert.ok(committed.includes(file), `grafana/dashboards/${file} is missing: run npm run dashboards`);
      const onDisk = readFileSync(join(DASHBOARD_DIR, file), 'utf8');
      assert.ok(
        onDisk === serialize(built[name]!),
        `grafana/dashboards/${file} is stale: run npm run dashboards`,
      );
    }
    const extra = committed.filter((f) => !names.includes(f.replace(/\.json$/, '')));
    assert.deepEqual(
      extra,
      [],
      `grafana/dashboards/ holds files the generator does not produce: ${extra.join(', ')}`,
    );
  });

  it('gives every dashboard a unique uid and every panel a unique id', () => {
    const uids = names.map((n) => built[n]!.uid);
    assert.equal(new Set(uids).size, uids.length);
    for (const name of names) {
      const ids = (built[name]!.panels ?? []).map((p) => p.id);
      assert.equal(new Set(ids).size, ids.length, `${name}: duplicate panel ids`);
    }
  });

  it("validates every committed dashboard against Grafana's dashboard schema", () => {
    const schema = JSON.parse(readFileSync(SCHEMA, 'utf8')) as object;
    // strict: false because the published schema uses keywords ajv's strict mode rejects (e.g. unknown formats).
    const ajv = new Ajv({ strict: false, allErrors: true });
    addFormats.default(ajv);
    const validate = ajv.compile(schema);
    for (const file of committed) {
      const d = JSON.parse(readFileSync(join(DASHBOARD_DIR, file), 'utf8')) as unknown;
      const ok = validate(d);
      assert.ok(ok, `${file}: ${JSON.stringify(validate.errors?.slice(0, 5), null, 2)}`);
    }
  });

  it('parses every panel and variable query as PromQL once Grafana has substituted its variables', () => {
    const failures: string[] = [];
    for (const name of names) {
      for (const q of queriesOf(name, built[name]!)) {
        const errors = parseErrors(substitute(q.expr, VARS));
        if (errors.length) failures.push(`${q.dashboard} / ${q.panel} / ${q.refId}: ${errors.join('; ')}`);
      }
      for (const v of variablesOf(built[name]!)) {
        const sel = variableSelector(v);
        if (v.type !== 'query') continue;
        if (!sel) failures.push(`${name} / variable ${v.name}: not a label_values(selector, label) query`);
        else {
          const errors = parseErrors(substitute(sel, VARS));
          if (errors.length) failures.push(`${name} / variable ${v.name}: ${errors.join('; ')}`);
        }
      }
      for (const a of built[name]!.annotations?.list ?? []) {
        if (!a.expr) continue;
        const errors = parseErrors(substitute(a.expr, VARS));
        if (errors.length) failures.push(`${name} / annotation ${a.name}: ${errors.join('; ')}`);
      }
    }
    assert.deepEqual(failures, []);
  });

  it('catches a broken expression and names the dashboard and panel (self-check of the parser use)', () => {
    assert.notDeepEqual(parseErrors('sum(rate(probe_success[1m])'), []);
    assert.notDeepEqual(parseErrors('probe_success{client="$client"}'), []);
    assert.deepEqual(parseErrors(substitute('rate(x{client="$client"}[$__rate_interval])', VARS)), []);
  });

  it('points every panel, variable and annotation at a provisioned data source uid', () => {
    const provisioning = parseYaml(
      readFileSync(join(ROOT, 'grafana', 'provisioning', 'datasources', 'datasources.yml'), 'utf8'),
    ) as { datasources: { uid: string }[] };
    const uids = new Set(provisioning.datasources.map((d) => d.uid));
    assert.deepEqual([...uids].sort(), ['alertmanager', 'prometheus']);
    const failures: string[] = [];
    for (const name of names) {
      for (const q of queriesOf(name, built[name]!)) {
        if (!q.datasourceUid || !uids.has(q.datasourceUid))
          failures.push(`${q.dashboard} / ${q.panel}: data source uid ${String(q.datasourceUid)}`);
      }
      for (const v of variablesOf(built[name]!)) {
        const uid = v.datasource?.uid;
        if (v.type === 'query' && (!uid || !uids.has(uid)))
          failures.push(`${name} / variable ${v.name}: ${uid}`);
      }
      for (const a of built[name]!.annotations?.list ?? []) {
        const uid = a.datasource?.uid;
        if (a.builtIn !== 1 && (!uid || !uids.has(uid)))
          failures.push(`${name} / annotation ${a.name}: ${uid}`);
      }
    }
    assert.deepEqual(failures, []);
  });

  it('uses only metric names that something in the project exposes or records', () => {
    const known = knownMetrics();
    const failures: string[] = [];
    for (const name of names) {
      for (const q of queriesOf(name, built[name]!)) {
        for (const m of metricNames(substitute(q.expr, VARS)))
          if (!isKnown(known, m)) failures.push(`${q.dashboard} / ${q.panel}: unknown metric ${m}`);
      }
      for (const v of variablesOf(built[name]!)) {
        const sel = variableSelector(v);
        for (const m of sel ? metricNames(substitute(sel, VARS)) : [])
          if (!isKnown(known, m)) failures.push(`${name} / variable ${v.name}: unknown metric ${m}`);
      }
    }
    assert.deepEqual(failures, []);
    // The check must be able to fail: a made-up name is not known.
    assert.equal(isKnown(known, 'concierge_made_up_total'), false);
  });
});
