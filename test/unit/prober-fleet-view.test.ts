import assert from 'node:assert/strict';
import { FleetView } from '../../exporters/fleet-prober/src/fleet-view.ts';

const K = 'i-1/backend';

/** Peer views as the Peers class holds them: each with the moment (performance.now()) it was asked for. */
class FakePeers {
  views: Array<{ down: Set<string>; requestedAt: number }> = [];
  answer(...down: boolean[]): void {
    const requestedAt = performance.now();
    this.views = down.map((d) => ({ down: new Set(d ? [K] : []), requestedAt }));
  }
  /** A poll asked for at `requestedAt` lands now. */
  land(requestedAt: number, ...down: boolean[]): void {
    this.views = down.map((d) => ({ down: new Set(d ? [K] : []), requestedAt }));
  }
  count = (key: string, since: number): number =>
    this.views.filter((v) => v.requestedAt >= since && v.down.has(key)).length;
  oldest = (): number => Math.min(...this.views.map((v) => v.requestedAt));
}

describe('fleet prober quorum view', () => {
  it('goes down when this location and one peer of two hold the service down, and back up below the quorum', () => {
    const peers = new FakePeers();
    const fleet = new FleetView(2, peers.count, {});
    fleet.setBaseline(new Map());
    peers.answer(true, false);
    assert.equal(fleet.reconcile(K, 'down')?.state, 'down');
    peers.answer(false, false);
    const up = fleet.reconcile(K, 'down');
    assert.equal(up?.state, 'up');
    assert.equal(up?.reason, 'down at 1 locations, below the quorum');
  });

  it('does not bring a resolved service back on a peer answer asked for before the resolve', async () => {
    const peers = new FakePeers();
    const fleet = new FleetView(2, peers.count, {});
    fleet.setBaseline(new Map());
    peers.answer(true, true);
    assert.equal(fleet.reconcile(K, 'down')?.state, 'down');
    // A poll goes out while both peers still hold it down; before it lands, they recover and this location
    // resolves on the views it then has.
    const askedAt = performance.now();
    await new Promise((r) => setTimeout(r, 5));
    peers.answer(false, false);
    assert.equal(fleet.reconcile(K, 'up')?.state, 'up');
    assert.equal(fleet.awaitingFreshViews, true);
    // The old poll lands, saying both peers hold it down: it predates the resolve and does not vote.
    peers.land(askedAt, true, true);
    assert.equal(fleet.reconcile(K, 'up'), undefined);
    assert.deepEqual([...fleet.fleetDownKeys()], []);
    assert.deepEqual(fleet.desiredAlerts(new Map()).size, 0);
    // A poll asked for after the resolve counts again: a new outage at two peers is down for the fleet.
    peers.answer(true, true);
    fleet.pruneResolves(peers.oldest());
    assert.equal(fleet.awaitingFreshViews, false);
    assert.equal(fleet.reconcile(K, 'up')?.state, 'down');
  });
});
