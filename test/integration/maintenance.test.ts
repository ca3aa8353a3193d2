import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { freePort } from '@concierge-ops/shared/ports';
import { AlertmanagerClient, SilenceSync } from '../../control-plane/src/maintenance/silences.ts';
import {
  clientBody,
  instanceBody,
  startControlPlane,
  type TestControlPlane,
} from '../helpers/control-plane.ts';
import { requireTool } from '../helpers/tools.ts';

interface Silence {
  id: string;
  status: { state: string };
  matchers: { name: string; value: string }[];
  endsAt: string;
}

/** A real Alertmanager on a loopback port, with its own storage and no cluster. */
async function startAlertmanager(): Promise<{ url: string; stop: () => Promise<void> }> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'am-test-'));
  const cfg = path.join(dir, 'alertmanager.yml');
  await fs.writeFile(cfg, "route:\n  receiver: 'null'\nreceivers:\n  - name: 'null'\n");
  const port = await freePort();
  const proc: ChildProcess = spawn(
    requireTool('prometheus-alertmanager'),
    [
      `--config.file=${cfg}`,
      `--storage.path=${dir}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--cluster.listen-address=',
    ],
    { stdio: 'ignore' },
  );
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${url}/-/ready`)).ok) break;
    } catch {
      // not up yet
    }
    if (i > 100) throw new Error('alertmanager did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    async stop() {
      proc.kill('SIGTERM');
      await new Promise((r) => proc.once('exit', r));
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
}

