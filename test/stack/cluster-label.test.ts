/**
 * Scale-out: in a long-term store (Thanos, Mimir) every series carries the `cluster` external label of the
 * Prometheus that wrote it, and a ruler there evaluates the rules over all clusters at once. Two checks that
 * the rules and dashboards hold:
 *
 * - every promtool test of prometheus/tests runs again with each input series in two clusters (`eu-1`,
 *   `us-1`, the same clients and instances in both) and expects each alert and recorded sample once per
 *   cluster, with its cluster label: a rule that aggregates the label away, or joins on client and instance
 *   alone (many-to-many across clusters), fails;
 * - every dashboard panel and variable query runs against a real Prometheus scraping series of two clusters:
 *   each must answer with series, none may merge two clusters' series of a client into one, and a join
 *   (`on (...)`) must answer for both clusters.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parser } from '@prometheus-io/lezer-promql';
import { parse, stringify } from 'yaml';
import { buildDashboards } from '../../grafana/src/dashboards.ts';
import { queriesOf, substitute, variableSelector, variablesOf } from '../helpers/dashboards.ts';
import { startPrometheus, type Proc } from '../helpers/stack.ts';
import { requireTool } from '../helpers/tools.ts';
import { PROMTOOL_TESTS } from '../helpers/promtool-tests.ts';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '../..');
const TEST_FILES = PROMTOOL_TESTS;
const TESTS = path.join(ROOT, 'prometheus/tests');
const CLUSTERS = ['eu-1', 'us-1'];

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** `name{a="b"}` (or `name`, `{...}`) with `cluster="<c>"` added. */
function withCluster(series: string, cluster: string): string {
  const brace = series.indexOf('{');
  if (brace < 0) return `${series}{cluster="${cluster}"}`;
  const rest = series.slice(brace + 1).trimStart();
  return `${series.slice(0, brace)}{cluster="${cluster}"${rest.startsWith('}') ? '' : ', '}${rest}`;
}

const jobOf = (s: string) => /\bjob="([^"]*)"/.exec(s)?.[1];

/**
 * One promtool test case with its inputs in every cluster. An expectation is made per cluster unless nothing
 * it could come from has a cluster: `vector(1)` (no inputs at all) and `absent()` of a job that no input has.
 */
function inClusters(test: Json): Json {
  const inputs = (test.input_series ?? []) as Json[];
  const jobs = new Set(inputs.map((s) => jobOf(String(s.series))));
  const fromInputs = (job: string | undefined) => inputs.length > 0 && (job === undefined || jobs.has(job));
  return {
    ...test,
    input_series: inputs.flatMap((s) =>
      CLUSTERS.map((c) => ({ ...s, series: withCluster(String(s.series), c) })),
    ),
    alert_rule_test: (test.alert_rule_test ?? []).map((a: Json) => ({
      ...a,
      exp_alerts: (a.exp_alerts ?? []).flatMap((e: Json) =>
        fromInputs(e.exp_labels?.job)
          ? CLUSTERS.map((c) => ({ ...e, exp_labels: { ...e.exp_labels, cluster: c } }))
          : [e],
      ),
    })),
    promql_expr_test: (test.promql_expr_test ?? []).map((p: Json) => ({
      ...p,
      exp_samples: (p.exp_samples ?? []).flatMap((e: Json) =>
        fromInputs(jobOf(String(e.labels)))
          ? CLUSTERS.map((c) => ({ ...e, labels: withCluster(String(e.labels), c) }))
          : [e],
      ),
    })),
  };
}

interface Selector {
  name: string;
  labels: Record<string, string>;
}

/** A label value that satisfies a matcher (`=`, `=~` by its first alternative, `!=`/`!~` by another value). */
function satisfying(op: string, value: string): string {
  if (op === '=') return value;
  if (op === '=~') return value.split('|')[0]!.replace(/[^A-Za-z0-9_:.-]/g, '') || 'x';
  return `not-${value.replace(/[^A-Za-z0-9_]/g, '')}`;
}

/** Every vector selector of an expression, as the labels of a series it would select. */
function selectorsOf(expr: string): Selector[] {
  const out: Selector[] = [];
  const cursor = parser.parse(expr).cursor();
  do {
    if (cursor.name !== 'VectorSelector') continue;
    const node = cursor.node;
    const id = node.getChild('Identifier');
    const labels: Record<string, string> = {};
    const matchers = node.getChild('LabelMatchers');
    for (let m = matchers?.firstChild; m; m = m.nextSibling) {
      const name = m.getChild('LabelName');
      const op = m.getChild('MatchOp');
      const str = m.getChild('StringLiteral');
      if (!name || !op || !str) continue;
      labels[expr.slice(name.from, name.to)] = satisfying(
        expr.slice(op.from, op.to),
        JSON.parse(expr.slice(str.from, str.to)) as string,
      );
    }
    if (id) out.push({ name: expr.slice(id.from, id.to), labels });
  } while (cursor.next());
  return out;
}

/** Exposition text: each selector's series in every cluster, growing by `n` (counters and gauges alike). */
function exposition(selectors: Selector[], n: number, vars: Record<string, string>): string {
  const byName = new Map<string, Set<string>>();
  for (const s of selectors)
    for (const cluster of CLUSTERS) {
      const base: Record<string, string> = { ...vars, ...s.labels, cluster };
      const sets = s.name.endsWith('_bucket') ? ['0.5', '+Inf'].map((le) => ({ ...base, le })) : [base];
      for (const labels of sets) {
        const text = Object.entries(labels)
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([k, v]) => `${k}="${v}"`)
          .join(',');
        const value = labels.le === '+Inf' ? 2 * n : n;
        if (!byName.has(s.name)) byName.set(s.name, new Set());
        byName.get(s.name)!.add(`${s.name}{${text}} ${value}`);
      }
    }
  return [...byName.values()].flatMap((lines) => [...lines]).join('\n') + '\n';
}

