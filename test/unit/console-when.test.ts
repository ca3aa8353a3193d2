import assert from 'node:assert/strict';
import fc from 'fast-check';
import { when } from '../../control-plane/src/console/render.ts';

const INTL = new Intl.DateTimeFormat('en-GB', {
  day: 'numeric',
  month: 'short',
  year: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
  hourCycle: 'h23',
  timeZone: 'UTC',
});

describe("the console's times as people read them", () => {
  it('writes every instant exactly as en-GB Intl formatting does, in UTC', () => {
    fc.assert(
      fc.property(
        fc.date({
          min: new Date('-010000-01-01T00:00:00Z'),
          max: new Date('+020000-12-31T23:59:59Z'),
          noInvalidDate: true,
        }),
        (d) => {
          assert.equal(when(d), `${INTL.format(d)} UTC`);
          assert.equal(when(d.toISOString()), `${INTL.format(d)} UTC`);
        },
      ),
      { numRuns: 20_000 },
    );
  });

  it('reads "7 Sept 2026, 04:05 UTC" for a September morning, and nothing for no time or a bad one', () => {
    assert.equal(when('2026-09-07T04:05:59.999Z'), '7 Sept 2026, 04:05 UTC');
    assert.equal(when('2026-12-31T23:59:00Z'), '31 Dec 2026, 23:59 UTC');
    assert.equal(when(null), '');
    assert.equal(when('0000-13-45T99:00:00Z'), '');
  });
});
