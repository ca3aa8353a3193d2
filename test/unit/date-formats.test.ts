import assert from 'node:assert/strict';
import { dateProblemOf, dateTimeProblemOf, monthProblemOf } from '../../control-plane/src/http/formats.ts';
import { hasUnstorable, replaceUnstorable, unstorable } from '../../control-plane/src/http/unstorable.ts';
import { repairDelivery } from '../../control-plane/src/incidents/repair.ts';
import { alertPayload } from '../helpers/alerts.ts';

describe('per-value rules for dates and stored text', () => {
  it('takes the date-times JavaScript and PostgreSQL read alike, and only those', () => {
    for (const ok of [
      '2026-03-01T09:30:00Z',
      '2026-03-01T09:30:00.123456789+05:30',
      '2026-03-01T09:30:00+14:00',
      '2026-03-01T09:30:00-14:00',
      '0001-01-01T00:00:00Z', // Alertmanager's "no end" time
      '9999-12-31T23:59:59.999Z',
      '2024-02-29T00:00:00Z',
    ])
      assert.equal(dateTimeProblemOf(ok), undefined, ok);
    for (const [bad, why] of [
      ['0000-01-01T00:00:00Z', /0001 to 9999/],
      ['2026-01-01T00:00:00+23:59', /-14:00 to \+14:00/],
      ['2026-01-01T00:00:00+14:01', /-14:00 to \+14:00/],
      ['2026-12-31T23:59:60Z', /leap second/],
      ['0001-01-01T00:00:00+00:01', /in UTC/],
      ['9999-12-31T23:59:59-00:01', /in UTC/],
      ['2025-02-29T00:00:00Z', /day must be/],
      ['2026-13-01T00:00:00Z', /month must be/],
      ['2026-01-01T24:00:00Z', /time must be/],
      ['2026-01-01T00:00:00', /time zone/],
      ['yesterday', /RFC 3339/],
    ] as const)
      assert.match(dateTimeProblemOf(bad) ?? 'accepted', why, bad);
  });

  it('takes dates and months of years 0001 to 9999', () => {
    assert.equal(dateProblemOf('0001-01-01'), undefined);
    assert.match(dateProblemOf('0000-01-01') ?? '', /0001 to 9999/);
    assert.match(dateProblemOf('2026-02-30') ?? '', /day must be/);
    assert.equal(monthProblemOf('9999-12'), undefined);
    assert.ok(monthProblemOf('0000-01'));
    assert.ok(monthProblemOf('2026-13'));
  });

  it('names every NUL and lone surrogate by JSON pointer, keys included, and repairs a copy', () => {
    const body = { a: 'x\u0000', b: ['ok', '\ud800'], c: { 'k\udc00': 'v', 'pair \ud83d\ude00': 'fine' } };
    assert.deepEqual(
      unstorable(body).map((e) => e.field),
      ['/a', '/b/1', '/c/k\ufffd'],
    );
    const { value, changed } = replaceUnstorable(body);
    assert.deepEqual(value, {
      a: 'x\ufffd',
      b: ['ok', '\ufffd'],
      c: { 'k\ufffd': 'v', 'pair \ud83d\ude00': 'fine' },
    });
    assert.deepEqual(changed, ['/a', '/b/1', '/c/k\ufffd']);
    assert.equal(body.a, 'x\u0000', 'the original is left alone');
  });

  it('scans for unstorable text exactly where the repair would replace it, to the same depth', () => {
    const nest = (depth: number, leaf: unknown): unknown =>
      depth === 0 ? leaf : { d: nest(depth - 1, leaf) };
    for (const v of [
      { a: 'x\u0000' },
      ['ok', ['\ud800']],
      { 'k\udc00': 'v' },
      { ok: 'pair \ud83d\ude00', n: 1, t: true, z: null, arr: [1, 'two'] },
      'plain',
      nest(64, 'deep\u0000'), // the deepest string the repair still reaches
      nest(65, 'too deep\u0000'), // one level further: left as it is, by both
      nest(64, { ['key\u0000']: 1 }),
    ])
      assert.equal(hasUnstorable(v), replaceUnstorable(v).changed.length > 0, JSON.stringify(v));
  });

  it('stores a clean webhook body as delivered, and repairs a hostile one without touching the original', async () => {
    const clean = alertPayload({ fingerprints: ['a1', 'b2'] });
    const noLookup = async () => new Map<string, Date>();
    const ok = await repairDelivery(clean as never, noLookup, new Date());
    assert.deepEqual(ok.repairs, []);
    assert.deepEqual(ok.payload, clean);
    const hostile = alertPayload({ fingerprints: ['a1'], summary: 'down\u0000' });
    const fixed = await repairDelivery(hostile as never, noLookup, new Date());
    assert.deepEqual(
      fixed.repairs.map((r) => r.field),
      ['/alerts/0/annotations/summary'],
    );
    assert.equal(fixed.payload.alerts[0]!.annotations.summary, 'down\ufffd');
    assert.equal(hostile.alerts[0]!.annotations.summary, 'down\u0000', 'the delivery itself is left alone');
  });
});
