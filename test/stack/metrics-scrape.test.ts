/**
 * The control plane's /metrics names every client, so it takes a token: a real Prometheus 2.42 scrapes it with
 * the repo's prometheus.yml job (`authorization.credentials_file`) and the token `npm run stack` creates for it.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { waitFor } from '../../exporters/fleet-prober/testing/stand-ins.ts';
import { prometheusConfig } from '../../scripts/stack/configs.ts';
import { createServiceTokens } from '../../scripts/stack/tokens.ts';
import { startControlPlane, type TestControlPlane } from '../helpers/control-plane.ts';
import { query, startPrometheus, type Proc } from '../helpers/stack.ts';

interface Target {
  labels: { job: string };
  health: string;
  lastError: string;
}

describe("Prometheus scrapes the control plane's /metrics with its own token", function () {
  this.timeout(120_000);
  let cp: TestControlPlane;
  let tmp: string;
  const procs: Proc[] = [];

  before(async () => {
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'metrics-scrape-'));
    cp = await startControlPlane({ WORKERS: 'off' });
  });
  after(async () => {
    for (const p of procs) await p.stop();
    await cp.close();
    await fs.rm(tmp, { recursive: true, force: true });
  });

  /** The stack's prometheus.yml with only the control-plane job's target live, scraping every second. */
  async function prometheus(tokenFile: string): Promise<Proc> {
    const host = new URL(cp.url).host;
    const config = await prometheusConfig({
      self: '127.0.0.1:1',
      alertmanagers: ['127.0.0.1:1'],
      controlPlanes: [host],
      probers: ['127.0.0.1:1'],
      backupExporter: '127.0.0.1:1',
      sdUrl: cp.url,
      tokenFile,
      scrapeInterval: '1s',
    });
    const p = await startPrometheus(config);
    procs.push(p);
    return p;
  }

  const controlPlaneTarget = (prom: Proc): Promise<Target> =>
    waitFor<Target | undefined>(
      'the control-plane target scraped',
      async () => {
        const t = (await (await fetch(`${prom.url}/api/v1/targets`)).json()) as {
          data: { activeTargets: Target[] };
        };
        const cpt = t.data.activeTargets.find((x) => x.labels.job === 'control-plane');
        return cpt && cpt.health !== 'unknown' ? cpt : undefined;
      },
      30_000,
    ) as Promise<Target>;

  it('is up with the prometheus-role token the stack creates, and its series reach Prometheus', async () => {
    const dir = path.join(tmp, 'secrets');
    await fs.mkdir(dir);
    const tokens = await createServiceTokens(cp.url, cp.adminToken, dir);
    const list = (await cp.call('GET', '/api/v1/tokens')).body as { name: string; role: string }[];
    assert.equal(list.find((t) => t.name === 'stack-prometheus')!.role, 'prometheus');
    const prom = await prometheus(tokens.prometheus.file);
    const target = await controlPlaneTarget(prom);
    assert.deepEqual([target.health, target.lastError], ['up', '']);
    const armed = await waitFor<Awaited<ReturnType<typeof query>> | undefined>(
      'concierge_ops_deadmans_switch_armed in Prometheus',
      async () => {
        const r = await query(prom, 'concierge_ops_deadmans_switch_armed{job="control-plane"}');
        return r.length === 1 ? r : undefined;
      },
      30_000,
    );
    assert.equal(armed![0]!.value[1], '0');
  });

  it('is down (403) with a token of another role', async () => {
    const file = path.join(tmp, 'prober.token');
    await fs.writeFile(file, await cp.token('prober'), { mode: 0o600 });
    const target = await controlPlaneTarget(await prometheus(file));
    assert.equal(target.health, 'down');
    assert.match(target.lastError, /403/);
  });
});
