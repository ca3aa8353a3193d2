import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from '../../control-plane/src/config.ts';
import { creditFor, period } from '../../control-plane/src/sla/service.ts';

describe('SLA and silence configuration, credit tiers and periods', () => {
  it('defaults: no Alertmanager, a 30 s sync, 120 s prober grace, tiers 10/25/50', () => {
    const c = loadConfig({});
    assert.equal(c.alertmanagerUrl, undefined);
    assert.equal(c.alertmanagerSilenceSyncSeconds, 30);
    assert.equal(c.proberGraceSeconds, 120);
    assert.deepEqual(c.slaCreditTiers, [
      { below: 0.95, percent: 50 },
      { below: 0.99, percent: 25 },
      { below: 'target', percent: 10 },
    ]);
  });

  it('names each bad variable', () => {
    try {
      loadConfig({
        ALERTMANAGER_URL: 'ftp://am',
        ALERTMANAGER_SILENCE_SYNC_SECONDS: '0',
        PROBER_GRACE_SECONDS: 'x',
        SLA_CREDIT_TIERS: 'target:ten',
      });
      assert.fail('expected a ConfigError');
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      for (const name of [
        'ALERTMANAGER_URL',
        'ALERTMANAGER_SILENCE_SYNC_SECONDS',
        'PROBER_GRACE_SECONDS',
        'SLA_CREDIT_TIERS',
      ])
        assert.match(err.message, new RegExp(name));
    }
  });

  it('takes SLA_MIN_MEASURED_SHARE as a decimal from 0 to 1 (default 0.9), refusing anything else by name', () => {
    assert.equal(loadConfig({}).slaMinMeasuredShare, 0.9);
    assert.equal(loadConfig({ SLA_MIN_MEASURED_SHARE: '0.5' }).slaMinMeasuredShare, 0.5);
    assert.equal(loadConfig({ SLA_MIN_MEASURED_SHARE: '0' }).slaMinMeasuredShare, 0);
    for (const bad of ['90%', '1.5', '-0.1', 'x', '0.9.1']) {
      assert.throws(
        () => loadConfig({ SLA_MIN_MEASURED_SHARE: bad }),
        (e: unknown) =>
          e instanceof ConfigError && /SLA_MIN_MEASURED_SHARE must be a decimal from 0 to 1/.test(e.message),
        bad,
      );
    }
  });

  it('applies the highest tier the uptime fell below, none when met, null without data', () => {
    const tiers = loadConfig({ SLA_CREDIT_TIERS: 'target:5, 0.98:20' }).slaCreditTiers;
    assert.equal(creditFor(0.9995, 0.999, tiers), 0);
    assert.equal(creditFor(0.9985, 0.999, tiers), 5);
    assert.equal(creditFor(0.97, 0.999, tiers), 20);
    assert.equal(creditFor(null, 0.999, tiers), null);
  });

  it("takes the calendar month in the client's zone and ends the period at now", () => {
    const now = new Date('2026-03-10T12:00:00Z');
    assert.deepEqual(period({ month: '2026-02' }, 'Europe/Berlin', now), {
      from: new Date('2026-01-31T23:00:00Z'),
      to: new Date('2026-02-28T23:00:00Z'),
    });
    assert.deepEqual(period({}, 'America/New_York', now), {
      from: new Date('2026-03-01T05:00:00Z'),
      to: now,
    });
    assert.deepEqual(period({ month: '2026-04' }, 'UTC', now), {
      from: new Date('2026-04-01T00:00:00Z'),
      to: new Date('2026-04-01T00:00:00Z'),
    });
  });
});
