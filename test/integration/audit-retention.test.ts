/**
 * Retention of the audit log: the upgrade to a table partitioned by month keeps every record, in order, with
 * its hash; closed months are archived to signed, hash-linked files that `audit:verify --archive` checks from the
 * files alone (and names what was tampered with); archived months past the retention are deleted, audited, and
 * the chain kept in the database still verifies.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { runner } from 'node-pg-migrate';
import pg from 'pg';
import { pino } from 'pino';
import { ConfigError, loadConfig } from '../../control-plane/src/config.ts';
import { MIGRATIONS_DIR, migrate } from '../../control-plane/src/db/migrate.ts';
import { openDatabase } from '../../control-plane/src/db/open.ts';
import { checkpointSetup } from '../../control-plane/src/audit/keys.ts';
import { AuditService } from '../../control-plane/src/audit/service.ts';
import { AuditRetention, applyRetention } from '../../control-plane/src/audit/retention.ts';
import { recordHash } from '../../control-plane/src/audit/archive-files.ts';
import { startControlPlane } from '../helpers/control-plane.ts';
import { createTestDatabase, dropTestDatabase } from '../helpers/db.ts';

const run = promisify(execFile);
const PARTITIONED = '1766200000000_audit_partitions';
const log = pino({ level: 'silent' });

interface Row {
  seq: number;
  prev_hash: string;
  hash: string;
  canonical: string;
}
const ROWS = `select seq, encode(prev_hash, 'hex') as prev_hash, encode(hash, 'hex') as hash,
  convert_from(audit_log_canonical(a), 'UTF8') as canonical from audit_log a order by seq`;

async function cli(args: string[], env: Record<string, string>) {
  try {
    const { stdout } = await run('npm', ['run', '--silent', 'audit:verify', '--', ...args], {
      env: { ...process.env, ...env },
    });
    return { code: 0, out: stdout };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: e.stdout + e.stderr };
  }
}

describe('audit retention: months, archive, deletion', function () {
  this.timeout(180_000);
  let dir: string;
  let url: string;
  let pool: pg.Pool;
  let old: Row[];
  let env: Record<string, string>;
  let cliEnv: Record<string, string>;

  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'audit-retention-'));
    const { privateKey, publicKey } = crypto.generateKeyPairSync('ed25519');
    await fs.writeFile(path.join(dir, 'key.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }), {
      mode: 0o600,
    });
    await fs.writeFile(path.join(dir, 'key.pub.pem'), publicKey.export({ type: 'spki', format: 'pem' }));
    url = await createTestDatabase(null);
    pool = new pg.Pool({ connectionString: url, max: 3 });
    env = {
      DATABASE_URL: url,
      AUDIT_SIGNING_KEY_FILE: path.join(dir, 'key.pem'),
      AUDIT_CHECKPOINT_DIR: dir,
      AUDIT_ARCHIVE_DIR: path.join(dir, 'archive'),
    };
    // The auditor's view: the public key and the files, no database, no signing key.
    cliEnv = { DATA_DIR: path.join(dir, 'auditor'), AUDIT_PUBLIC_KEY_FILE: path.join(dir, 'key.pub.pem') };
  });
  after(async () => {
    await pool?.end();
    if (url) await dropTestDatabase(url);
    await fs.rm(dir, { recursive: true, force: true });
  });

  function services(now?: () => Date, retentionYears = 6) {
    const config = loadConfig(env);
    const checkpoints = checkpointSetup(config, log, 'sign')!;
    const audit = new AuditService(pool, undefined, checkpoints);
    const retention = new AuditRetention(
      pool,
      audit,
      checkpoints,
      { archiveDir: config.audit.archiveDir, retentionYears, now },
      log,
    );
    return { audit, retention };
  }

  it('upgrades the audit log to monthly partitions keeping every record, its order and its hash', async () => {
    const all = (await fs.readdir(MIGRATIONS_DIR)).filter((f) => f.endsWith('.sql')).sort();
    const count = all.indexOf(`${PARTITIONED}.sql`);
    assert.ok(count > 0);
    await runner({
      databaseUrl: url,
      dir: MIGRATIONS_DIR,
      direction: 'up',
      migrationsTable: 'pgmigrations',
      count,
      checkOrder: true,
      log: () => {},
    });
    // Records of 2019 (long past six years) and of today, chained by the earlier version; one staged late
    // (its change's time before the record chained ahead of it), as the webhook's records can be.
    const add = (at: string | null, actor: string) =>
      pool.query(
        `insert into audit_log (seq, at, actor, action, target_type, target_id, after, prev_hash, hash)
         values (0, coalesce($1::timestamptz, now()), $2, 'client.create', 'client', $2, '{"n":1}', '', '')`,
        [at, actor],
      );
    for (const [at, actor] of [
      ['2019-01-10T10:00:00Z', 'jan-1'],
      ['2019-01-20T10:00:00Z', 'jan-2'],
      ['2019-02-05T10:00:00Z', 'feb-1'],
      ['2019-01-31T23:59:59Z', 'jan-late'],
      ['2019-02-20T10:00:00Z', 'feb-2'],
      ['2019-03-03T10:00:00Z', 'mar-1'],
      ['2019-03-04T10:00:00Z', 'mar-2'],
      ['2019-04-01T10:00:00Z', 'apr-1'],
      [null, 'today-1'],
      [null, 'today-2'],
    ] as const)
      await add(at, actor);
    old = (await pool.query<Row>(ROWS)).rows;
    assert.equal(old.length, 10);

    assert.deepEqual(
      await migrate(url),
      all.slice(count).map((f) => f.replace(/\.sql$/, '')),
    );

    assert.deepEqual((await pool.query<Row>(ROWS)).rows, old);
    const { audit } = services();
    const v = await audit.verify();
    assert.equal(v.ok, true, JSON.stringify(v.firstBroken));
    assert.equal(v.rows, 10);
    const { rows: parts } = await pool.query<{ name: string }>(
      `select c.relname as name from pg_inherits i join pg_class c on c.oid = i.inhrelid
       where i.inhparent = 'audit_log'::regclass order by 1`,
    );
    assert.equal(parts[0]!.name, 'audit_log_y2019m01');
    const now = new Date();
    const ahead = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 2, 1));
    assert.equal(
      parts.at(-1)!.name,
      `audit_log_y${ahead.getUTCFullYear()}m${String(ahead.getUTCMonth() + 1).padStart(2, '0')}`,
    );
    // The late record joins February, where it was chained; every month is one stretch of seq.
    const { rows: months } = await pool.query<{ actor: string; part: string }>(
      `select actor, tableoid::regclass::text as part from audit_log order by seq`,
    );
    assert.deepEqual(
      months.slice(0, 8).map((r) => `${r.actor}:${r.part.slice(-8)}`),
      [
        'jan-1:y2019m01',
        'jan-2:y2019m01',
        'feb-1:y2019m02',
        'jan-late:y2019m02',
        'feb-2:y2019m02',
        'mar-1:y2019m03',
        'mar-2:y2019m03',
        'apr-1:y2019m04',
      ],
    );
    // A new record chains onto the last one from before.
    await add(null, 'after-upgrade');
    const last = (await pool.query<Row>(ROWS)).rows.at(-1)!;
    assert.equal(last.prev_hash, old.at(-1)!.hash);
    assert.equal((await audit.verify()).ok, true);
  });

  it('refuses a record slipped into a past month, and partitions are made ahead by the clock', async () => {
    await assert.rejects(
      pool.query(
        `insert into audit_log (seq, actor, action, target_type, prev_hash, hash, logged_at)
         values (0, 'forger', 'x', 'x', '', '', '2019-02-10T00:00:00Z')`,
      ),
      /logged_at .* is not the chain's clock/,
    );
    const { retention } = services(() => new Date('2031-05-17T00:00:00Z'));
    assert.equal(await retention.ensurePartitions(), 4);
    const { rows } = await pool.query(`select to_regclass('audit_log_y2031m08') is not null as made`);
    assert.equal(rows[0].made, true);
  });

  it('makes the partitions of the coming three months at start and schedules the retention job', async () => {
    const cp = await startControlPlane();
    try {
      const { rows } = await cp.db.query<{ months: number; jobs: number }>(
        `select (select count(*)::int from pg_inherits where inhparent = 'audit_log'::regclass
                 and inhrelid::regclass::text >= 'audit_log_y' || to_char(now() at time zone 'UTC', 'YYYY"m"MM'))
                 as months,
           (select count(*)::int from graphile_worker.jobs where task_identifier = 'audit-retention') as jobs`,
      );
      assert.deepEqual(rows[0], { months: 4, jobs: 1 });
    } finally {
      await cp.close();
    }
  });

  it('archives closed months to signed, linked files that verify --archive checks without the database', async () => {
    // The clock in March 2019: January and February are closed, March is not.
    const early = services(() => new Date('2019-03-15T00:00:00Z'));
    const first = await early.retention.archiveClosed();
    assert.deepEqual(
      first.map((m) => [m.month, m.rows]),
      [
        ['2019-01', 2],
        ['2019-02', 3],
      ],
    );
    // Again: nothing more (idempotent).
    assert.deepEqual(await early.retention.archiveClosed(), []);
    const { retention } = services();
    const rest = await retention.archiveClosed();
    const now = new Date();
    const thisMonth = `${now.getUTCFullYear()}-${String(now.getUTCMonth() + 1).padStart(2, '0')}`;
    assert.equal(rest[0]!.month, '2019-03');
    assert.ok(rest.every((m) => m.month < thisMonth));
    const archiveDir = path.join(dir, 'archive');
    const feb = JSON.parse(await fs.readFile(path.join(archiveDir, '2019-02.manifest.json'), 'utf8'));
    const janBytes = await fs.readFile(path.join(archiveDir, '2019-01.manifest.json'));
    assert.equal(feb.prevMonth, '2019-01');
    assert.equal(feb.prevManifestSha256, crypto.createHash('sha256').update(janBytes).digest('hex'));
    assert.equal(feb.lastHash, old[4]!.hash);
    assert.equal(feb.firstPrevHash, old[1]!.hash);
    assert.ok(feb.checkpoint.seq >= feb.lastSeq);
    const jsonl = (await fs.readFile(path.join(archiveDir, '2019-02.jsonl'), 'utf8')).trim().split('\n');
    assert.deepEqual(
      jsonl.map((l) => JSON.parse(l).actor),
      ['feb-1', 'jan-late', 'feb-2'],
    );
    // Each archiving is audited.
    const { rows: audited } = await pool.query(
      `select target_id, after from audit_log where action = 'audit.month_archived' order by seq limit 2`,
    );
    assert.equal(audited[1].target_id, '2019-02');
    assert.equal(audited[1].after.rows, 3);

    const ok = await cli(['--archive', archiveDir], cliEnv);
    assert.equal(ok.code, 0, ok.out);
    assert.match(ok.out, /^audit archive OK: \d+ months, 8 records \(2019-01 to /m);
  });

  it('names the first month and record that break: an edited record, an edited manifest, a removed month', async () => {
    const archiveDir = path.join(dir, 'archive');
    const copy = async (name: string) => {
      const to = path.join(dir, name);
      await fs.cp(archiveDir, to, { recursive: true });
      return to;
    };
    const edited = await copy('t-line');
    const file = path.join(edited, '2019-02.jsonl');
    const lines = (await fs.readFile(file, 'utf8')).split('\n');
    lines[1] = lines[1]!.replace('"actor":"jan-late"', '"actor":"someone else"');
    await fs.writeFile(file, lines.join('\n'));
    let r = await cli(['--archive', edited], cliEnv);
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, /BROKEN at month 2019-02, record seq 4: 2019-02\.jsonl does not have the SHA-256/);

    const manifest = await copy('t-manifest');
    const mf = path.join(manifest, '2019-03.manifest.json');
    const m = JSON.parse(await fs.readFile(mf, 'utf8'));
    await fs.writeFile(mf, JSON.stringify({ ...m, rows: m.rows - 1 }, null, 2) + '\n');
    r = await cli(['--archive', manifest], cliEnv);
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, /BROKEN at month 2019-03: 2019-03\.manifest\.json: its signature does not verify/);

    const removed = await copy('t-removed');
    await fs.rm(path.join(removed, '2019-02.jsonl'));
    r = await cli(['--archive', removed], cliEnv);
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, /BROKEN at month 2019-02: 2019-02\.jsonl is missing/);
    await fs.rm(path.join(removed, '2019-02.manifest.json'));
    r = await cli(['--archive', removed], cliEnv);
    assert.match(r.out, /BROKEN at month 2019-02: month 2019-02 is missing/);

    r = await cli(['--archive', path.join(dir, 'nowhere')], cliEnv);
    assert.equal(r.code, 2, r.out);
  });

  it('reuses the files a crash left behind before the month was recorded, and never overwrites ones that do not verify', async () => {
    // A crash after writing March's files, before its row in audit_archives: the next run records the same files.
    const mf = path.join(dir, 'archive', '2019-03.manifest.json');
    const bytes = await fs.readFile(mf);
    const recorded = async () =>
      (await pool.query(`select manifest_sha256 from audit_archives where month = '2019-03-01'`)).rows;
    const [before] = await recorded();
    await pool.query(`delete from audit_archives where month = '2019-03-01'`);
    const { retention } = services();
    assert.deepEqual(
      (await retention.archiveClosed()).map((m) => [m.month, m.rows]),
      [['2019-03', 2]],
    );
    assert.deepEqual(await recorded(), [before]);
    assert.deepEqual(await fs.readFile(mf), bytes);

    // Files there that do not verify are left as they are, for someone to look at; the month is not recorded.
    await pool.query(`delete from audit_archives where month = '2019-03-01'`);
    const edited = bytes.toString('utf8').replace('"rows": 2', '"rows": 3');
    await fs.writeFile(mf, edited);
    await assert.rejects(
      retention.archiveClosed(),
      /the archive's 2019-03\.manifest\.json exists but does not verify: not overwritten/,
    );
    assert.equal(await fs.readFile(mf, 'utf8'), edited);
    assert.deepEqual(await recorded(), []);
    await fs.writeFile(mf, bytes);
    assert.equal((await retention.archiveClosed()).length, 1);
    assert.deepEqual(await recorded(), [before]);
  });

  it('deletes only archived months past the retention, audits each deletion first, and still verifies', async () => {
    // Every closed month is archived; the clock decides what has expired. In March 2025, with six years,
    // January and February 2019 have, March 2019 has not.
    const at2025 = services(() => new Date('2025-03-01T00:00:00Z'));
    const seqs = old.map((r) => r.seq);
    assert.deepEqual(await at2025.retention.deleteExpired(), [
      { month: '2019-01', rows: 2 },
      { month: '2019-02', rows: 3 },
    ]);
    const { rows: gone } = await pool.query(
      `select to_regclass('audit_log_y2019m01') is null as jan, to_regclass('audit_log_y2019m03') is null as mar`,
    );
    assert.deepEqual(gone[0], { jan: true, mar: false });
    const feb = await fs.readFile(path.join(dir, 'archive', '2019-02.manifest.json'));
    const { rows: records } = await pool.query(
      `select target_id, after from audit_log where action = 'audit.month_deleted' order by seq`,
    );
    assert.deepEqual(
      records.map((r) => [r.target_id, r.after.rows, r.after.lastSeq]),
      [
        ['2019-01', 2, seqs[1]],
        ['2019-02', 3, seqs[4]],
      ],
    );
    assert.equal(records[1].after.manifestSha256, crypto.createHash('sha256').update(feb).digest('hex'));

    // The kept chain begins at March's first record, anchored by February's last hash.
    const v = await at2025.audit.verify();
    assert.equal(v.ok, true, JSON.stringify(v.firstBroken));
    assert.deepEqual(v.deleted, {
      throughMonth: '2019-02',
      lastSeq: seqs[4],
      lastHash: old[4]!.hash,
      rows: 5,
    });
    const db = await cli([], { ...env, AUDIT_CHECKPOINT_DIR: dir });
    assert.equal(db.code, 0, db.out);
    assert.match(db.out, /^audit log OK: \d+ rows, chain intact$/m);
    assert.ok(
      db.out.includes(
        'deleted after their retention: the months through 2019-02, 5 records; ' +
          `the history kept links to seq ${seqs[4]} (hash ${old[4]!.hash}); check them with --archive`,
      ),
      db.out,
    );

    // Within the retention nothing goes, whatever the caller's clock says: the database function checks again.
    await assert.rejects(
      pool.query(`select audit_log_drop_month(date_trunc('month', now() - interval '2 months')::date)`),
      /is within the retention of 6 years/,
    );
    // A control plane whose own retention says one year (as if overridden) still cannot go below the
    // database's: the months past six years go, the first one within them is refused, and the chain holds.
    // That first month is the one six years before the database's clock (it was 2020-12 in December 2026): a
    // fixed month failed once the suite ran in 2027. Read before and after, for a run that crosses a month's end.
    const sixYearsAgo = async () =>
      (
        await pool.query<{ m: string }>(
          `select to_char((now() at time zone 'UTC') - interval '6 years', 'YYYY-MM') as m`,
        )
      ).rows[0]!.m;
    const firstKept = await sixYearsAgo();
    const reckless = services(undefined, 1);
    const refused = await reckless.retention.deleteExpired().then(
      () => assert.fail('a month within six years was deleted'),
      (err: Error) => err.message,
    );
    const months = [...new Set([firstKept, await sixYearsAgo()])].join('|');
    assert.match(refused, new RegExp(`^audit month (${months}) is within the retention of 6 years$`));
    assert.equal((await at2025.audit.verify()).ok, true);
    // A month past the retention but not archived is refused by the function itself.
    await pool.query(`select audit_log_add_partition('2018-12-01')`);
    await assert.rejects(pool.query(`select audit_log_drop_month('2018-12-01')`), /2018-12 is not archived/);
    // Nor one whose archive row does not describe what the month holds (an archive claimed, never written).
    await pool.query(`select audit_log_add_partition('2018-11-01')`);
    await pool.query(
      `insert into audit_archives (month, rows, jsonl_sha256, manifest_sha256)
       values ('2018-11-01', 1, repeat('0', 64), repeat('0', 64))`,
    );
    await assert.rejects(
      pool.query(`select audit_log_drop_month('2018-11-01')`),
      /audit month 2018-11 differs from its archive \(0 rows here, 1 archived\)/,
    );
    assert.equal(
      (await pool.query(`select to_regclass('audit_log_y2018m11') is not null as kept`)).rows[0].kept,
      true,
    );
  });

  it('goes back to one table with the Down Migration and forward again, every hash and link intact', async () => {
    const other = await createTestDatabase();
    const db = new pg.Pool({ connectionString: other, max: 1 });
    try {
      const add = (actor: string) =>
        db.query(
          `insert into audit_log (seq, actor, action, target_type, prev_hash, hash)
           values (0, $1, 'client.create', 'client', '', '')`,
          [actor],
        );
      const chain = async () => (await db.query<Row>(ROWS)).rows;
      const kind = async () =>
        (await db.query(`select relkind from pg_class where oid = 'audit_log'::regclass`)).rows[0].relkind;
      await add('before-1');
      await add('before-2');
      const before = await chain();
      // Down to (and including) the partitions, whatever later migrations exist.
      const all = (await fs.readdir(MIGRATIONS_DIR)).filter((f) => f.endsWith('.sql')).sort();
      const later = all.slice(all.indexOf(`${PARTITIONED}.sql`)).map((f) => f.replace(/\.sql$/, ''));
      await runner({
        databaseUrl: other,
        dir: MIGRATIONS_DIR,
        direction: 'down',
        migrationsTable: 'pgmigrations',
        count: later.length,
        log: () => {},
      });
      assert.equal(await kind(), 'r');
      assert.deepEqual(await chain(), before);
      await add('between');
      assert.deepEqual(await migrate(other), later);
      assert.equal(await kind(), 'p');
      await add('after');
      const after = await chain();
      assert.deepEqual(after.slice(0, 2), before);
      assert.equal(after.length, 4);
      after.forEach((r, i) => {
        assert.equal(r.hash, recordHash(r.prev_hash, r.canonical), `seq ${r.seq}`);
        if (i > 0) assert.equal(r.prev_hash, after[i - 1]!.hash, `seq ${r.seq}`);
      });
    } finally {
      await db.end();
      await dropTestDatabase(other);
    }
  });

  it('refuses a retention under six years unless overridden, and records the override at start', async () => {
    assert.throws(
      () => loadConfig({ AUDIT_RETENTION_YEARS: '5' }),
      (err: unknown) =>
        err instanceof ConfigError &&
        /AUDIT_RETENTION_YEARS=5 is below the 6 years .* set AUDIT_RETENTION_OVERRIDE/.test(err.message),
    );
    assert.equal(loadConfig({ AUDIT_RETENTION_YEARS: '7' }).audit.retentionYears, 7);
    const name = await createTestDatabase();
    try {
      const config = loadConfig({
        DATABASE_URL: name,
        AUDIT_CHECKPOINTS: 'off',
        AUDIT_RETENTION_YEARS: '2',
        AUDIT_RETENTION_OVERRIDE: 'counsel approved, ticket LEGAL-42',
      });
      // As main.ts opens it.
      const db = await openDatabase(config, log, {
        asOwner: (owner) => applyRetention(owner, config.audit),
      });
      try {
        const { rows } = await db.pool.query(
          `select actor, after from audit_log where action = 'audit.retention_override'`,
        );
        assert.deepEqual(rows, [
          {
            actor: 'system:config',
            after: { retentionYears: 2, override: 'counsel approved, ticket LEGAL-42' },
          },
        ]);
        assert.equal((await db.pool.query('select years from audit_retention')).rows[0].years, 2);
      } finally {
        await db.close();
      }
    } finally {
      await dropTestDatabase(name);
    }
  });
});
