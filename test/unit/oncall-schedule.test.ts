import assert from 'node:assert/strict';
import {
  onCallAt,
  schedule,
  shiftStart,
  withinHours,
  type RotationSpec,
} from '../../control-plane/src/oncall/schedule.ts';

const iso = (d: Date) => d.toISOString();
const spans = (r: RotationSpec, from: string, to: string, overrides: Parameters<typeof schedule>[1] = []) =>
  schedule(r, overrides, new Date(from), new Date(to)).map((s) => [
    iso(s.start),
    iso(s.end),
    s.responderId,
    s.overrideId,
  ]);

describe('on-call schedule', () => {
  // Daily at 09:00 New York from 1 March 2026; DST starts there on Sunday 8 March (02:00 -> 03:00).
  const daily: RotationSpec = {
    timeZone: 'America/New_York',
    handoff: 'daily',
    handoffTime: '09:00',
    startDate: '2026-03-01',
    members: ['ann', 'bob', 'cat'],
  };

  it('hands over daily at 09:00 local time on both sides of the spring DST change (one shift of 23 hours)', () => {
    assert.deepEqual(spans(daily, '2026-03-07T00:00:00Z', '2026-03-10T00:00:00Z'), [
      // 6 March 09:00 EST (the 6th shift, index 5: cat) until 7 March 09:00 EST = 14:00Z
      ['2026-03-07T00:00:00.000Z', '2026-03-07T14:00:00.000Z', 'cat', null],
      // 7 March 09:00 EST until 8 March 09:00 EDT = 13:00Z: 23 hours
      ['2026-03-07T14:00:00.000Z', '2026-03-08T13:00:00.000Z', 'ann', null],
      ['2026-03-08T13:00:00.000Z', '2026-03-09T13:00:00.000Z', 'bob', null],
      ['2026-03-09T13:00:00.000Z', '2026-03-10T00:00:00.000Z', 'cat', null],
    ]);
  });

  it('hands over weekly at the local time on the start date weekday, 169 hours across the autumn change', () => {
    // Mondays 08:00 Berlin from 19 October 2026; summer time ends Sunday 25 October (03:00 -> 02:00).
    const weekly: RotationSpec = {
      timeZone: 'Europe/Berlin',
      handoff: 'weekly',
      handoffTime: '08:00',
      startDate: '2026-10-19',
      members: ['ann', 'bob'],
    };
    assert.equal(iso(shiftStart(weekly, 0)), '2026-10-19T06:00:00.000Z'); // 08:00 CEST
    assert.equal(iso(shiftStart(weekly, 1)), '2026-10-26T07:00:00.000Z'); // 08:00 CET
    assert.deepEqual(spans(weekly, '2026-10-20T00:00:00Z', '2026-11-03T00:00:00Z'), [
      ['2026-10-20T00:00:00.000Z', '2026-10-26T07:00:00.000Z', 'ann', null],
      ['2026-10-26T07:00:00.000Z', '2026-11-02T07:00:00.000Z', 'bob', null],
      ['2026-11-02T07:00:00.000Z', '2026-11-03T00:00:00.000Z', 'ann', null],
    ]);
    const s = onCallAt(weekly, [], new Date('2026-10-25T12:00:00Z'))!;
    assert.equal((s.end.getTime() - s.start.getTime()) / 3_600_000, 169);
  });

  it('moves a hand-off in the skipped hour forward, as wall clocks do', () => {
    const r: RotationSpec = { ...daily, handoffTime: '02:30' };
    // 8 March 02:30 does not exist in New York: 03:30 EDT = 07:30Z
    assert.equal(iso(shiftStart(r, 7)), '2026-03-08T07:30:00.000Z');
    assert.equal(iso(shiftStart(r, 6)), '2026-03-07T07:30:00.000Z'); // 02:30 EST
  });

  it('has no one on call before the first shift', () => {
    assert.equal(onCallAt(daily, [], new Date('2026-03-01T13:59:59Z')), null);
    assert.equal(onCallAt(daily, [], new Date('2026-03-01T14:00:00Z'))!.responderId, 'ann');
    assert.deepEqual(spans(daily, '2026-02-28T00:00:00Z', '2026-03-01T20:00:00Z'), [
      ['2026-03-01T14:00:00.000Z', '2026-03-01T20:00:00.000Z', 'ann', null],
    ]);
  });

  it('puts an override on top, the latest created winning where two overlap', () => {
    const o1 = {
      id: 'o1',
      responderId: 'dan',
      start: new Date('2026-03-09T18:00:00Z'),
      end: new Date('2026-03-10T02:00:00Z'),
      createdAt: new Date('2026-03-01T00:00:00Z'),
    };
    const o2 = {
      ...o1,
      id: 'o2',
      responderId: 'eve',
      start: new Date('2026-03-09T20:00:00Z'),
      end: new Date('2026-03-09T21:00:00Z'),
      createdAt: new Date('2026-03-02T00:00:00Z'),
    };
    assert.deepEqual(spans(daily, '2026-03-09T12:00:00Z', '2026-03-10T14:00:00Z', [o1, o2]), [
      ['2026-03-09T12:00:00.000Z', '2026-03-09T13:00:00.000Z', 'bob', null],
      ['2026-03-09T13:00:00.000Z', '2026-03-09T18:00:00.000Z', 'cat', null],
      ['2026-03-09T18:00:00.000Z', '2026-03-09T20:00:00.000Z', 'dan', 'o1'],
      ['2026-03-09T20:00:00.000Z', '2026-03-09T21:00:00.000Z', 'eve', 'o2'],
      ['2026-03-09T21:00:00.000Z', '2026-03-10T02:00:00.000Z', 'dan', 'o1'],
      ['2026-03-10T02:00:00.000Z', '2026-03-10T13:00:00.000Z', 'cat', null],
      ['2026-03-10T13:00:00.000Z', '2026-03-10T14:00:00.000Z', 'ann', null],
    ]);
    // Now: since the override began, until the person on call next changes.
    const now = onCallAt(daily, [o1, o2], new Date('2026-03-09T19:00:00Z'))!;
    assert.deepEqual(
      [now.responderId, iso(now.start), iso(now.end)],
      ['dan', '2026-03-09T18:00:00.000Z', '2026-03-09T20:00:00.000Z'],
    );
    const own = onCallAt(daily, [o1, o2], new Date('2026-03-09T15:00:00Z'))!;
    assert.deepEqual(
      [own.responderId, iso(own.start), iso(own.end)],
      ['cat', '2026-03-09T13:00:00.000Z', '2026-03-09T18:00:00.000Z'],
    );
  });

  it('tells business hours in a zone, and hours that wrap past midnight', () => {
    const office = {
      timeZone: 'America/New_York',
      days: ['MO', 'TU', 'WE', 'TH', 'FR'] as const,
      start: '09:00',
      end: '17:00',
    };
    const h = { ...office, days: [...office.days] };
    assert.equal(withinHours(h, new Date('2026-11-25T14:00:00Z')), true); // Wed 09:00 EST
    assert.equal(withinHours(h, new Date('2026-11-25T13:59:00Z')), false); // Wed 08:59
    assert.equal(withinHours(h, new Date('2026-11-25T22:00:00Z')), false); // Wed 17:00
    assert.equal(withinHours(h, new Date('2026-11-28T15:00:00Z')), false); // Saturday
    assert.equal(withinHours(h, new Date('2026-07-01T13:30:00Z')), true); // Wed 09:30 EDT
    const night = { timeZone: 'UTC', days: ['FR' as const], start: '22:00', end: '06:00' };
    assert.equal(withinHours(night, new Date('2026-11-27T23:00:00Z')), true); // Friday night
    assert.equal(withinHours(night, new Date('2026-11-28T05:59:00Z')), true); // its Saturday morning part
    assert.equal(withinHours(night, new Date('2026-11-28T23:00:00Z')), false); // Saturday night
    assert.equal(withinHours(night, new Date('2026-11-27T05:00:00Z')), false); // Friday morning: Thursday's
  });

  it('schedules nothing, at once, over a range ending at a leap second (NaN) or running backwards', () => {
    const leap = new Date('2026-12-31T23:59:60Z');
    assert.ok(Number.isNaN(leap.getTime()));
    assert.deepEqual(schedule(daily, [], new Date('2026-12-07T00:00:00Z'), leap), []);
    assert.deepEqual(schedule(daily, [], leap, new Date('2027-01-01T00:00:00Z')), []);
    assert.deepEqual(
      schedule(daily, [], new Date('2026-12-08T00:00:00Z'), new Date('2026-12-07T00:00:00Z')),
      [],
    );
  });

  it('schedules a range far from the start date as it does near it (no walk from the first shift)', () => {
    // 50,000 days after 1 March 2026, the rotation of three is where 50,000 mod 3 puts it.
    const far = shiftStart(daily, 50_000);
    assert.equal(far.toISOString(), '2163-01-22T14:00:00.000Z'); // as luxon's calendar arithmetic has it
    const got = schedule(daily, [], far, new Date(far.getTime() + 3 * 86_400_000));
    assert.deepEqual(
      got.map((s) => s.responderId),
      ['cat', 'ann', 'bob'], // 50,000 = 3 x 16,666 + 2
    );
  });
});
