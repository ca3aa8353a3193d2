import assert from 'node:assert/strict';
import { DateTime } from 'luxon';
import {
  WEEKDAYS,
  expand,
  occurrences,
  type Recurrence,
  type WindowSpec,
} from '../../control-plane/src/maintenance/recurrence.ts';

const iso = (list: { start: Date; end: Date }[]) =>
  list.map((o) => `${o.start.toISOString()} ${o.end.toISOString()}`);
const d = (s: string) => new Date(s);

describe('maintenance window expansion in the client time zone', () => {
  const sundays: WindowSpec = {
    start: d('2026-01-01T00:00:00Z'),
    end: null,
    recurrence: { freq: 'weekly', byDay: ['SU'], startTime: '02:00', durationMinutes: 120 },
  };

  it('keeps "Sunday 02:00 local" across the spring-forward change in New York', () => {
    assert.deepEqual(
      iso(occurrences(sundays, 'America/New_York', d('2026-03-01T00:00Z'), d('2026-03-16T00:00Z'))),
      [
        '2026-03-01T07:00:00.000Z 2026-03-01T09:00:00.000Z', // EST
        // 02:00 does not exist on 8 March: the window starts when the clock shows 03:00 EDT
        '2026-03-08T07:00:00.000Z 2026-03-08T09:00:00.000Z',
        '2026-03-15T06:00:00.000Z 2026-03-15T08:00:00.000Z', // EDT
      ],
    );
  });

  it('keeps "Sunday 02:00 local" across the fall-back change, lasting 120 elapsed minutes', () => {
    assert.deepEqual(
      iso(occurrences(sundays, 'America/New_York', d('2026-10-25T00:00Z'), d('2026-11-09T00:00Z'))),
      [
        '2026-10-25T06:00:00.000Z 2026-10-25T08:00:00.000Z', // EDT
        '2026-11-01T07:00:00.000Z 2026-11-01T09:00:00.000Z', // EST from 02:00 EDT -> 01:00 EST
        '2026-11-08T07:00:00.000Z 2026-11-08T09:00:00.000Z',
      ],
    );
  });

  it('expands the nth and the last weekday of the month, across the European change', () => {
    const second: WindowSpec = {
      start: d('2026-01-01T00:00:00Z'),
      end: null,
      recurrence: { freq: 'monthly', nth: 2, weekday: 'TU', startTime: '22:00', durationMinutes: 60 },
    };
    assert.deepEqual(
      iso(occurrences(second, 'Europe/Berlin', d('2026-03-01T00:00Z'), d('2026-05-01T00:00Z'))),
      [
        '2026-03-10T21:00:00.000Z 2026-03-10T22:00:00.000Z', // CET
        '2026-04-14T20:00:00.000Z 2026-04-14T21:00:00.000Z', // CEST
      ],
    );
    const last: WindowSpec = {
      ...second,
      recurrence: { freq: 'monthly', nth: -1, weekday: 'FR', startTime: '23:30', durationMinutes: 60 },
    };
    // Crosses midnight and the month end: 30 January 23:30 to 31 January 00:30, 27 February ...
    assert.deepEqual(
      iso(occurrences(last, 'Europe/Berlin', d('2026-01-01T00:00Z'), d('2026-03-01T00:00Z'))),
      [
        '2026-01-30T22:30:00.000Z 2026-01-30T23:30:00.000Z',
        '2026-02-27T22:30:00.000Z 2026-02-27T23:30:00.000Z',
      ],
    );
    const fifth: WindowSpec = {
      ...second,
      recurrence: { freq: 'monthly', nth: 5, weekday: 'TU', startTime: '01:00', durationMinutes: 30 },
    };
    // March 2026 has five Tuesdays (the 31st), April only four.
    assert.deepEqual(iso(occurrences(fifth, 'UTC', d('2026-03-01T00:00Z'), d('2026-05-01T00:00Z'))), [
      '2026-03-31T01:00:00.000Z 2026-03-31T01:30:00.000Z',
    ]);
  });

  it('clips occurrences to the range asked and stops at the series end and at until', () => {
    const w: WindowSpec = {
      start: d('2026-03-04T00:00:00Z'),
      end: d('2026-03-20T00:00:00Z'),
      recurrence: {
        freq: 'weekly',
        byDay: ['WE', 'SA'],
        startTime: '00:00',
        durationMinutes: 60,
        until: '2026-03-14',
      },
    };
    assert.deepEqual(iso(occurrences(w, 'UTC', d('2026-03-04T00:30Z'), d('2026-04-01T00:00Z'))), [
      '2026-03-04T00:30:00.000Z 2026-03-04T01:00:00.000Z',
      '2026-03-07T00:00:00.000Z 2026-03-07T01:00:00.000Z',
      '2026-03-11T00:00:00.000Z 2026-03-11T01:00:00.000Z',
      '2026-03-14T00:00:00.000Z 2026-03-14T01:00:00.000Z',
    ]);
    const once: WindowSpec = { start: d('2026-03-01T10:00Z'), end: d('2026-03-01T12:00Z'), recurrence: null };
    assert.deepEqual(iso(occurrences(once, 'UTC', d('2026-03-01T11:00Z'), d('2026-03-02T00:00Z'))), [
      '2026-03-01T11:00:00.000Z 2026-03-01T12:00:00.000Z',
    ]);
    assert.deepEqual(occurrences(once, 'UTC', d('2026-03-01T12:00Z'), d('2026-03-02T00:00Z')), []);
  });

  /** The expansion as it was first written: every local day from..to checked, for comparison only. */
  function dayByDay(w: WindowSpec, zone: string, from: Date, to: Date): string[] {
    const r = w.recurrence!;
    const [hour, minute] = r.startTime.split(':').map(Number) as [number, number];
    const out: string[] = [];
    for (
      let day = DateTime.fromJSDate(from, { zone }).startOf('day').minus({ days: 8 });
      day <= DateTime.fromJSDate(to, { zone });
      day = day.plus({ days: 1 })
    ) {
      const wd = WEEKDAYS[day.weekday - 1]!;
      const nth = Math.ceil(day.day / 7);
      const isLast = day.plus({ days: 7 }).month !== day.month;
      const match =
        r.freq === 'weekly'
          ? r.byDay.includes(wd)
          : wd === r.weekday && (r.nth === -1 ? isLast : nth === r.nth);
      if (!match) continue;
      const s = DateTime.fromObject(
        { year: day.year, month: day.month, day: day.day, hour, minute },
        { zone },
      );
      const start = s.toJSDate();
      const end = new Date(start.getTime() + r.durationMinutes * 60_000);
      if (start < w.start || (w.end && start >= w.end)) continue;
      const cs = start < from ? from : start;
      const ce = end > to ? to : end;
      if (cs < ce) out.push(`${cs.toISOString()} ${ce.toISOString()}`);
    }
    return out;
  }

  it('finds what a day-by-day walk finds, over sixteen months of DST changes in three zones', () => {
    const series: Recurrence[] = [
      { freq: 'weekly', byDay: ['SU', 'WE'], startTime: '02:30', durationMinutes: 90 },
      { freq: 'weekly', byDay: [...WEEKDAYS], startTime: '23:45', durationMinutes: 30 },
      { freq: 'monthly', nth: 5, weekday: 'SA', startTime: '01:00', durationMinutes: 60 },
      { freq: 'monthly', nth: -1, weekday: 'SU', startTime: '02:00', durationMinutes: 180 },
    ];
    for (const zone of ['Europe/Berlin', 'America/New_York', 'Australia/Lord_Howe'])
      for (const recurrence of series) {
        const w: WindowSpec = { start: d('2025-06-03T10:00Z'), end: d('2027-02-10T00:00Z'), recurrence };
        const [from, to] = [d('2025-09-01T13:17Z'), d('2026-12-01T00:00Z')];
        assert.deepEqual(iso(occurrences(w, zone, from, to)), dayByDay(w, zone, from, to), `${zone}`);
      }
  });

  it('costs one step per occurrence over a 10,000-year range, and stops at the limit it is given', () => {
    const weekly: WindowSpec = {
      start: d('2026-01-01T00:00:00Z'),
      end: null,
      recurrence: { freq: 'weekly', byDay: ['MO', 'TH'], startTime: '03:00', durationMinutes: 60 },
    };
    const [from, to] = [d('0001-01-01T00:00:00Z'), d('9999-12-31T00:00:00Z')];
    const capped = expand(weekly, 'Europe/Berlin', from, to, 500);
    assert.equal(capped.ranges.length, 500);
    assert.equal(capped.truncated, true);
    // Steps are candidate dates looked at: the 500 kept, the one that hit the limit, and the few before the
    // series starts in the first week.
    assert.ok(capped.steps <= 510, `steps ${capped.steps}`);
    assert.equal(capped.ranges[0]!.start.toISOString(), '2026-01-01T02:00:00.000Z'); // Thursday, CET

    // A month-long series inside ten thousand years: the cost is its occurrences, not the years around it.
    const june: WindowSpec = { ...weekly, start: d('5000-06-01T00:00:00Z'), end: d('5000-07-01T00:00:00Z') };
    const short = expand(june, 'Europe/Berlin', from, to);
    assert.equal(short.ranges.length, 9);
    assert.equal(short.truncated, false);
    assert.ok(short.steps <= 12, `steps ${short.steps}`);

    const monthly: WindowSpec = {
      ...june,
      end: d('5010-06-01T00:00:00Z'),
      recurrence: { freq: 'monthly', nth: 5, weekday: 'FR', startTime: '22:00', durationMinutes: 60 },
    };
    const fifth = expand(monthly, 'UTC', from, to);
    // A month has a fifth Friday four or five times a year: months looked at stay within 3 per occurrence.
    assert.ok(fifth.ranges.length >= 40 && fifth.ranges.length <= 50, `${fifth.ranges.length}`);
    assert.ok(fifth.steps <= 3 * fifth.ranges.length + 3, `steps ${fifth.steps}`);
  });

  it('expands in year 1 on the right weekdays (no two-digit-year shortcut)', () => {
    const early: WindowSpec = {
      start: d('0001-01-01T00:00:00Z'),
      end: null,
      recurrence: { freq: 'weekly', byDay: ['SU'], startTime: '12:00', durationMinutes: 60 },
    };
    const got = occurrences(early, 'UTC', d('0001-01-01T00:00:00Z'), d('0001-02-01T00:00:00Z'));
    assert.deepEqual(
      got.map((o) => o.start.toISOString()),
      ['0001-01-07', '0001-01-14', '0001-01-21', '0001-01-28'].map((x) => `${x}T12:00:00.000Z`),
    );
  });

  it('returns nothing, at once, for an invalid date or an empty range (a leap second parsed as NaN)', () => {
    const w: WindowSpec = {
      start: d('2026-01-01T00:00:00Z'),
      end: null,
      recurrence: { freq: 'weekly', byDay: ['SU'], startTime: '02:00', durationMinutes: 60 },
    };
    const leap = d('2026-12-31T23:59:60Z');
    assert.ok(Number.isNaN(leap.getTime()));
    for (const [from, to] of [
      [d('2026-01-01T00:00Z'), leap],
      [leap, d('2027-01-01T00:00Z')],
      [d('2026-06-01T00:00Z'), d('2026-01-01T00:00Z')],
    ] as const)
      assert.deepEqual(expand(w, 'UTC', from, to), { ranges: [], truncated: false, steps: 0 });
    assert.deepEqual(expand({ ...w, start: leap }, 'UTC', d('2026-01-01T00:00Z'), d('2027-01-01T00:00Z')), {
      ranges: [],
      truncated: false,
      steps: 0,
    });
  });
});
