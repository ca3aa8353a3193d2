/**
 * The capacity dashboard's every panel query against a real Prometheus running the project's capacity rules
 * and scraping Debian's real node_exporter (this machine) and postgres_exporter (a test database), labelled
 * per the fleet's label contract: job "node" and "postgres", the client and the concierge instance slug. A
 * query that returns nothing (or only NaN, Grafana's "no value") fails, naming its panel.
 *
 * test/stack/dashboards.test.ts checks the other dashboards against `npm run stack`; this one needs the
 * exporters' series, so it runs them itself.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { stringify } from 'yaml';
import { buildDashboards } from '../../grafana/src/dashboards.ts';
import { waitFor } from '../helpers/alerts.ts';
import { queriesOf, substitute, hasData, type PromResponse } from '../helpers/dashboards.ts';
import { createTestDatabase, dropTestDatabase } from '../helpers/db.ts';
import { startNodeExporter, startPostgresExporter } from '../helpers/exporters.ts';
import { REPO, startPrometheus, type Proc } from '../helpers/stack.ts';

const VARS = { client: 'demo-riverside', instance: 'riverside-prod' };

describe('capacity dashboard against real node_exporter and postgres_exporter', function () {
  this.timeout(120_000);
  let db: string;
  let node: Proc;
  let postgres: Proc;
  let prom: Proc;
  const q = async (expr: string): Promise<PromResponse> =>
    (await (
      await fetch(`${prom.url}/api/v1/query`, { method: 'POST', body: new URLSearchParams({ query: expr }) })
    ).json()) as PromResponse;

  before(async () => {
    db = await createTestDatabase();
    node = await startNodeExporter();
    postgres = await startPostgresExporter(db);
    // The project's rules, with the 7-day trend group evaluated every second rather than every 2 minutes.
    const rules = (await fs.readFile(path.join(REPO, 'prometheus/rules/capacity.yml'), 'utf8')).replace(
      'interval: 2m',
      'interval: 1s',
    );
    const target = (p: Proc, job: string) => ({
      job_name: job,
      static_configs: [{ targets: [new URL(p.url).host], labels: VARS }],
    });
    prom = await startPrometheus(
      stringify({
        global: { scrape_interval: '1s', evaluation_interval: '1s' },
        rule_files: ['capacity.yml'],
        scrape_configs: [target(node, 'node'), target(postgres, 'postgres')],
      }),
      { 'capacity.yml': rules },
    );
  });

  after(async () => {
    await prom?.stop();
    await postgres?.stop();
    await node?.stop();
    if (db) await dropTestDatabase(db);
  });

  it('records every resource of the instance from the real exporters', async () => {
    const resources = await waitFor(
      'usage of cpu, memory, a file system and PostgreSQL connections',
      async () => {
        const r = await q(
          `instance:capacity_used:ratio{client="${VARS.client}", instance="${VARS.instance}"}`,
        );
        const got = new Set(
          ((r.data?.result ?? []) as { metric: { resource: string } }[]).map((s) => s.metric.resource),
        );
        return got.size === 4 ? [...got].sort() : undefined;
      },
      60_000,
    ).catch((err: unknown) => {
      throw new Error(`${String(err)}\npostgres_exporter:\n${postgres.output().slice(-3000)}`);
    });
    assert.deepEqual(resources, ['cpu', 'filesystem', 'memory', 'postgres_connections']);
    const size = await q(`instance:capacity_database_size:bytes{datname="${new URL(db).pathname.slice(1)}"}`);
    assert.ok(hasData(size), JSON.stringify(size));
  });

  it('returns data for every panel query of the capacity dashboard', async () => {
    const queries = queriesOf('capacity', buildDashboards().capacity!);
    assert.ok(queries.length >= 12, `only ${queries.length} queries`);
    const pending = new Map(queries.map((x) => [`${x.panel} / ${x.refId}`, substitute(x.expr, VARS)]));
    const last = new Map<string, string>();
    const deadline = Date.now() + 60_000;
    for (;;) {
      for (const [k, expr] of pending) {
        const r = await q(expr);
        if (hasData(r)) pending.delete(k);
        else last.set(k, r.status === 'success' ? `no data for ${expr}` : `${r.error ?? r.status}`);
      }
      if (pending.size === 0 || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 1000));
    }
    assert.deepEqual(
      [...pending.keys()].map((k) => `${k}: ${last.get(k)}`),
      [],
    );
  });
});
