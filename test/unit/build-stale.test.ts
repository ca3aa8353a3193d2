import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * scripts/build-stale.mjs is what `npm start` (and every service script) runs before node: it must build what
 * changed, skip the compiler when nothing did, and never start a service from a build that failed.
 */
const REPO = path.resolve(import.meta.dirname, '../..');

describe('build-stale (npm start builds what is stale)', function () {
  this.timeout(120_000);
  let root: string;
  const write = (file: string, text: string) => {
    fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    fs.writeFileSync(path.join(root, file), text);
  };
  const project = (dir: string, references: string[]) =>
    write(
      `${dir}/tsconfig.json`,
      JSON.stringify({
        extends: path.relative(path.join(root, dir), path.join(root, 'tsconfig.base.json')),
        compilerOptions: {
          composite: true,
          rootDir: 'src',
          outDir: 'dist',
          tsBuildInfoFile: 'dist/.tsbuildinfo',
        },
        include: ['src'],
        references: references.map((r) => ({
          path: path.relative(path.join(root, dir), path.join(root, r)),
        })),
      }),
    );
  const buildStale = (...projects: string[]) => {
    const r = spawnSync(process.execPath, [path.join(root, 'scripts/build-stale.mjs'), ...projects], {
      cwd: root,
      encoding: 'utf8',
    });
    return { status: r.status, output: r.stdout + r.stderr };
  };
  const builtAt = (dir: string) => fs.statSync(path.join(root, dir, 'dist/.tsbuildinfo')).mtimeMs;
  /** Sources newer than the last build by a clear margin (file systems keep coarse times). */
  const later = (file: string) => {
    const t = new Date(Date.now() + 5000);
    fs.utimesSync(path.join(root, file), t, t);
  };

  before(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'build-stale-'));
    fs.mkdirSync(path.join(root, 'scripts'));
    fs.copyFileSync(path.join(REPO, 'scripts/build-stale.mjs'), path.join(root, 'scripts/build-stale.mjs'));
    fs.symlinkSync(path.join(REPO, 'node_modules'), path.join(root, 'node_modules'));
    fs.copyFileSync(path.join(REPO, 'tsconfig.base.json'), path.join(root, 'tsconfig.base.json'));
    project('low', []);
    write('low/src/answer.ts', 'export const answer: number = 41;\n');
    project('app', ['low']);
    write('app/package.json', JSON.stringify({ type: 'module' }));
    write('low/package.json', JSON.stringify({ type: 'module' }));
    write(
      'app/src/main.ts',
      "import { answer } from '../../low/dist/answer.js';\nconsole.log(answer + 1);\n",
    );
  });

  after(() => fs.rmSync(root, { recursive: true, force: true }));

  it('builds a project and what it references on the first run', () => {
    const r = buildStale('app');
    assert.equal(r.status, 0, r.output);
    assert.ok(fs.existsSync(path.join(root, 'low/dist/answer.js')));
    assert.match(fs.readFileSync(path.join(root, 'app/dist/main.js'), 'utf8'), /answer \+ 1/);
  });

  it('leaves the build alone when nothing changed', () => {
    const before = [builtAt('low'), builtAt('app')];
    const r = buildStale('app');
    assert.equal(r.status, 0, r.output);
    assert.deepEqual([builtAt('low'), builtAt('app')], before);
  });

  it('rebuilds when a source of a referenced project changed', () => {
    write('low/src/answer.ts', 'export const answer: number = 42;\n');
    later('low/src/answer.ts');
    const r = buildStale('app');
    assert.equal(r.status, 0, r.output);
    assert.match(fs.readFileSync(path.join(root, 'low/dist/answer.js'), 'utf8'), /answer = 42/);
  });

  it('fails on a type error, and again on the next run until it is fixed', () => {
    write(
      'app/src/main.ts',
      "import { answer } from '../../low/dist/answer.js';\nconst s: string = answer;\n",
    );
    later('app/src/main.ts');
    const first = buildStale('app');
    assert.notEqual(first.status, 0);
    assert.match(first.output, /TS2322/);
    const second = buildStale('app');
    assert.notEqual(second.status, 0, 'a failed build is not taken for a current one');
    write('app/src/main.ts', "import { answer } from '../../low/dist/answer.js';\nconsole.log(answer);\n");
    later('app/src/main.ts');
    assert.equal(buildStale('app').status, 0);
  });

  it('generates the file a project names after its build, again after a referenced build, and not otherwise', () => {
    // As the control plane's validators: its own built code writes a file from what the build holds.
    write(
      'app/package.json',
      JSON.stringify({ type: 'module', generated: { file: 'dist/answer.txt', by: 'dist/gen.js' } }),
    );
    write(
      'app/src/gen.ts',
      "import fs from 'node:fs';\nimport { answer } from '../../low/dist/answer.js';\n" +
        "fs.writeFileSync(new URL('./answer.txt', import.meta.url), `answer ${answer}`);\n",
    );
    later('app/src/gen.ts');
    const generated = path.join(root, 'app/dist/answer.txt');
    assert.equal(buildStale('app').status, 0);
    assert.equal(fs.readFileSync(generated, 'utf8'), 'answer 42');

    // The sources back to before the build (later() put them ahead of it): now nothing has changed.
    for (const file of ['app/src/gen.ts', 'app/src/main.ts', 'low/src/answer.ts'])
      fs.utimesSync(path.join(root, file), new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
    const at = fs.statSync(generated).mtimeMs;
    assert.equal(buildStale('app').status, 0);
    assert.equal(fs.statSync(generated).mtimeMs, at, 'generated again with nothing changed');

    write('low/src/answer.ts', 'export const answer: number = 43;\n');
    later('low/src/answer.ts');
    assert.equal(buildStale('app').status, 0);
    assert.equal(fs.readFileSync(generated, 'utf8'), 'answer 43');

    fs.rmSync(generated);
    assert.equal(buildStale('app').status, 0);
    assert.equal(fs.readFileSync(generated, 'utf8'), 'answer 43', 'a missing file is generated');
  });

  it('fails when the generator fails, and again on the next run', () => {
    write('app/src/gen.ts', "throw new Error('no answer');\n");
    later('app/src/gen.ts');
    const first = buildStale('app');
    assert.notEqual(first.status, 0);
    assert.match(
      first.output,
      /no answer[\s\S]*app\/dist\/gen\.js failed, so app\/dist\/answer\.txt is not current/,
    );
    assert.notEqual(buildStale('app').status, 0, 'an old generated file is not taken for a current one');
  });
});
