import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const REPO = path.resolve(import.meta.dirname, '../..');
const PACKAGE_DIR = path.join(REPO, 'exporters/concierge-telemetry');

/** A concierge runtime as a client would write it: the package's name, its types, one metric exported. */
const RUNTIME = `import { initTelemetry, METRICS, type Telemetry } from '@concierge-ops/telemetry';

const telemetry: Telemetry = await initTelemetry({
  client: 'acme',
  instance: 'acme-prod',
  serviceVersion: '1.0.0',
  prometheus: { port: 0, host: '127.0.0.1' },
  registerGlobal: false,
});
telemetry.metrics.request('voice', 'ok');
telemetry.metrics.request('voice', 'ok');
const body = await (await fetch(telemetry.metricsUrl!)).text();
await telemetry.shutdown();
console.log(JSON.stringify({ requests: METRICS.requests.prometheusName, body }));
`;

/** The tsconfig a client's runtime would have; node's types from the repository, so nothing else is fetched. */
const TSCONFIG = {
  compilerOptions: {
    target: 'ES2023',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    strict: true,
    outDir: 'out',
    typeRoots: [path.join(REPO, 'node_modules/@types')],
    types: ['node'],
  },
  files: ['runtime.ts'],
};

describe('@concierge-ops/telemetry as an installed package', function () {
  this.timeout(300_000);
  let scratch: string;

  before(async () => {
    scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'telemetry-package-'));
  });

  after(async () => {
    await fs.rm(scratch, { recursive: true, force: true });
  });

  it('packs with npm pack, installs from the tarball outside the repository, and exports a metric', async () => {
    const { stdout: packed } = await run('npm', ['pack', '--json', '--pack-destination', scratch], {
      cwd: PACKAGE_DIR,
      maxBuffer: 16 << 20,
    });
    const [tarball] = JSON.parse(packed) as { filename: string; files: { path: string }[] }[];
    const files = tarball!.files.map((f) => f.path);
    assert.ok(files.includes('dist/index.js') && files.includes('dist/index.d.ts'), files.join(', '));
    assert.ok(files.includes('README.md'));
    assert.deepEqual(
      files.filter((f) => f.startsWith('src/') || f.endsWith('.tsbuildinfo')),
      [],
      'the tarball holds the build, not the sources or build state',
    );

    const project = path.join(scratch, 'runtime');
    await fs.mkdir(project);
    assert.ok(!project.startsWith(REPO + path.sep), `${project} lies outside the repository`);
    const api = JSON.parse(
      await fs.readFile(path.join(REPO, 'node_modules/@opentelemetry/api/package.json'), 'utf8'),
    ).version as string;
    await fs.writeFile(
      path.join(project, 'package.json'),
      JSON.stringify({
        name: 'concierge-runtime',
        private: true,
        type: 'module',
        dependencies: {
          '@concierge-ops/telemetry': `file:${path.join(scratch, tarball!.filename)}`,
          // The peer dependency, as a runtime names it itself (the npm cache usually has it: --prefer-offline).
          '@opentelemetry/api': api,
        },
      }),
    );
    await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts'], {
      cwd: project,
      maxBuffer: 16 << 20,
    });
    const installed = path.join(project, 'node_modules/@concierge-ops/telemetry');
    assert.ok(
      !(await fs.lstat(installed)).isSymbolicLink(),
      'installed from the tarball, not linked to the repo',
    );
    await fs.writeFile(path.join(project, 'runtime.ts'), RUNTIME);
    await fs.writeFile(path.join(project, 'tsconfig.json'), JSON.stringify(TSCONFIG));

    // The package's types: the runtime type-checks against the installed declarations, and runs built, with node.
    await run(process.execPath, [path.join(REPO, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], {
      cwd: project,
    }).catch((e: { stdout: string }) => assert.fail(`tsc failed:\n${e.stdout}`));
    const { stdout } = await run(process.execPath, ['out/runtime.js'], { cwd: project });
    const { requests, body } = JSON.parse(stdout) as { requests: string; body: string };
    assert.equal(requests, 'concierge_requests_total');
    assert.match(body, /^concierge_requests_total\{[^}]*channel="voice"[^}]*outcome="ok"[^}]*\} 2( |$)/m);
    assert.match(body, /^target_info\{[^}]*client="acme"/m);
  });
});
