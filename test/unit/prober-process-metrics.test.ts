/**
 * The prober writes its process_* and nodejs_* metrics itself (prom-client cost it memory it does not have):
 * the same families the other services serve through prom-client (@concierge-ops/shared/metrics), with the
 * same types, help and label names, so a dashboard or query reads the prober as it reads the rest.
 */
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { collectProcessMetrics } from '@concierge-ops/shared/metrics';
import { ProcessMetrics } from '../../exporters/fleet-prober/src/process-metrics.ts';

interface Family {
  type: string;
  help: string;
  labels: string[];
}

/** Family name -> type, help and the label names its samples carry (le and quantile aside). */
function families(text: string): Map<string, Family> {
  const out = new Map<string, Family>();
  const get = (name: string) => {
    let f = out.get(name);
    if (!f) out.set(name, (f = { type: '', help: '', labels: [] }));
    return f;
  };
  for (const line of text.split('\n')) {
    let m = /^# HELP (\S+) (.*)$/.exec(line);
    if (m) get(m[1]!).help = m[2]!;
    else if ((m = /^# TYPE (\S+) (\S+)$/.exec(line))) get(m[1]!).type = m[2]!;
    else if ((m = /^([a-zA-Z_:][\w:]*?)(_bucket|_sum|_count)?(?:\{(.*)\})? \S+$/.exec(line))) {
      const name = out.has(m[1]! + (m[2] ?? '')) ? m[1]! + (m[2] ?? '') : m[1]!;
      const labels = [...(m[3] ?? '').matchAll(/(\w+)="/g)].map((x) => x[1]!).filter((l) => l !== 'le');
      const f = get(name);
      f.labels = [...new Set([...f.labels, ...labels])].sort();
    }
  }
  return out;
}

describe('the prober’s own process and Node.js metrics', () => {
  it('are the families prom-client serves for the other services: names, types, help and labels', async () => {
    const registry = new Registry();
    collectProcessMetrics(registry);
    const pm = new ProcessMetrics();
    try {
      // One garbage collection, so both sides have a gc duration series with its kind label.
      (globalThis as { gc?: () => void }).gc?.();
      await new Promise((r) => setTimeout(r, 50));
      const theirs = families(await registry.metrics());
      const ours = families(pm.text());
      assert.ok(theirs.size >= 20, `only ${theirs.size} families parsed`);
      assert.deepEqual([...ours.keys()].sort(), [...theirs.keys()].sort());
      for (const [name, f] of theirs) {
        const o = ours.get(name)!;
        assert.equal(o.type, f.type, `${name}: type`);
        assert.equal(o.help, f.help, `${name}: help`);
        // A family with no sample yet on one side (gc before any collection) has no labels to compare.
        if (o.labels.length > 0 && f.labels.length > 0)
          assert.deepEqual(o.labels, f.labels, `${name}: labels`);
      }
    } finally {
      pm.stop();
    }
  });
});
