import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { PROBER_MALLOC_ENV, PROBER_NODE_OPTIONS } from '@concierge-ops/fleet-prober/node-options';
import { PROBER_ENTRY, proberLaunch } from '../../scripts/stack/prober.ts';

/**
 * The services run their build with plain node (no tsx, no esbuild at run time), after building what is stale:
 * each script that starts one is `node scripts/build-stale.mjs <its projects> && [VAR=value ...] [exec] node
 * [--v8-option ...] <its dist entry>` (the prober's memory settings: exporters/fleet-prober/src/node-options.ts).
 */
const ROOT = path.resolve(import.meta.dirname, '../..');
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  scripts: Record<string, string>;
  engines: { node: string };
  workspaces: string[];
};
const SERVICES = [
  'start',
  'prober',
  'backup-exporter',
  'demo',
  'stack',
  'report',
  'audit:verify',
  'dashboards',
];

describe('service scripts', () => {
  for (const name of SERVICES) {
    it(`npm run ${name} builds what is stale, then runs the build with plain node`, () => {
      const script = pkg.scripts[name];
      assert.ok(script, `package.json has no "${name}" script`);
      const m =
        /^node scripts\/build-stale\.mjs( [^&]+)? && (?:[A-Z_]+=\S+ )*(?:exec )?node (?:--[\w-]+(?:=\S+)? )*((\S+)\/dist\/(\S+)\.js)(?: |$)/.exec(
          script,
        );
      assert.ok(m, `"${name}": ${script}`);
      assert.doesNotMatch(script, /tsx|esbuild|--import/);
      // The entry is the build of a source that exists: <package>/src/<entry>.ts (scripts/ builds from its top).
      const [, , , dir, entry] = m;
      const source = dir === 'scripts' ? `${dir}/${entry}.ts` : `${dir}/src/${entry}.ts`;
      assert.ok(fs.existsSync(path.join(ROOT, source)), `${source} does not exist`);
    });
  }

  it('every package supports node 20.19 or newer', () => {
    const engines = [
      pkg,
      ...pkg.workspaces.map((w) => JSON.parse(fs.readFileSync(path.join(ROOT, w, 'package.json'), 'utf8'))),
    ].map((p: { engines?: { node?: string } }) => p.engines?.node);
    assert.deepEqual(new Set(engines), new Set(['>=20.19']));
  });

  // One place says how the prober runs (exporters/fleet-prober/src/node-options.ts); the stack takes it from
  // there, and the two launchers that cannot import it (an npm script, a Dockerfile) must say the same.
  describe("the prober's memory settings", () => {
    const flags = PROBER_NODE_OPTIONS.split(' ');
    const malloc = Object.entries(PROBER_MALLOC_ENV).map(([k, v]) => `${k}=${v}`);

    it('npm run stack starts the prober with them', () => {
      const run = proberLaunch({ PROBER_ID: 'stack-prober' });
      assert.deepEqual(run.args, [...flags, PROBER_ENTRY]);
      assert.deepEqual(run.env, { PROBER_ID: 'stack-prober', ...PROBER_MALLOC_ENV });
    });

    it('npm run prober uses the same ones', () => {
      const m = /&& ((?:[A-Z_]+=\S+ )*)exec node ((?:--\S+ )*)(\S+)$/.exec(pkg.scripts.prober!);
      assert.ok(m, pkg.scripts.prober);
      assert.deepEqual(m[1]!.trim().split(' '), malloc);
      assert.deepEqual(m[2]!.trim().split(' '), flags);
      assert.equal(m[3], PROBER_ENTRY);
    });

    it("the prober's image uses the same ones", () => {
      const file = fs.readFileSync(path.join(ROOT, 'deploy/docker/fleet-prober.Dockerfile'), 'utf8');
      const env = /^ENV (MALLOC_.*)$/m.exec(file)?.[1];
      assert.deepEqual(env?.split(' '), malloc);
      const cmd = /^CMD (\[.*\])$/m.exec(file)?.[1];
      assert.deepEqual(JSON.parse(cmd ?? 'null'), ['node', ...flags, PROBER_ENTRY]);
    });
  });
});
