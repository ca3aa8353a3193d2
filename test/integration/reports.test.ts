import assert from 'node:assert/strict';
import { startControlPlane, type TestControlPlane } from '../helpers/control-plane.ts';
import { INTERNAL, MONTH, loadFixture } from '../fixtures/reports/fixture-month.ts';

// The hand computation is in test/fixtures/reports/fixture-month.md.
const PERIOD = 31 * 86400 + 3600;
const MEASURED = PERIOD - 7200;

describe('monthly report: figures of a fixture month computed by hand', () => {
  let cp: TestControlPlane;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the JSON as a client reads it
  let r: any;

  before(async () => {
    cp = await startControlPlane({ WORKERS: 'off' });
    await loadFixture(cp);
    const res = await cp.call('GET', `/api/v1/clients/fixture/reports/${MONTH}.json`);
    assert.equal(res.status, 200, res.text);
    r = res.body;
  });
  after(() => cp.close());

  it('covers October in London: 31 days and the hour summer time gives back', () => {
    assert.deepEqual(r.period, {
      from: '2026-09-30T23:00:00.000Z',
      to: '2026-11-01T00:00:00.000Z',
      periodSeconds: PERIOD,
      complete: true,
    });
    assert.equal(r.client.timeZone, 'Europe/London');
  });

  it('gives uptime, budget and credit per instance and overall exactly', () => {
    const [main, standby] = r.instances;
    assert.equal(main.instance.slug, 'fixture-main');
    assert.deepEqual(
      { ...main, instance: undefined },
      {
        instance: undefined,
        uptime: 1 - 10800 / MEASURED,
        met: false,
        measuredSeconds: MEASURED,
        measuredShare: 1,
        insufficientData: false,
        downtimeSeconds: 10800,
        maintenanceSeconds: 7200,
        unknownSeconds: 0,
        errorBudgetSeconds: 2674.8,
        errorBudgetUsedSeconds: 10800,
        errorBudgetUsedRatio: 10800 / 2674.8,
        creditPercent: 10,
      },
    );
    assert.equal(standby.instance.slug, 'fixture-standby');
    assert.equal(standby.uptime, 1 - 1200 / MEASURED);
    assert.equal(standby.met, true);
    assert.equal(standby.creditPercent, 0);
    assert.equal(standby.errorBudgetUsedRatio, 1200 / 2674.8);
    assert.deepEqual(r.overall, {
      uptime: 1 - 12000 / (2 * MEASURED),
      met: false,
      measuredSeconds: 2 * MEASURED,
      measuredShare: 1,
      insufficientData: false,
      downtimeSeconds: 12000,
      maintenanceSeconds: 14400,
      unknownSeconds: 0,
      errorBudgetSeconds: 5349.6,
      errorBudgetUsedSeconds: 12000,
      errorBudgetUsedRatio: 12000 / 5349.6,
      creditPercent: 10,
    });
  });

  it('lists every downtime with its services and incident, public summary only', () => {
    assert.deepEqual(r.downtimes, [
      {
        instance: 'fixture-main',
        start: '2026-10-15T00:00:00.000Z',
        end: '2026-10-15T01:00:00.000Z',
        durationSeconds: 3600,
        services: ['backend'],
        incident: {
          code: 'FIXTURE-1',
          severity: 'warning',
          publicSummary: 'Slow start after the planned database upgrade.',
        },
      },
      {
        instance: 'fixture-standby',
        start: '2026-10-20T12:00:00.000Z',
        end: '2026-10-20T12:20:00.000Z',
        durationSeconds: 1200,
        services: ['backend'],
        incident: { code: 'FIXTURE-2', severity: 'warning', publicSummary: null },
      },
      {
        instance: 'fixture-main',
        start: '2026-10-25T00:30:00.000Z',
        end: '2026-10-25T02:00:00.000Z',
        durationSeconds: 5400,
        services: ['backend', 'proxy'],
        incident: {
          code: 'FIXTURE-4',
          severity: 'critical',
          publicSummary: 'The assistant was unavailable after a failed update; it was rolled back.',
        },
      },
      {
        instance: 'fixture-main',
        start: '2026-10-31T23:30:00.000Z',
        end: '2026-11-01T00:00:00.000Z',
        durationSeconds: 1800,
        services: ['proxy'],
        incident: {
          code: 'FIXTURE-5',
          severity: 'critical',
          publicSummary: 'The web proxy restarted repeatedly; a configuration error was fixed.',
        },
      },
    ]);
    const total = r.downtimes.reduce((a: number, d: { durationSeconds: number }) => a + d.durationSeconds, 0);
    assert.equal(total, r.overall.downtimeSeconds);
    assert.ok(!JSON.stringify(r).includes(INTERNAL), 'internal notes leaked into the report');
    assert.ok(!JSON.stringify(r).includes('internal alert title'));
  });

  it('lists the maintenance window as excluded time', () => {
    assert.deepEqual(r.maintenance, [
      {
        start: '2026-10-14T22:00:00.000Z',
        end: '2026-10-15T00:00:00.000Z',
        durationSeconds: 7200,
        instance: null,
        reason: 'database upgrade',
      },
    ]);
  });

  it('counts incidents by severity with time to acknowledge and to resolve', () => {
    assert.deepEqual(r.incidents.bySeverity, {
      critical: {
        count: 2,
        acknowledged: 2,
        resolved: 2,
        meanTimeToAcknowledgeSeconds: 210,
        maxTimeToAcknowledgeSeconds: 300,
        meanTimeToResolveSeconds: 4530,
        maxTimeToResolveSeconds: 5580,
      },
      warning: {
        count: 2,
        acknowledged: 2,
        resolved: 2,
        meanTimeToAcknowledgeSeconds: 390,
        maxTimeToAcknowledgeSeconds: 600,
        meanTimeToResolveSeconds: 2310,
        maxTimeToResolveSeconds: 3420,
      },
      info: {
        count: 1,
        acknowledged: 0,
        resolved: 1,
        meanTimeToAcknowledgeSeconds: null,
        maxTimeToAcknowledgeSeconds: null,
        meanTimeToResolveSeconds: 1800,
        maxTimeToResolveSeconds: 1800,
      },
    });
    assert.deepEqual(
      r.incidents.list.map((i: { code: string }) => i.code),
      ['FIXTURE-1', 'FIXTURE-2', 'FIXTURE-3', 'FIXTURE-4', 'FIXTURE-5'],
    );
  });

  it('gives backup evidence: slots, the missed ones, verification, restore test, PITR', () => {
    const [main, standby] = r.backups;
    assert.equal(main.instance.slug, 'fixture-main');
    assert.equal(main.slots.length, 31);
    assert.deepEqual(main.missedSlots, ['2026-10-09', '2026-10-17']);
    assert.deepEqual(main.runs, { total: 33, success: 32, failed: 1 });
    assert.deepEqual(main.verification, { verified: 29, failed: 1, unchecked: 2 });
    assert.deepEqual(main.slots[16], {
      day: '2026-10-17',
      fullBackups: 0,
      verified: 0,
      failedVerification: 0,
      failedRuns: 1,
      held: false,
    });
    assert.equal(main.latestRestoreTest.testId, 'rt-oct');
    assert.deepEqual(main.pitr, {
      earliest: '2026-10-01T00:00:00.000Z',
      latest: '2026-11-01T00:00:00.000Z',
      gaps: [{ from: '2026-10-16T00:00:00.000Z', to: '2026-10-16T06:00:00.000Z' }],
    });
    assert.deepEqual(standby.missedSlots, []);
    assert.deepEqual(standby.verification, { verified: 31, failed: 0, unchecked: 0 });
    assert.equal(standby.latestRestoreTest, null);
    assert.equal(standby.pitr, null);
  });

  it('says performance and capacity are not available without PROMETHEUS_URL', () => {
    assert.deepEqual(r.performance, { available: false, reason: 'PROMETHEUS_URL is not configured' });
    assert.deepEqual(r.capacity, { available: false, reason: 'PROMETHEUS_URL is not configured' });
  });

  it('gives daily uptime in local days, the DST day 25 hours long', () => {
    assert.equal(r.daily.length, 31);
    const day = (d: string) => r.daily.find((x: { date: string }) => x.date === d);
    assert.deepEqual(day('2026-10-25'), {
      date: '2026-10-25',
      uptime: 1 - 5400 / 180000,
      measuredSeconds: 180000,
      downtimeSeconds: 5400,
      measuredShare: 1,
    });
    assert.deepEqual(day('2026-10-14'), {
      date: '2026-10-14',
      uptime: 1,
      measuredSeconds: 165600,
      downtimeSeconds: 0,
      measuredShare: 1, // maintenance is not counted against it
    });
    assert.equal(day('2026-10-15').uptime, 1 - 3600 / 165600);
    assert.equal(day('2026-10-20').uptime, 1 - 1200 / 172800);
    assert.equal(day('2026-10-31').uptime, 1 - 1800 / 172800);
    assert.equal(day('2026-10-02').uptime, 1);
    const measured = r.daily.reduce((a: number, d: { measuredSeconds: number }) => a + d.measuredSeconds, 0);
    assert.equal(measured, 2 * MEASURED);
  });
});
