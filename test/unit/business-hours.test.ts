import assert from 'node:assert/strict';
import { loadConfig, ConfigError } from '../../control-plane/src/config.ts';
import { outsideBusinessHours } from '../../control-plane/src/audit/watch.ts';

const security = (env: Record<string, string>) =>
  loadConfig({ DATABASE_URL: 'postgres://x/y', ...env }).security;

describe('business hours for admin actions (SECURITY_BUSINESS_*)', () => {
  it('flags a weekday night and a weekend day, not a weekday afternoon (default 08:00-18:00 mon-fri, UTC)', () => {
    const c = security({});
    assert.equal(outsideBusinessHours(new Date('2026-03-04T14:00:00Z'), c), false); // Wednesday
    assert.equal(outsideBusinessHours(new Date('2026-03-04T08:00:00Z'), c), false);
    assert.equal(outsideBusinessHours(new Date('2026-03-04T18:00:00Z'), c), true); // the end is exclusive
    assert.equal(outsideBusinessHours(new Date('2026-03-04T03:00:00Z'), c), true);
    assert.equal(outsideBusinessHours(new Date('2026-03-07T14:00:00Z'), c), true); // Saturday
  });

  it('reads the hours in SECURITY_TIME_ZONE, across a daylight-saving change', () => {
    const c = security({ SECURITY_BUSINESS_HOURS: '09:00-17:00', SECURITY_TIME_ZONE: 'America/New_York' });
    // 13:30 UTC is 08:30 in New York on Friday 6 March (EST) and 09:30 on Monday 9 March (EDT).
    assert.equal(outsideBusinessHours(new Date('2026-03-06T13:30:00Z'), c), true);
    assert.equal(outsideBusinessHours(new Date('2026-03-09T13:30:00Z'), c), false);
  });

  it('takes the days as ranges and lists, and the zone from OPS_DAILY_TIME_ZONE by default', () => {
    const c = security({ SECURITY_BUSINESS_DAYS: 'mon,wed-thu,sun', OPS_DAILY_TIME_ZONE: 'Europe/Berlin' });
    assert.deepEqual(c.businessDays, [1, 3, 4, 7]);
    assert.equal(c.timeZone, 'Europe/Berlin');
  });

  it('names every bad variable', () => {
    assert.throws(
      () =>
        security({
          SECURITY_BUSINESS_HOURS: '18:00-08:00',
          SECURITY_BUSINESS_DAYS: 'weekdays',
          SECURITY_TIME_ZONE: 'Mars/Olympus',
          SECURITY_DENIED_BURST: '1',
        }),
      (err: unknown) =>
        err instanceof ConfigError &&
        [
          'SECURITY_BUSINESS_HOURS',
          'SECURITY_BUSINESS_DAYS',
          'SECURITY_TIME_ZONE',
          'SECURITY_DENIED_BURST',
        ].every((v) => err.problems.some((p) => p.includes(v))),
    );
  });
});
