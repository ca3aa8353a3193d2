import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { PROBER_MALLOC_ENV, PROBER_NODE_OPTIONS } from '@concierge-ops/fleet-prober/node-options';
import { PROBER_ENTRY, proberLaunch } from '../../scripts/stack/prober.ts';
import {
  BACKUP_ENTRY,
  BACKUP_MALLOC_ENV,
  BACKUP_NODE_OPTIONS,
} from '@concierge-ops/backup-exporter/node-options';
import { backupExporterLaunch } from '../../scripts/stack/backup-exporter.ts';
import { DEMO_ENTRY, DEMO_MALLOC_ENV, DEMO_NODE_OPTIONS } from '@concierge-ops/concierge-demo/node-options';
import { demoLaunch } from '../../scripts/stack/demo.ts';

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

  // One place says how each long-running exporter (and the demo fleet) runs (its src/node-options.ts); the stack takes it from
  // there, and the two launchers that cannot import it (an npm script, a Dockerfile) must say the same.
  const launches = [
    {
      name: 'prober',
      options: PROBER_NODE_OPTIONS,
      malloc: PROBER_MALLOC_ENV,
      entry: PROBER_ENTRY,
      stack: proberLaunch,
      script: 'prober',
      image: 'deploy/docker/fleet-prober.Dockerfile',
    },
    {
      name: 'backup exporter',
      options: BACKUP_NODE_OPTIONS,
      malloc: BACKUP_MALLOC_ENV,
      entry: BACKUP_ENTRY,
      stack: backupExporterLaunch,
      script: 'backup-exporter',
      image: 'deploy/docker/backup-exporter.Dockerfile',
    },
    {
      name: 'demo fleet',
      options: DEMO_NODE_OPTIONS,
      malloc: DEMO_MALLOC_ENV,
      entry: DEMO_ENTRY,
      stack: demoLaunch,
      script: 'demo',
      image: 'deploy/docker/demo.Dockerfile',
    },
  ];
  for (const l of launches) {
    describe(`the ${l.name}'s memory settings`, () => {
      const flags = l.options.split(' ');
      const malloc = Object.entries(l.malloc).map(([k, v]) => `${k}=${v}`);

      it(`npm run stack starts the ${l.name} with them`, () => {
        const run = l.stack({ SOME_VAR: 'kept' });
        assert.deepEqual(run.args, [...flags, l.entry]);
        assert.deepEqual(run.env, { SOME_VAR: 'kept', ...l.malloc });
      });

      it(`npm run ${l.script} uses the same ones`, () => {
        const m = /&& ((?:[A-Z_]+=\S+ )*)exec node ((?:--\S+ )*)(\S+)$/.exec(pkg.scripts[l.script]!);
        assert.ok(m, pkg.scripts[l.script]);
        assert.deepEqual(m[1]!.trim().split(' '), malloc);
        assert.deepEqual(m[2]!.trim().split(' '), flags);
        assert.equal(m[3], l.entry);
      });

      it(`the ${l.name}'s image uses the same ones`, () => {
        const file = fs.readFileSync(path.join(ROOT, l.image), 'utf8');
        const env = /^ENV (MALLOC_.*)$/m.exec(file)?.[1];
        assert.deepEqual(env?.split(' '), malloc);
        const cmd = /^CMD (\[.*\])$/m.exec(file)?.[1];
        assert.deepEqual(JSON.parse(cmd ?? 'null'), ['node', ...flags, l.entry]);
      });
    });
  }
});
