import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

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
});
