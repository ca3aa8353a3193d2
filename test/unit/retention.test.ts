import assert from 'node:assert/strict';
import { DateTime } from 'luxon';
import { DEFAULT_POLICY, evaluateRetention, pitrWindow } from '@concierge-ops/shared/retention';

const ZONE = 'America/New_York';
// Wednesday 2026-11-25, 12:00 in New York.
const NOW = DateTime.fromISO('2026-11-25T12:00', { zone: ZONE });

/** One full backup at 02:00 local on each of the last `days` days (today included), minus `skip`. */
function nightly(days: number, skip: (d: DateTime) => boolean): number[] {
  const out: number[] = [];
  for (let i = 0; i < days; i++) {
    const d = NOW.startOf('day').minus({ days: i }).set({ hour: 2 });
    if (!skip(d)) out.push(d.toMillis());
  }
  return out;
}

describe('retention compliance (slot by slot, in the client time zone)', () => {
  it('names exactly the missing daily, weekly and monthly slots over 400 days of nightly runs with gaps', () => {
    const gaps = (d: DateTime) =>
      ['2026-11-22', '2026-11-20', '2026-11-10'].includes(d.toISODate()!) ||
      d.toFormat("kkkk-'W'WW") === '2026-W45' ||
      ['2026-06', '2026-02', '2025-09'].includes(d.toFormat('yyyy-MM'));
    const runs = nightly(400, gaps);
    assert.ok(runs.length > 300 && runs.length < 400);
    const r = evaluateRetention(runs, DEFAULT_POLICY, ZONE, NOW.toMillis());
    assert.equal(r.compliant, false);
    // 11-10 lies outside the 7 daily slots; W45 (Nov 2-8) and 2025-09 outside none of theirs but 12 months.
    assert.deepEqual(r.daily, { required: 7, missing: ['2026-11-22', '2026-11-20'] });
    assert.deepEqual(r.weekly, { required: 4, missing: ['2026-W45'] });
    assert.deepEqual(r.monthly, { required: 12, missing: ['2026-06', '2026-02'] });
  });

  it('is compliant with no gap, and a policy of 30 daily slots then names a gap 20 days back', () => {
    const full = nightly(400, () => false);
    assert.equal(evaluateRetention(full, DEFAULT_POLICY, ZONE, NOW.toMillis()).compliant, true);
    const gap = nightly(400, (d) => d.toISODate() === '2026-11-05');
    const r = evaluateRetention(gap, { ...DEFAULT_POLICY, keepDaily: 30 }, ZONE, NOW.toMillis());
    assert.deepEqual(r.daily.missing, ['2026-11-05']);
    assert.deepEqual(r.weekly.missing, []);
  });

  it("does not count today's slot against the client before tonight's backup has run", () => {
    const runs = nightly(400, (d) => d.toISODate() === '2026-11-25');
    const r = evaluateRetention(runs, DEFAULT_POLICY, ZONE, NOW.toMillis());
    assert.deepEqual(r.daily.missing, []);
    // the 7 slots now end yesterday: a gap 7 days back counts, one 8 days back does not
    const older = nightly(400, (d) => ['2026-11-25', '2026-11-18', '2026-11-17'].includes(d.toISODate()!));
    assert.deepEqual(evaluateRetention(older, DEFAULT_POLICY, ZONE, NOW.toMillis()).daily.missing, [
      '2026-11-18',
    ]);
  });

  it('places a backup in the calendar day of the client, not of UTC', () => {
    const runs = nightly(400, (d) => d.toISODate() === '2026-11-20');
    // 01:00 UTC on the 21st is 20:00 on the 20th in New York: it fills the 20th there, the 21st in Tokyo.
    runs.push(Date.parse('2026-11-21T01:00:00Z'));
    assert.deepEqual(evaluateRetention(runs, DEFAULT_POLICY, ZONE, NOW.toMillis()).daily.missing, []);
    const tokyo = evaluateRetention(runs, DEFAULT_POLICY, 'Asia/Tokyo', NOW.toMillis());
    assert.deepEqual(tokyo.daily.missing, ['2026-11-20']);
  });

  it('owes no slot that ended before the instance existed', () => {
    const runs = nightly(3, () => false);
    const r = evaluateRetention(runs, DEFAULT_POLICY, ZONE, NOW.toMillis(), runs[runs.length - 1]);
    assert.equal(r.compliant, true);
    assert.deepEqual(evaluateRetention(runs, DEFAULT_POLICY, ZONE, NOW.toMillis()).daily.missing, [
      '2026-11-22',
      '2026-11-21',
      '2026-11-20',
      '2026-11-19',
    ]);
  });

  it('builds the PITR window from WAL ranges and names the gaps in continuity', () => {
    const t = (s: string) => Date.parse(`2026-11-2${s}Z`);
    const w = pitrWindow([
      { start: t('4T00:00:00'), end: t('4T06:00:00') },
      { start: t('4T05:00:00'), end: t('4T12:00:00') },
      { start: t('4T13:00:00'), end: t('5T01:00:00') },
    ]);
    assert.deepEqual(w, {
      earliest: '2026-11-24T00:00:00.000Z',
      latest: '2026-11-25T01:00:00.000Z',
      gaps: [{ from: '2026-11-24T12:00:00.000Z', to: '2026-11-24T13:00:00.000Z' }],
    });
    assert.equal(pitrWindow([]), null);
  });
});
