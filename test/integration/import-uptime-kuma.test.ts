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

/** What a fixture holds and what importing it must give: each was written by Uptime Kuma itself. */
interface Fixture {
  readonly version: string;
  readonly file: string;
  /** The plan's line for the Capitol instance: watched stretches, hours, down intervals. */
  readonly watched: RegExp;
  /** The single maintenance window on the Lakeview instance, in UTC. */
  readonly maintenance: [string, string];
  /** The down intervals of the Capitol instance: service, start, end. */
  readonly intervals: [string, string, string][];
  readonly firstReason: string;
  /** A stretch inside the watched time holding both outages and the maintenance, and the downtime in it. */
  readonly window: [string, string];
  readonly downtimeSeconds: number;
}

const FIXTURES: Fixture[] = [
  {
    // test/fixtures/uptime-kuma/README.md: target A answered 503 from 03:53:17 to 03:54:17 and refused
    // connections from 03:59:17 to 04:00:17 UTC on 2026-12-07.
    version: '2.5.3',
    file: 'test/fixtures/uptime-kuma/kuma.db',
    watched: /history capitol-eye-care-prod: 1 watched stretch\(es\), 0\.2 h; 4 down interval\(s\)/,
    maintenance: ['2026-12-07T03:56:00.000Z', '2026-12-07T03:58:00.000Z'],
    intervals: [
      ['backend', '2026-12-07T03:53:17.545Z', '2026-12-07T03:54:17.584Z'],
      ['proxy', '2026-12-07T03:53:37.546Z', '2026-12-07T03:54:17.584Z'],
      ['backend', '2026-12-07T03:59:17.797Z', '2026-12-07T04:00:17.825Z'],
      ['proxy', '2026-12-07T03:59:37.802Z', '2026-12-07T04:00:17.825Z'],
    ],
    firstReason: 'Request failed with status code 503',
    window: ['2026-12-07T03:52:00Z', '2026-12-07T04:02:00Z'],
    downtimeSeconds: 120.067, // 60.039 s of 503s and 60.028 s refused; the proxy's fall inside the backend's
  },
  {
    // test/fixtures/uptime-kuma-1.23/README.md: target A answered 503 from 18:24:36 to 18:25:36 and refused
    // connections from 18:29:36 to 18:30:36 UTC on 2026-12-07; Kuma checks every 20 s.
    version: '1.23.17',
    file: 'test/fixtures/uptime-kuma-1.23/kuma.db',
    watched: /history capitol-eye-care-prod: 1 watched stretch\(es\), 0\.2 h; 4 down interval\(s\)/,
    maintenance: ['2026-12-07T18:27:00.000Z', '2026-12-07T18:29:00.000Z'],
    intervals: [
      ['backend', '2026-12-07T18:24:56.476Z', '2026-12-07T18:25:36.863Z'],
      ['proxy', '2026-12-07T18:25:16.874Z', '2026-12-07T18:25:36.919Z'],
      ['backend', '2026-12-07T18:29:37.694Z', '2026-12-07T18:30:38.119Z'],
      ['proxy', '2026-12-07T18:29:58.014Z', '2026-12-07T18:30:38.115Z'],
    ],
    firstReason: 'Request failed with status code 503',
    window: ['2026-12-07T18:23:00Z', '2026-12-07T18:32:00Z'],
    // Either service down counts: 18:24:56.476 to 18:25:36.919 (40.443 s, the proxy came back last) and
    // 18:29:37.694 to 18:30:38.119 (60.425 s).
    downtimeSeconds: 100.868,
  },
];

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

