import assert from 'node:assert/strict';
import { offsetFor, Scheduler } from '../../exporters/fleet-prober/src/scheduler.ts';
import { waitFor } from '../../exporters/fleet-prober/testing/stand-ins.ts';

describe('fleet prober scheduler', () => {
  it('gives each target a stable offset that spreads targets over the interval', () => {
    const keys = Array.from({ length: 1000 }, (_, i) => `00000000-0000-4000-8000-${i}/backend`);
    const offsets = keys.map((k) => offsetFor(k, 15_000));
    assert.deepEqual(
      offsets,
      keys.map((k) => offsetFor(k, 15_000)),
    );
    assert.ok(offsets.every((o) => o >= 0 && o < 15_000));
    const perSecond = new Array(15).fill(0) as number[];
    for (const o of offsets) perSecond[Math.floor(o / 1000)]!++;
    // 1000 over 15 one-second buckets: about 67 each; no bucket empty or holding a burst.
    assert.ok(
      perSecond.every((n) => n > 30 && n < 110),
      perSecond.join(','),
    );
  });

  it('runs every target, never more than the concurrency limit at once', async () => {
    let active = 0;
    let maxActive = 0;
    const runs = new Map<string, number>();
    const s = new Scheduler<{ key: string }>({
      intervalMs: 100,
      concurrency: 3,
      lateToleranceMs: 50,
      onLate: () => {},
      run: async (t) => {
        active++;
        maxActive = Math.max(maxActive, active);
        await new Promise((r) => setTimeout(r, 5));
        runs.set(t.key, (runs.get(t.key) ?? 0) + 1);
        active--;
      },
    });
    s.setTargets(Array.from({ length: 20 }, (_, i) => ({ key: `t${i}` })));
    s.start();
    await waitFor(
      'every target probed twice',
      () => runs.size === 20 && [...runs.values()].every((n) => n >= 2),
    );
    await s.stop();
    assert.ok(maxActive <= 3, `max ${maxActive} in flight`);
  });

  it('counts a slot as late when the previous probe of the target is still running', async () => {
    let late = 0;
    let release: () => void = () => {};
    const hung = new Promise<void>((r) => (release = r));
    const s = new Scheduler<{ key: string }>({
      intervalMs: 50,
      concurrency: 10,
      lateToleranceMs: 1000,
      onLate: (n) => (late += n),
      run: () => hung,
    });
    s.setTargets([{ key: 'slow' }]);
    s.start();
    await waitFor('late slots', () => late >= 2);
    const stopped = s.stop();
    release();
    await stopped;
  });

  it('stops probing targets removed from the list', async () => {
    const seen: string[] = [];
    const s = new Scheduler<{ key: string }>({
      intervalMs: 50,
      concurrency: 4,
      lateToleranceMs: 1000,
      onLate: () => {},
      run: async (t) => void seen.push(t.key),
    });
    s.setTargets([{ key: 'a' }, { key: 'b' }]);
    s.start();
    await waitFor('both probed', () => seen.includes('a') && seen.includes('b'));
    s.setTargets([{ key: 'b' }]);
    const mark = seen.length;
    await waitFor('b probed thrice more', () => seen.slice(mark).filter((k) => k === 'b').length >= 3);
    await s.stop();
    assert.deepEqual(
      seen.slice(mark).filter((k) => k === 'a'),
      [],
    );
  });

  it('runs a re-probe outside the slot, never beside a probe of the same target, and not counted late', async () => {
    const runs: Array<{ key: string; reprobe: boolean; at: number }> = [];
    let late = 0;
    let active = 0;
    let overlapped = false;
    // A clock placed 1 s after the target's slot, so its next slot is 59 s away: only re-probes run here,
    // whenever the test happens to start.
    const shift = offsetFor('a', 60_000) + 1000 - (Date.now() % 60_000);
    const s = new Scheduler<{ key: string }>({
      now: () => Date.now() + shift,
      intervalMs: 60_000,
      concurrency: 4,
      lateToleranceMs: 1000,
      onLate: (n) => (late += n),
      run: async (t, _due, reprobe) => {
        if (++active > 1) overlapped = true;
        runs.push({ key: t.key, reprobe, at: Date.now() });
        await new Promise((r) => setTimeout(r, 20));
        active--;
      },
    });
    s.setTargets([{ key: 'a' }]);
    s.start();
    const asked = Date.now();
    s.reprobe({ key: 'a' }, 0);
    s.reprobe({ key: 'a' }, 0); // already waiting: not a second one
    await waitFor('re-probe', () => runs.length === 1 && active === 0);
    s.reprobe({ key: 'a' }, 100);
    await waitFor('second re-probe', () => runs.length === 2);
    await s.stop();
    assert.deepEqual(
      runs.map((r) => [r.key, r.reprobe]),
      [
        ['a', true],
        ['a', true],
      ],
    );
    assert.ok(runs[0]!.at - asked < 50 && runs[1]!.at - runs[0]!.at >= 100);
    assert.equal(overlapped, false);
    assert.equal(late, 0);
  });
});