describe('rules and dashboards with an external cluster label (long-term store)', function () {
  this.timeout(400_000);

  describe('promtool tests rerun with every series in two clusters', () => {
    let tmp: string;
    before(async () => {
      tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'cluster-rules-'));
    });
    after(async () => {
      if (tmp) await fs.rm(tmp, { recursive: true, force: true });
    });

    for (const file of TEST_FILES) {
      it(`keeps the clusters apart in prometheus/tests/${file}.test.yml`, async () => {
        const doc = parse(await fs.readFile(path.join(TESTS, `${file}.test.yml`), 'utf8')) as Json;
        const copy = {
          ...doc,
          rule_files: (doc.rule_files as string[]).map((f) => path.resolve(TESTS, f)),
          tests: (doc.tests as Json[]).map(inClusters),
        };
        const target = path.join(tmp, `${file}.test.yml`);
        await fs.writeFile(target, stringify(copy, { lineWidth: 0, aliasDuplicateObjects: false }));
        const res = await run(requireTool('promtool'), ['test', 'rules', target], {
          maxBuffer: 16 << 20,
        }).then(
          (r) => ({ code: 0, out: r.stdout + r.stderr }),
          (e: { code: number; stdout: string; stderr: string }) => ({
            code: e.code,
            out: e.stdout + e.stderr,
          }),
        );
        assert.equal(res.code, 0, res.out.slice(0, 4000));
      });
    }

    it('lists every test file of prometheus/tests', async () => {
      const files = (await fs.readdir(TESTS)).filter((f) => f.endsWith('.test.yml')).sort();
      assert.deepEqual(files, TEST_FILES.map((f) => `${f}.test.yml`).sort());
    });
  });

  describe('dashboard queries against series of two clusters', () => {
    const vars = { client: 'acme', instance: 'acme-prod' };
    let prom: Proc;
    let server: http.Server;
    const queries: { where: string; expr: string }[] = [];

    before(async () => {
      for (const [name, d] of Object.entries(buildDashboards())) {
        for (const q of queriesOf(name, d))
          queries.push({ where: `${name} / ${q.panel} / ${q.refId}`, expr: substitute(q.expr, vars) });
        for (const v of variablesOf(d)) {
          const sel = variableSelector(v);
          if (sel) queries.push({ where: `${name} / variable ${v.name}`, expr: substitute(sel, vars) });
        }
      }
      const selectors = queries.flatMap((q) => selectorsOf(q.expr));
      let scrapes = 0;
      server = http.createServer((_req, res) => {
        scrapes += 1;
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
        res.end(exposition(selectors, scrapes, vars));
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const port = (server.address() as AddressInfo).port;
      // honor_labels: the series bring their own job, instance and cluster, as remote-written ones do.
      prom = await startPrometheus(
        stringify({
          global: { scrape_interval: '1s', evaluation_interval: '1s' },
          scrape_configs: [
            {
              job_name: 'clusters',
              honor_labels: true,
              static_configs: [{ targets: [`127.0.0.1:${port}`] }],
            },
          ],
        }),
      );
      // rate() and histogram_quantile() over a 1m window need two samples: wait for a few scrapes.
      const deadline = Date.now() + 30_000;
      while (scrapes < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
      await new Promise((r) => setTimeout(r, 1500));
    });

    after(async () => {
      await prom?.stop();
      server?.close();
    });

    it('answers every panel and variable query with data, keeping the clusters apart', async () => {
      assert.ok(queries.length >= 80, `only ${queries.length} queries`);
      const problems: string[] = [];
      let withData = 0;
      for (const q of queries) {
        const res = await fetch(`${prom.url}/api/v1/query`, {
          method: 'POST',
          body: new URLSearchParams({ query: q.expr }),
        });
        const body = (await res.json()) as { status: string; error?: string; data?: Json };
        if (body.status !== 'success') {
          problems.push(`${q.where}: ${body.error} (${q.expr})`);
          continue;
        }
        const result = body.data!.result as { metric: Record<string, string> }[] | unknown;
        if (!Array.isArray(result)) continue;
        // Each selector's series exist in both clusters, so an empty answer means the query lost them.
        if (result.length > 0) withData += 1;
        else problems.push(`${q.where}: no data (${q.expr})`);
        // A series that names a client but no cluster has added up (or picked one of) two clusters' series.
        for (const s of result as { metric: Record<string, string> }[])
          if ('client' in s.metric && !('cluster' in s.metric))
            problems.push(`${q.where}: merges clusters into ${JSON.stringify(s.metric)} (${q.expr})`);
        if (/\bon\s*\(/.test(q.expr)) {
          const clusters = new Set(
            (result as { metric: Record<string, string> }[]).map((s) => s.metric.cluster),
          );
          if (clusters.size !== CLUSTERS.length)
            problems.push(
              `${q.where}: a join answered for ${[...clusters].join(', ') || 'no'} cluster (${q.expr})`,
            );
        }
      }
      console.log(`      ${queries.length} queries, ${withData} answered with series`);
      assert.deepEqual(problems, []);
    });
  });
});