for (const fx of FIXTURES)
  describe(`npm run import:uptime-kuma: history from an Uptime Kuma ${fx.version} database`, () => {
    let cp: TestControlPlane;
    let dir: string;
    let db: string;
    let env: Record<string, string>;

    before(async () => {
      cp = await startControlPlane({ WORKERS: 'off' });
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kuma-'));
      db = path.join(dir, 'kuma.db');
      fs.copyFileSync(path.resolve(fx.file), db);
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
      assert.match(r.stdout, fx.watched);
      assert.ok(
        r.stdout.includes(`maintenance lakeview-clinic-prod: ${fx.maintenance[0]} to ${fx.maintenance[1]}`),
        r.stdout,
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
        '/api/v1/instances/capitol-eye-care-prod/availability?from=2026-12-07T00:00:00Z&to=2026-12-08T00:00:00Z',
      );
      assert.deepEqual(
        list.body.intervals.map((i: { service: string; start: string; end: string; source: string }) => [
          i.service,
          i.start,
          i.end,
          i.source,
        ]),
        fx.intervals.map((i) => [...i, 'history']),
      );
      assert.equal(list.body.intervals[0].reason, fx.firstReason);
      const sla = await cp.call(
        'GET',
        `/api/v1/instances/capitol-eye-care-prod/sla?from=${fx.window[0]}&to=${fx.window[1]}`,
      );
      const seconds = (Date.parse(fx.window[1]) - Date.parse(fx.window[0])) / 1000;
      assert.equal(sla.body.measuredSeconds, seconds);
      assert.equal(sla.body.downtimeSeconds, fx.downtimeSeconds);
      const lakeview = await cp.call(
        'GET',
        `/api/v1/instances/lakeview-clinic-prod/sla?from=${fx.window[0]}&to=${fx.window[1]}`,
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

describe('npm run import:uptime-kuma: an Uptime Kuma 1.23 JSON backup', () => {
  // Settings > Backup > Export of the 1.23 fixture's Kuma (test/fixtures/uptime-kuma-1.23/README.md): monitors
  // and notifications as the server sent them to the frontend, no heartbeats and no maintenance.
  let cp: TestControlPlane;
  let dir: string;
  let file: string;
  let env: Record<string, string>;

  before(async () => {
    cp = await startControlPlane({ WORKERS: 'off' });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kuma-backup-'));
    file = path.join(dir, 'backup.json');
    fs.copyFileSync(path.resolve('test/fixtures/uptime-kuma-1.23/backup.json'), file);
    env = { CONCIERGE_OPS_URL: cp.url, CONCIERGE_OPS_TOKEN: cp.adminToken };
    for (const slug of ['capitol-eye-care', 'lakeview-clinic']) {
      assert.equal((await cp.call('POST', '/api/v1/clients', { body: clientBody(slug) })).status, 201);
      const i = await cp.call('POST', '/api/v1/instances', { body: instanceBody(slug, `${slug}-prod`) });
      assert.equal(i.status, 201, i.text);
    }
  });
  after(async () => {
    await cp.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('drafts the same mapping as the database does, and says it brings no history', async () => {
    const first = await run(env, file);
    assert.equal(first.code, 0, first.stderr);
    const mapping = JSON.parse(fs.readFileSync(`${file}.mapping.json`, 'utf8'));
    assert.deepEqual(Object.keys(mapping.monitors), ['2', '3', '4', '5', '6']);
    assert.deepEqual(mapping.monitors['4'], {
      client: 'lakeview-clinic',
      instance: 'lakeview-clinic-prod',
      service: 'backend',
    });
    mapping.monitors['5'].service = 'proxy';
    mapping.monitors['6'] = null;
    fs.writeFileSync(`${file}.mapping.json`, JSON.stringify(mapping));

    const plan = await run(env, file, '--apply');
    assert.equal(plan.code, 0, plan.stderr + plan.stdout);
    assert.match(
      plan.stdout,
      /responders: Kuma notified "Ops webhook \(loopback\)" \(webhook\) for 6 monitor\(s\)/,
    );
    assert.match(plan.stdout, /no history: this file holds no heartbeats/);
    assert.doesNotMatch(plan.stdout, /history capitol|imported/);
    assert.equal(await cp.count('availability_history_coverage'), 0);
    assert.equal(await cp.count('availability_intervals'), 0);
    assert.equal(await cp.count('maintenance_windows'), 0);
  });
});
