import assert from 'node:assert/strict';
import { Batcher } from '../../control-plane/src/db/batch.ts';

describe('Batcher (calls that wait for a run go together)', () => {
  /** A batcher whose runs finish when the test says, recording what each run got. */
  const manual = (concurrency: number, max?: number) => {
    const runs: { inputs: number[]; finish: (err?: Error) => void }[] = [];
    const b = new Batcher<number, string>(
      (inputs) =>
        new Promise((resolve, reject) =>
          runs.push({
            inputs,
            finish: (err) => (err ? reject(err) : resolve(inputs.map((n) => `out ${n}`))),
          }),
        ),
      concurrency,
      max,
    );
    return { b, runs };
  };
  const tick = () => new Promise((r) => setImmediate(r));

  it('runs a call at once while a run is free, and gathers the calls made while none is', async () => {
    const { b, runs } = manual(2);
    const first = b.call(1);
    const second = b.call(2);
    assert.deepEqual(
      runs.map((r) => r.inputs),
      [[1], [2]],
    );
    const waiting = [b.call(3), b.call(4), b.call(5)];
    assert.equal(runs.length, 2, 'no third run while two are on their way');
    runs[0]!.finish();
    assert.equal(await first, 'out 1');
    await tick();
    assert.deepEqual(runs[2]!.inputs, [3, 4, 5]);
    runs[1]!.finish();
    runs[2]!.finish();
    assert.deepEqual(await Promise.all([second, ...waiting]), ['out 2', 'out 3', 'out 4', 'out 5']);
  });

  it('fails every call of a failed run and only those, and goes on with the next', async () => {
    const { b, runs } = manual(1);
    const a = b.call(1);
    const [c, d] = [b.call(2), b.call(3)];
    runs[0]!.finish(new Error('connection lost'));
    await assert.rejects(a, /connection lost/);
    await tick();
    assert.deepEqual(runs[1]!.inputs, [2, 3]);
    runs[1]!.finish();
    assert.deepEqual(await Promise.all([c, d]), ['out 2', 'out 3']);
  });

  it('keeps a batch within its largest size', async () => {
    const { b, runs } = manual(1, 2);
    const calls = [1, 2, 3, 4, 5].map((n) => b.call(n));
    for (let i = 0; i < 3; i++) {
      runs[i]!.finish();
      await tick();
    }
    assert.deepEqual(
      runs.map((r) => r.inputs),
      [[1], [2, 3], [4, 5]],
    );
    assert.deepEqual(await Promise.all(calls), ['out 1', 'out 2', 'out 3', 'out 4', 'out 5']);
  });
});
