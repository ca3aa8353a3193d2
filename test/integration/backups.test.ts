import assert from 'node:assert/strict';
import { DateTime } from 'luxon';
import {
  clientBody,
  instanceBody,
  startControlPlane,
  type TestControlPlane,
} from '../helpers/control-plane.ts';

const run = (extra: Record<string, unknown> = {}) => ({
  runId: 'nightly-2026-11-24',
  instance: 'alpha-prod',
  tool: 'pg_dump',
  kind: 'full',
  startedAt: '2026-11-24T02:00:00Z',
  finishedAt: '2026-11-24T02:03:10Z',
  status: 'success',
  sizeBytes: 123456,
  checksum: 'sha256:' + 'ab'.repeat(32),
  location: 's3://backups/alpha-prod/2026-11-24.dump',
  verified: true,
  ...extra,
});

const test = (extra: Record<string, unknown> = {}) => ({
  testId: 'restore-2026-11-24',
  instance: 'alpha-prod',
  backupRunId: 'nightly-2026-11-24',
  startedAt: '2026-11-24T03:00:00Z',
  finishedAt: '2026-11-24T03:01:00Z',
  success: true,
  durationSeconds: 60,
  detail: 'restored 3 tables',
  ...extra,
});

describe('backups API', () => {
  let cp: TestControlPlane;
  const t: Record<string, string> = {};
  const rows = async () => [await cp.count('backup_runs'), await cp.count('backup_restore_tests')];

  before(async () => {
    cp = await startControlPlane();
    for (const slug of ['alpha', 'beta']) {
      await cp.call('POST', '/api/v1/clients', { body: clientBody(slug) });
      await cp.call('POST', '/api/v1/instances', { body: instanceBody(slug, `${slug}-prod`) });
    }
    t.agent = await cp.token('backup-agent');
    t.agentAlpha = await cp.token('backup-agent', 'alpha');
    t.clientAlpha = await cp.token('client', 'alpha');
    t.clientBeta = await cp.token('client', 'beta');
    t.operator = await cp.token('operator');
  });
  after(() => cp.close());

  it('records a run (201), takes the same report again as a no-op (200), refuses another body (409)', async () => {
    const first = await cp.call('POST', '/api/v1/backups/runs', { token: t.agent, body: run() });
    assert.equal(first.status, 201, first.text);
    assert.equal(first.body.runId, 'nightly-2026-11-24');
    assert.equal(first.body.durationSeconds, 190);
    const again = await cp.call('POST', '/api/v1/backups/runs', { token: t.agent, body: run() });
    assert.equal(again.status, 200);
    assert.deepEqual(again.body, first.body);
    const before = await rows();
    const other = await cp.call('POST', '/api/v1/backups/runs', {
      token: t.agent,
      body: run({ sizeBytes: 1 }),
    });
    assert.equal(other.status, 409);
    assert.deepEqual(await rows(), before);
    const history = await cp.call('GET', '/api/v1/instances/alpha-prod/backups', { token: t.clientAlpha });
    assert.equal(history.body.runs.length, 1);
    assert.equal(history.body.runs[0].sizeBytes, 123456);
  });

  it('records a restore test the same way: 201, 200 on a repeat, 409 on a different body', async () => {
    assert.equal(
      (await cp.call('POST', '/api/v1/backups/restore-tests', { token: t.agent, body: test() })).status,
      201,
    );
    assert.equal(
      (await cp.call('POST', '/api/v1/backups/restore-tests', { token: t.agent, body: test() })).status,
      200,
    );
    const other = await cp.call('POST', '/api/v1/backups/restore-tests', {
      token: t.agent,
      body: test({ success: false }),
    });
    assert.equal(other.status, 409);
    const history = await cp.call('GET', '/api/v1/instances/alpha-prod/backups', { token: t.operator });
    assert.deepEqual(
      history.body.restoreTests.map((x: { testId: string; success: boolean }) => [x.testId, x.success]),
      [['restore-2026-11-24', true]],
    );
  });

  it('answers 400 naming the field to every bad report, and changes nothing', async () => {
    const cases: [string, object, string][] = [
      ['/api/v1/backups/runs', run({ runId: undefined }), '/runId'],
      ['/api/v1/backups/runs', run({ runId: 'x', tool: 'tar' }), '/tool'],
      ['/api/v1/backups/runs', run({ runId: 'x', kind: 'differential' }), '/kind'],
      ['/api/v1/backups/runs', run({ runId: 'x', startedAt: 'yesterday' }), '/startedAt'],
      ['/api/v1/backups/runs', run({ runId: 'x', finishedAt: '2026-11-24T01:00:00Z' }), '/finishedAt'],
      ['/api/v1/backups/runs', run({ runId: 'x', finishedAt: undefined }), '/finishedAt'],
      ['/api/v1/backups/runs', run({ runId: 'x', status: 'failed' }), '/error'],
      ['/api/v1/backups/runs', run({ runId: 'x', status: 'running' }), '/finishedAt'],
      ['/api/v1/backups/runs', run({ runId: 'x', sizeBytes: -1 }), '/sizeBytes'],
      ['/api/v1/backups/runs', run({ runId: 'x', checksum: 'md5' }), '/checksum'],
      ['/api/v1/backups/runs', run({ runId: 'x', patient: 'Jane' }), '/patient'],
      ['/api/v1/backups/runs', run({ runId: 'x', walStart: '2026-11-24T00:00:00Z' }), '/walStart'],
      ['/api/v1/backups/runs', run({ runId: 'x', kind: 'wal', walStart: undefined }), '/walStart'],
      ['/api/v1/backups/runs', run({ runId: 'bad id with spaces' }), '/runId'],
      ['/api/v1/backups/restore-tests', test({ testId: 'y', success: 'yes' }), '/success'],
      ['/api/v1/backups/restore-tests', test({ testId: 'y', finishedAt: undefined }), '/finishedAt'],
      [
        '/api/v1/backups/restore-tests',
        test({ testId: 'y', finishedAt: '2026-11-24T02:00:00Z' }),
        '/finishedAt',
      ],
      ['/api/v1/backups/restore-tests', test({ testId: 'y', durationSeconds: -5 }), '/durationSeconds'],
      ['/api/v1/clients/alpha/backups/policy', { keepDaily: -1 }, '/keepDaily'],
      ['/api/v1/clients/alpha/backups/policy', { keepHourly: 24 }, '/keepHourly'],
    ];
    const before = [...(await rows()), await cp.count('backup_policies'), await cp.count('audit_log')];
    for (const [path, body, field] of cases) {
      const method = path.endsWith('policy') ? 'PATCH' : 'POST';
      const res = await cp.call(method, path, { token: method === 'PATCH' ? undefined : t.agent, body });
      assert.equal(res.status, 400, `${path} ${JSON.stringify(body)}: ${res.text}`);
      assert.ok(
        res.body.errors.some((e: { field: string }) => e.field === field),
        `${field} not named: ${res.text}`,
      );
    }
    const bad = await cp.call('POST', '/api/v1/backups/runs', { token: t.agent, raw: '{"runId":' });
    assert.equal(bad.status, 400);
    assert.deepEqual(
      [...(await rows()), await cp.count('backup_policies'), await cp.count('audit_log')],
      before,
    );
  });

  it("keeps every token to its own client: 404 for another client's instance, 403 for the wrong role", async () => {
    const before = await rows();
    const foreign = await cp.call('POST', '/api/v1/backups/runs', {
      token: t.agentAlpha,
      body: run({ runId: 'n1', instance: 'beta-prod' }),
    });
    assert.equal(foreign.status, 404);
    const foreignTest = await cp.call('POST', '/api/v1/backups/restore-tests', {
      token: t.agentAlpha,
      body: test({ testId: 'n1', instance: 'beta-prod' }),
    });
    assert.equal(foreignTest.status, 404);
    const unknown = await cp.call('POST', '/api/v1/backups/runs', {
      token: t.agent,
      body: run({ runId: 'n1', instance: 'nope' }),
    });
    assert.equal(unknown.status, 404);
    for (const role of ['clientAlpha', 'operator'])
      assert.equal(
        (await cp.call('POST', '/api/v1/backups/runs', { token: t[role], body: run() })).status,
        403,
      );
    assert.deepEqual(await rows(), before);
    const own = await cp.call('POST', '/api/v1/backups/runs', {
      token: t.agentAlpha,
      body: run({ runId: 'n2', startedAt: '2026-11-23T02:00:00Z', finishedAt: '2026-11-23T02:01:00Z' }),
    });
    assert.equal(own.status, 201);
    for (const path of ['/api/v1/instances/beta-prod/backups', '/api/v1/clients/beta/backups/status']) {
      assert.equal((await cp.call('GET', path, { token: t.clientAlpha })).status, 404, path);
      assert.equal((await cp.call('GET', path, { token: t.clientBeta })).status, 200, path);
      assert.equal((await cp.call('GET', path, { token: t.operator })).status, 200, path);
    }
    assert.equal(
      (await cp.call('GET', '/api/v1/clients/alpha/backups/status', { token: t.clientBeta })).status,
      404,
    );
    assert.equal(
      (await cp.call('GET', '/api/v1/clients/beta/backups/status', { token: t.agent })).status,
      403,
    );
  });

  it('reports status per instance: newest success, age, verification, restore test, named slots, PITR', async () => {
    // 400 days of nightly full backups at noon in the client's zone, none on the day 3 days back.
    const zone = 'America/New_York';
    const now = DateTime.now().setZone(zone);
    const gap = now.minus({ days: 3 }).toISODate();
    for (let i = 1; i <= 400; i++) {
      const day = now.startOf('day').minus({ days: i }).set({ hour: 12 });
      if (day.toISODate() === gap) continue;
      await cp.ctx.backups.reportRun({ tokenId: 'x', name: 'seed', role: 'backup-agent', clientId: null }, {
        ...run({ runId: `d${i}`, instance: 'beta-prod', verified: null }),
        startedAt: day.toUTC().toISO()!,
        finishedAt: day.plus({ minutes: 5 }).toUTC().toISO()!,
      } as never);
    }
    const recent = now.minus({ minutes: 2 });
    const iso = (d: DateTime) => d.toUTC().toISO()!;
    const post = (path: string, body: object) => cp.call('POST', path, { token: t.agent, body });
    assert.equal(
      (
        await post('/api/v1/backups/runs', {
          ...run({ runId: 'today', instance: 'beta-prod', verified: false }),
          startedAt: iso(recent.minus({ minutes: 1 })),
          finishedAt: iso(recent),
        })
      ).status,
      201,
    );
    for (const [id, from, to] of [
      ['wal1', 30, 20],
      ['wal2', 19, 10],
      ['wal3', 8, 1],
    ] as const)
      await post('/api/v1/backups/runs', {
        runId: id,
        instance: 'beta-prod',
        tool: 'pgbackrest',
        kind: 'wal',
        status: 'success',
        startedAt: iso(now.minus({ hours: from })),
        finishedAt: iso(now.minus({ hours: to })),
        walStart: iso(now.minus({ hours: from })),
        walEnd: iso(now.minus({ hours: to })),
      });
    await post('/api/v1/backups/restore-tests', {
      ...test({
        testId: 'rt1',
        instance: 'beta-prod',
        backupRunId: 'd1',
        success: false,
        detail: 'pg_restore failed',
      }),
      startedAt: iso(now.minus({ hours: 5 })),
      finishedAt: iso(now.minus({ hours: 4 })),
    });

    const res = await cp.call('GET', '/api/v1/clients/beta/backups/status', { token: t.clientBeta });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.body.policy, {
      keepDaily: 7,
      keepWeekly: 4,
      keepMonthly: 12,
      maxFullAgeHours: 26,
      restoreTestMaxAgeDays: 7,
    });
    const s = res.body.instances[0];
    assert.equal(s.instance.slug, 'beta-prod');
    assert.equal(s.newestSuccess.runId, 'today');
    assert.equal(s.newestSuccess.verified, false);
    assert.ok(
      s.newestSuccess.ageSeconds >= 110 && s.newestSuccess.ageSeconds < 600,
      String(s.newestSuccess.ageSeconds),
    );
    // the corrupt backup of today holds no slot, so the daily slots end yesterday
    assert.deepEqual(s.retention.daily.missing, [gap]);
    assert.deepEqual(s.retention.weekly.missing, []);
    assert.equal(s.lastRestoreTest.success, false);
    const at = (h: number) => iso(now.minus({ hours: h }));
    assert.deepEqual(s.pitr, {
      earliest: at(30),
      latest: at(1),
      gaps: [
        { from: at(20), to: at(19) },
        { from: at(10), to: at(8) },
      ],
    });
    assert.equal(s.compliant, false);
    assert.equal(res.body.compliant, false);
    assert.ok(s.problems.includes('newest backup today failed verification'), s.problems.join(' | '));
    assert.ok(s.problems.includes('restore test rt1 failed'));
    assert.ok(s.problems.includes(`daily slots missing: ${gap}`));
  });

  it("exports each instance's compliance, newest-success age and restore test on /metrics", async () => {
    const text = (await cp.call('GET', '/metrics')).text;
    const sample = (name: string, instance: string) => {
      const m = new RegExp(`^${name}\\{client="[a-z]+",instance="${instance}"\\} (\\S+)$`, 'm').exec(text);
      return m ? Number(m[1]) : undefined;
    };
    assert.equal(sample('concierge_ops_backup_compliant', 'beta-prod'), 0);
    const age = sample('concierge_ops_backup_last_success_age_seconds', 'beta-prod')!;
    assert.ok(age >= 110 && age < 900, String(age));
    assert.equal(sample('concierge_ops_backup_restore_test_success', 'beta-prod'), 0);
    // alpha-prod's one restore test passed, but one nightly run does not fill its slots
    assert.equal(sample('concierge_ops_backup_restore_test_success', 'alpha-prod'), 1);
    assert.equal(sample('concierge_ops_backup_compliant', 'alpha-prod'), 0);
    // by the client's own policy: beta's daily slot of yesterday is empty
    assert.equal(sample('concierge_ops_backup_retention_compliant', 'beta-prod'), 0);
    // beta's WAL misses 20h-19h and 10h-8h ago, inside its 7 daily days: 3 hours a restore cannot reach
    assert.equal(sample('concierge_ops_backup_pitr_gap_seconds', 'beta-prod'), 3 * 3600);
    // alpha archives no WAL: no recovery window, no series rather than a made-up 0
    assert.equal(sample('concierge_ops_backup_pitr_gap_seconds', 'alpha-prod'), undefined);
  });

  it('applies a changed policy: no daily slots, and the gap is no longer named', async () => {
    const patched = await cp.call('PATCH', '/api/v1/clients/beta/backups/policy', { body: { keepDaily: 0 } });
    assert.equal(patched.status, 200, patched.text);
    const res = await cp.call('GET', '/api/v1/clients/beta/backups/status', { token: t.operator });
    assert.deepEqual(res.body.instances[0].retention.daily, { required: 0, missing: [] });
    // /metrics follows the client's policy: no daily period, so no gap inside it (scrapes within a second
    // share one computation, so the first scrape after a second is the one to read)
    await new Promise((r) => setTimeout(r, 1100));
    const text = (await cp.call('GET', '/metrics')).text;
    assert.match(text, /^concierge_ops_backup_pitr_gap_seconds\{client="beta",instance="beta-prod"\} 0$/m);
    assert.match(
      text,
      new RegExp(
        `^concierge_ops_backup_retention_compliant\\{client="beta",instance="beta-prod"\\} ${res.body.instances[0].retention.compliant ? 1 : 0}$`,
        'm',
      ),
    );
    const audit = await cp.call('GET', '/api/v1/audit?targetType=client');
    assert.ok(audit.body.some((a: { action: string }) => a.action === 'backup_policy.update'));
  });
});
