/**
 * What the control plane loads to start: the modules main.ts imports, and the migrations step on a database
 * that is up to date. The heavy packages that only reports, exports, pages and a pending migration use
 * (control-plane/src/lazy.ts, db/migrate.ts) must not be among them: they were a third of its resident memory
 * and most of its start after the database (bench:startup).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { createTestDatabase, dropTestDatabase } from '../helpers/db.ts';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '../..');
const SRC = path.join(ROOT, 'control-plane/src');
const HEAVY = ['pdfkit', 'twilio', 'nodemailer', 'node-pg-migrate'];

/** Imports what main.ts imports, migrates `url`, and says which HEAVY packages the process loaded. */
async function startLoads(url: string): Promise<{ applied: string[]; loaded: string[] }> {
  const script = `
    import { createRequire } from 'node:module';
    for (const m of ['config', 'db/open', 'audit/retention', 'context', 'app', 'http/deadline'])
      await import(${JSON.stringify(SRC)} + '/' + m + '.ts');
    const { migrate } = await import(${JSON.stringify(SRC)} + '/db/migrate.ts');
    const applied = await migrate(process.env.TEST_URL);
    await new Promise((r) => setTimeout(r, 100)); // the loader thread's last messages
    const required = Object.keys(createRequire(import.meta.url).cache);
    const loaded = ${JSON.stringify(HEAVY)}.filter(
      (p) => globalThis.__packagesSeen.has(p) || required.some((f) => f.includes('/node_modules/' + p + '/')),
    );
    console.log(JSON.stringify({ applied, loaded }));
  `;
  const { stdout } = await run(
    process.execPath,
    [
      '--import',
      path.join(ROOT, 'test/helpers/record-packages.mjs'),
      '--import',
      'tsx',
      '--conditions=concierge-source',
      '--input-type=module',
      '-e',
      script,
    ],
    { cwd: ROOT, env: { ...process.env, TEST_URL: url }, maxBuffer: 4 * 1024 * 1024 },
  );
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as { applied: string[]; loaded: string[] };
}

describe('control plane start-up: what it loads', function () {
  this.timeout(120_000);
  const dbs: string[] = [];
  after(async () => {
    for (const url of dbs) await dropTestDatabase(url);
  });

  it('loads neither pdfkit, twilio, nodemailer nor node-pg-migrate when no migration is pending', async () => {
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
