/**
 * scripts/images-build.sh (npm run images:build) refuses clearly: an unknown service is named, and on a machine
 * without buildah or debootstrap it says which tools are missing and how to get them, before doing anything.
 * The build itself takes minutes and needs root, so it is not part of the suite (docs/deployment.md).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { major, NODE_LTS } from '../../scripts/node-lts.mjs';

const ROOT = path.resolve(import.meta.dirname, '../..');
const SCRIPT = path.join(ROOT, 'scripts/images-build.sh');

/** Runs the script with PATH holding only `sh` and `dirname`, as on a machine with none of the build tools. */
async function runBare(args: string[]): Promise<{ code: number; stderr: string }> {
  const bin = await fs.mkdtemp(path.join(os.tmpdir(), 'images-build-'));
  try {
    for (const tool of ['sh', 'dirname']) await fs.symlink(`/bin/${tool}`, path.join(bin, tool));
    return await new Promise((resolve) => {
      execFile('/bin/sh', [SCRIPT, ...args], { env: { PATH: bin } }, (err, _stdout, stderr) => {
        resolve({ code: err ? Number(err.code) : 0, stderr });
      });
    });
  } finally {
    await fs.rm(bin, { recursive: true, force: true });
  }
}

describe('npm run images:build', () => {
  it('names the tools it misses and builds nothing', async () => {
    const { code, stderr } = await runBare([]);
    assert.equal(code, 3);
    assert.match(stderr, /^images:build: missing: buildah debootstrap node npm\. Install them/m);
    assert.match(stderr, /docker build -f deploy\/docker\/control-plane\.Dockerfile/);
  });

  it('names an unknown service', async () => {
    const { code, stderr } = await runBare(['control-plane', 'prober']);
    assert.equal(code, 2);
    assert.match(stderr, /unknown service prober \(control-plane, fleet-prober, backup-exporter, demo\)/);
  });

  // scripts/node-lts.mjs pins the Node.js the local base carries; a Docker build takes the published image of
  // the same line, so both kinds of image run one Node.js major.
  it(`the Dockerfiles and compose use the published node image of the pinned major (${NODE_LTS.version})`, async () => {
    const files = [
      ...(await fs.readdir(path.join(ROOT, 'deploy/docker')))
        .filter((f) => f.endsWith('.Dockerfile'))
        .map((f) => `deploy/docker/${f}`),
      'docker-compose.yml',
    ];
    assert.equal(files.length, 5);
    for (const file of files) {
      const text = await fs.readFile(path.join(ROOT, file), 'utf8');
      const images = [...text.matchAll(/\bnode:(\d+)-bookworm-slim\b/g)].map((m) => Number(m[1]));
      assert.ok(images.length > 0, `${file} names no node image`);
      assert.deepEqual(new Set(images), new Set([major()]), `${file}: node:${major()}-bookworm-slim`);
    }
  });
});
