import assert from 'node:assert/strict';
import { StateTracker } from '../../exporters/fleet-prober/src/transitions.ts';
import type { ServiceState } from '../../exporters/fleet-prober/src/types.ts';

const K = 'i-1/backend';
const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s));

/** Feeds observations one per second; returns the changes reported, with the index that caused each. */
function feed(t: StateTracker, states: ServiceState[]): Array<[number, ServiceState, number]> {
  const out: Array<[number, ServiceState, number]> = [];
  states.forEach((s, i) => {
    const c = t.observe(K, s, at(i), `r${i}`);
    if (c) out.push([i, c.state, c.at.getUTCSeconds()]);
  });
  return out;
}

describe('fleet prober state tracker', () => {
  it('reports down after exactly 3 consecutive failures, dated at the first of them', () => {
    const t = new StateTracker(3, 2);
    t.setBaseline(new Map());
    assert.deepEqual(feed(t, ['up', 'down', 'down', 'up', 'down', 'down', 'down', 'down']), [[6, 'down', 4]]);
  });

  it('reports up after exactly 2 consecutive successes and degraded after 2 degraded probes', () => {
    const t = new StateTracker(3, 2);
    t.setBaseline(new Map([[K, 'down']]));
    assert.deepEqual(feed(t, ['down', 'up', 'down', 'up', 'up', 'degraded', 'degraded', 'degraded']), [
      [4, 'up', 3],
      [6, 'degraded', 5],
    ]);
  });

  it('reports nothing before the baseline is known, then only a real difference', () => {
    const t = new StateTracker(3, 2);
    assert.deepEqual(feed(t, ['down', 'down', 'down', 'down']), []);
    t.setBaseline(new Map([[K, 'down']]));
    assert.deepEqual(feed(t, ['down', 'down', 'down']), []);
  });

  it('treats a service missing from the baseline as up', () => {
    const t = new StateTracker(1, 1);
    t.setBaseline(new Map());
    assert.deepEqual(feed(t, ['up', 'up', 'down']), [[2, 'down', 2]]);
  });

  it('compares a service that left and came back with what it last reported', () => {
    const t = new StateTracker(1, 1);
    t.setBaseline(new Map());
    assert.deepEqual(feed(t, ['down']), [[0, 'down', 0]]);
    t.forget(K);
    assert.deepEqual(feed(t, ['down', 'up']), [[1, 'up', 1]]);
  });

  it('counts unconfirmed failures only until they confirm a down or an up contradicts them', () => {
    const t = new StateTracker(3, 2);
    t.setBaseline(new Map());
    const unconfirmed = (s: ServiceState) => {
      t.observe(K, s, at(0), 'r');
      return t.unconfirmedDowns(K);
    };
    assert.deepEqual(
      (['down', 'up', 'down', 'down', 'down', 'down'] as const).map(unconfirmed),
      [1, 0, 1, 2, 0, 0],
    );
    assert.equal(t.stableState(K), 'down');
  });
});
