import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  clientBody,
  instanceBody,
  startControlPlane,
  type TestControlPlane,
} from '../helpers/control-plane.ts';

// A database Uptime Kuma 2.5.3 wrote itself (test/fixtures/uptime-kuma/README.md): target A answered 503 from
// 03:53:17 to 03:54:17 and refused connections from 03:59:17 to 04:00:17 UTC on 2026-12-07.
const FIXTURE = path.resolve('test/fixtures/uptime-kuma/kuma.db');

function run(env: Record<string, string>, ...args: string[]) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      ['--conditions=concierge-source', '--import', 'tsx', 'scripts/import-uptime-kuma.ts', ...args],
      { env: { PATH: process.env.PATH!, ...env }, timeout: 120_000 },
      (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('npm run import:uptime-kuma: history from an Uptime Kuma 2.x database', () => {
  let cp: TestControlPlane;
  let dir: string;
  let db: string;
  let env: Record<string, string>;

  before(async () => {
    cp = await startControlPlane({ WORKERS: 'off' });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kuma-'));
    db = path.join(dir, 'kuma.db');
    fs.copyFileSync(FIXTURE, db);
    env = { CONCIERGE_OPS_URL: cp.url, CONCIERGE_OPS_TOKEN: cp.adminToken };
    for (const slug of ['capitol-eye-care', 'lakeview-clinic']) {
      const c = await cp.call('POST', '/api/v1/clients', { body: clientBody(slug, { timeZone: 'UTC' }) });
      assert.equal(c.status, 201, c.text);
      const i = await cp.call('POST', '/api/v1/instances', { body: instanceBody(slug, `${slug}-prod`) });
      assert.equal(i.status, 201, i.text);
    }
  });
  after(async () => {
    await cp.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a first run writes a draft mapping of the HTTP, keyword and TCP monitors and changes nothing', async () => {
    const r = await run(env, db);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /wrote a draft mapping/);
    const mapping = JSON.parse(fs.readFileSync(`${db}.mapping.json`, 'utf8'));
    assert.deepEqual(
      Object.keys(mapping.monitors),
      ['2', '3', '4', '5', '6'],
      'the group monitor is left out',
    );
    assert.deepEqual(mapping.monitors['2'], {
      client: 'capitol-eye-care',
      instance: 'capitol-eye-care-prod',
      service: 'backend',
    });
    assert.equal(mapping.monitors['3'].service, 'proxy');
    // The operator edits it: the keyword monitor watches lakeview's proxy, the TCP check is left out.
    mapping.monitors['5'].service = 'proxy';
    mapping.monitors['6'] = null;
    fs.writeFileSync(`${db}.mapping.json`, JSON.stringify(mapping));
    assert.equal(await cp.count('availability_history_coverage'), 0);
  });

  it('shows the plan and writes nothing without --apply', async () => {
    const r = await run(env, db);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /history capitol-eye-care-prod: 1 watched stretch\(es\), 0\.2 h; 4 down interval\(s\)/,
    );
    assert.match(
      r.stdout,
      /maintenance lakeview-clinic-prod: 2026-12-07T03:56:00\.000Z to 2026-12-07T03:58:00\.000Z/,
    );
    assert.match(r.stdout, /by hand: "Capitol Eye Care weekly patch window" \(recurring-weekday\)/);
    assert.match(
      r.stdout,
      /responders: Kuma notified "Ops webhook \(loopback\)" \(webhook\) for 6 monitor\(s\)/,
    );
    assert.match(r.stdout, /left out: monitor 6 /);
    assert.match(r.stdout, /Nothing was written/);
    assert.equal(await cp.count('availability_history_coverage'), 0);
    assert.equal(await cp.count('maintenance_windows'), 0);
  });

  it('--apply imports the outages Kuma saw as history, and the maintenance window', async () => {
    const r = await run(env, db, '--apply');
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const list = await cp.call(
      'GET',
      '/api/v1/instances/capitol-eye-care-prod/availability?from=2026-12-07T03:00:00Z&to=2026-12-07T05:00:00Z',
    );
    assert.deepEqual(
      list.body.intervals.map((i: { service: string; start: string; end: string; source: string }) => [
        i.service,
        i.start,
        i.end,
        i.source,
      ]),
      [
        ['backend', '2026-12-07T03:53:17.545Z', '2026-12-07T03:54:17.584Z', 'history'],
        ['proxy', '2026-12-07T03:53:37.546Z', '2026-12-07T03:54:17.584Z', 'history'],
        ['backend', '2026-12-07T03:59:17.797Z', '2026-12-07T04:00:17.825Z', 'history'],
        ['proxy', '2026-12-07T03:59:37.802Z', '2026-12-07T04:00:17.825Z', 'history'],
      ],
    );
    assert.equal(list.body.intervals[0].reason, 'Request failed with status code 503');
    const sla = await cp.call(
      'GET',
      '/api/v1/instances/capitol-eye-care-prod/sla?from=2026-12-07T03:52:00Z&to=2026-12-07T04:02:00Z',
    );
    assert.equal(sla.body.measuredSeconds, 600);
    assert.equal(sla.body.downtimeSeconds, 120.067); // 60.039 s of 503s and 60.028 s refused
    const lakeview = await cp.call(
      'GET',
      '/api/v1/instances/lakeview-clinic-prod/sla?from=2026-12-07T03:52:00Z&to=2026-12-07T04:02:00Z',
    );
    assert.equal(lakeview.body.downtimeSeconds, 0);
    assert.equal(lakeview.body.maintenanceSeconds, 120);
  });

  it('a second --apply changes nothing', async () => {
    const before = [
      await cp.count('availability_intervals'),
      await cp.count('availability_history_coverage'),
      await cp.count('maintenance_windows'),
    ];
    const r = await run(env, db, '--apply');
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /imported capitol-eye-care-prod: nothing new/);
    assert.deepEqual(
      [
        await cp.count('availability_intervals'),
        await cp.count('availability_history_coverage'),
        await cp.count('maintenance_windows'),
      ],
      before,
    );
  });
});
