import assert from 'node:assert/strict';
import { occurrences, type WindowSpec } from '../../control-plane/src/maintenance/recurrence.ts';

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
});