describe('maintenance windows and their Alertmanager silences', () => {
  let cp: TestControlPlane;
  let am: { url: string; stop: () => Promise<void> };
  let alphaToken: string;
  const silences = async (): Promise<Silence[]> =>
    (await fetch(`${am.url}/api/v2/silences`)).json() as Promise<Silence[]>;
  const sync = () => cp.ctx.silences!.reconcile();
  const soon = (min: number) => new Date(Date.now() + min * 60_000).toISOString();

  before(async () => {
    am = await startAlertmanager();
    cp = await startControlPlane({ ALERTMANAGER_URL: am.url });
    for (const slug of ['alpha', 'beta']) {
      await cp.call('POST', '/api/v1/clients', { body: clientBody(slug) });
      await cp.call('POST', '/api/v1/instances', { body: instanceBody(slug, `${slug}-prod`) });
    }
    alphaToken = await cp.token('client', 'alpha');
  });
  after(async () => {
    await cp?.close();
    await am?.stop();
  });

  it('refuses bad windows with 400 naming the field, and changes nothing', async () => {
    const before = [await cp.count('maintenance_windows'), await cp.count('audit_log')];
    const cases: [object, string][] = [
      [{ client: 'alpha', instance: 'alpha-prod', start: soon(0), end: soon(5), reason: 'x' }, '/client'],
      [{ start: soon(0), end: soon(5), reason: 'x' }, '/client'],
      [{ client: 'alpha', start: soon(0), reason: 'x' }, '/end'],
      [{ client: 'alpha', start: soon(5), end: soon(0), reason: 'x' }, '/end'],
      [{ client: 'nope', start: soon(0), end: soon(5), reason: 'x' }, '/client'],
      [{ instance: 'nope', start: soon(0), end: soon(5), reason: 'x' }, '/instance'],
      [{ client: 'alpha', start: 'now', end: soon(5), reason: 'x' }, '/start'],
      [
        {
          client: 'alpha',
          start: soon(0),
          reason: 'x',
          recurrence: { freq: 'weekly', byDay: ['XX'], startTime: '02:00', durationMinutes: 60 },
        },
        '/recurrence/byDay/0',
      ],
      [
        {
          client: 'alpha',
          start: soon(0),
          reason: 'x',
          recurrence: { freq: 'monthly', nth: 2, weekday: 'TU', startTime: '25:00', durationMinutes: 60 },
        },
        '/recurrence/startTime',
      ],
    ];
    for (const [body, field] of cases) {
      const r = await cp.call('POST', '/api/v1/maintenance-windows', { body });
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.equal(r.body.errors[0].field, field, JSON.stringify(body));
    }
    assert.deepEqual([await cp.count('maintenance_windows'), await cp.count('audit_log')], before);
    const forbidden = await cp.call('POST', '/api/v1/maintenance-windows', {
      token: alphaToken,
      body: { client: 'alpha', start: soon(0), end: soon(5), reason: 'x' },
    });
    assert.equal(forbidden.status, 403);
  });

  it('silences an active client window in Alertmanager, once, and survives a restart of the sync', async () => {
    const w = await cp.call('POST', '/api/v1/maintenance-windows', {
      body: { client: 'alpha', start: soon(-10), end: soon(60), reason: 'database upgrade' },
    });
    assert.equal(w.status, 201, w.text);
    // A weekly window that is not active now gets no silence.
    const later = await cp.call('POST', '/api/v1/maintenance-windows', {
      body: {
        instance: 'beta-prod',
        start: soon(-60 * 24 * 30),
        reason: 'weekly patching',
        recurrence: { freq: 'weekly', byDay: ['SU'], startTime: '02:00', durationMinutes: 1 },
      },
    });
    assert.equal(later.status, 201, later.text);
    assert.deepEqual(await sync(), { created: 1, expired: 0, same: 1 });
    const active = (await silences()).filter((s) => s.status.state === 'active');
    assert.equal(active.length, 1);
    assert.deepEqual(
      active[0]!.matchers.map((m) => `${m.name}=${m.value}`),
      ['client=alpha'],
    );
    assert.equal(new Date(active[0]!.endsAt).getTime(), new Date(w.body.end).getTime());
    const row = await cp.db.query('select alertmanager_silence_id from maintenance_windows where id = $1', [
      w.body.id,
    ]);
    assert.equal(row.rows[0].alertmanager_silence_id, active[0]!.id);

    // Another sync, and a fresh one as after a restart, derive the same state from the database.
    assert.deepEqual(await sync(), { created: 0, expired: 0, same: 2 });
    const fresh = new SilenceSync(cp.ctx.pool, new AlertmanagerClient(am.url), 30, pino({ level: 'silent' }));
    assert.equal((await fresh.reconcile()).created, 0);
    assert.equal((await silences()).filter((s) => s.status.state === 'active').length, 1);
  });

  it('matches the instance too for an instance window, and expires the silence when the window is deleted', async () => {
    const w = await cp.call('POST', '/api/v1/maintenance-windows', {
      body: { instance: 'beta-prod', start: soon(-1), end: soon(30), reason: 'proxy swap' },
    });
    await sync();
    const s = (await silences()).find(
      (x) => x.status.state === 'active' && x.matchers.some((m) => m.value === 'beta'),
    );
    assert.deepEqual(s!.matchers.map((m) => `${m.name}=${m.value}`).sort(), [
      'client=beta',
      'instance=beta-prod',
    ]);

    const del = await cp.call('DELETE', `/api/v1/maintenance-windows/${w.body.id}`);
    assert.equal(del.status, 204, del.text);
    const audit = await cp.call('GET', `/api/v1/audit?targetType=maintenance_window&targetId=${w.body.id}`);
    assert.deepEqual(
      audit.body.map((a: { action: string }) => a.action),
      ['maintenance.delete', 'maintenance.create'],
    );
    assert.equal((await sync()).expired, 1);
    assert.equal((await silences()).find((x) => x.id === s!.id)!.status.state, 'expired');
    assert.equal((await cp.call('DELETE', `/api/v1/maintenance-windows/${w.body.id}`)).status, 404);
    assert.equal((await cp.call('DELETE', '/api/v1/maintenance-windows/not-a-uuid')).status, 404);
  });

  it('expires the silence once the occurrence is over', async () => {
    const counts = await cp.ctx.silences!.reconcile(new Date(Date.now() + 2 * 3600_000));
    assert.equal(counts.expired, 1);
    const { rows } = await cp.db.query(
      'select count(*)::int as n from maintenance_windows where alertmanager_silence_id is not null',
    );
    assert.equal(rows[0].n, 0);
  });

  it("lists windows with their occurrences; a client token sees only its own client's", async () => {
    const all = await cp.call('GET', '/api/v1/maintenance-windows');
    assert.equal(all.status, 200);
    assert.equal(all.body.length, 2);
    const weekly = all.body.find((w: { reason: string }) => w.reason === 'weekly patching');
    assert.ok(weekly.occurrences.length >= 4);
    assert.equal(weekly.timeZone, 'America/New_York');
    const own = await cp.call('GET', '/api/v1/maintenance-windows', { token: alphaToken });
    assert.deepEqual(
      own.body.map((w: { client: { slug: string } }) => w.client.slug),
      ['alpha'],
    );
    assert.equal(
      (await cp.call('GET', '/api/v1/maintenance-windows?client=beta', { token: alphaToken })).status,
      404,
    );
    const bad = await cp.call('GET', '/api/v1/maintenance-windows?from=soon');
    assert.equal(bad.status, 400);
    assert.equal(bad.body.errors[0].field, '/from');
  });
});
