// Every metric the host and PostgreSQL rules and their runbooks name is one the real exporters export:
// Debian's node_exporter and postgres_exporter, started here, postgres_exporter against the test PostgreSQL.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { freePort } from '@concierge-ops/shared/ports';
import { adminUrl } from '../helpers/db.ts';
import { metricNames } from '../helpers/dashboards.ts';
import { runbookQueries } from '../helpers/runbooks.ts';
import { waitFor } from '../helpers/alerts.ts';
import { requireTool } from '../helpers/tools.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const load = (createRequire(import.meta.url)('js-yaml') as { load: (src: string) => unknown }).load;

/** Exported by postgres_exporter only on a primary with a standby connected (pg_stat_replication has rows). */
const ONLY_WITH_STANDBY = new Set(['pg_stat_replication_pg_wal_lsn_diff']);

interface RuleFile {
  groups: { rules: { alert?: string; expr: string }[] }[];
}

/** Metric names each rule file's expressions and its alerts' runbooks name, with where they are named. */
function namedMetrics(file: string): Map<string, string> {
  const rules = load(fs.readFileSync(path.join(ROOT, 'prometheus/rules', file), 'utf8')) as RuleFile;
  const out = new Map<string, string>();
  const alerts = new Set<string>();
  for (const g of rules.groups)
    for (const r of g.rules) {
      if (r.alert) alerts.add(r.alert);
      for (const m of metricNames(r.expr)) out.set(m, `${file} ${r.alert}`);
    }
  for (const q of runbookQueries())
    if (alerts.has(q.file.replace(/\.md$/, '')))
      for (const m of metricNames(q.expr)) if (!out.has(m)) out.set(m, `docs/runbooks/${q.file}`);
  return out;
}

/** Metric names in a Prometheus text exposition. */
async function scrapeNames(url: string): Promise<Set<string>> {
  const text = await (await fetch(url)).text();
  const names = new Set<string>();
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]/.exec(line);
    if (m) names.add(m[1]!);
  }
  return names;
}

describe('host and PostgreSQL rules name only metrics the real exporters export', function () {
  this.timeout(60_000);
  const children: ChildProcess[] = [];
  let nodeUrl = '';
  let pgUrl = '';

  before(async () => {
    const nodePort = await freePort();
    const pgPort = await freePort();
    children.push(
      spawn(requireTool('prometheus-node-exporter'), [`--web.listen-address=127.0.0.1:${nodePort}`], {
        stdio: 'ignore',
      }),
    );
    const dsn = new URL(adminUrl());
    dsn.searchParams.set('sslmode', 'disable');
    children.push(
      spawn(requireTool('prometheus-postgres-exporter'), [`--web.listen-address=127.0.0.1:${pgPort}`], {
        stdio: 'ignore',
        env: { ...process.env, DATA_SOURCE_NAME: dsn.toString() },
      }),
    );
    nodeUrl = `http://127.0.0.1:${nodePort}/metrics`;
    pgUrl = `http://127.0.0.1:${pgPort}/metrics`;
    await waitFor('node_exporter answering', () => scrapeNames(nodeUrl).catch(() => undefined));
    await waitFor('postgres_exporter connected', async () => {
      const text = await fetch(pgUrl).then(
        (r) => r.text(),
        () => '',
      );
      return /^pg_up 1$/m.test(text) ? true : undefined;
    });
  });

  after(() => {
    for (const c of children) c.kill();
  });

  it('finds every metric of prometheus/rules/hosts.yml and its runbooks in node_exporter', async () => {
    const exported = await scrapeNames(nodeUrl);
    const named = namedMetrics('hosts.yml');
    assert.ok(named.size >= 6, `only ${named.size} metrics named`);
    const missing = [...named].filter(([m]) => m !== 'up' && !exported.has(m)).map(([m, w]) => `${m} (${w})`);
    assert.deepEqual(missing, []);
  });

  it('finds every metric of prometheus/rules/postgres.yml and its runbooks in postgres_exporter', async () => {
    const exported = await scrapeNames(pgUrl);
    const named = namedMetrics('postgres.yml');
    assert.ok(named.size >= 8, `only ${named.size} metrics named`);
    // A runbook may look at the host too (node_exporter), and at Prometheus' own `up`.
    const nodeExported = await scrapeNames(nodeUrl);
    const missing = [...named]
      .filter(([m]) => m !== 'up' && !ONLY_WITH_STANDBY.has(m) && !exported.has(m) && !nodeExported.has(m))
      .map(([m, w]) => `${m} (${w})`);
    assert.deepEqual(missing, []);
  });
});
