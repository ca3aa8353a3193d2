import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { pino } from 'pino';
import { loadConfig } from '../../control-plane/src/config.ts';
import { ensureDatabase, runningEmbedded, startEmbeddedPostgres } from '@concierge-ops/embedded-postgres';
import { migrate, migrateJobs } from '../../control-plane/src/db/migrate.ts';
import { openDatabase } from '../../control-plane/src/db/open.ts';
import { APP_ROLE, asRole, OWNER_ROLE } from '../../control-plane/src/db/roles.ts';
import { adminQuery, databaseUrl } from '../helpers/db.ts';
import { npmStart, reachableTempDir } from '../helpers/process.ts';

const TOKEN = 'cop_' + 'p'.repeat(43);

/** What the server says to `sql`: its SQLSTATE and message, or 'ok'. */
async function attempt(c: pg.Client, sql: string): Promise<string> {
  await c.query('savepoint s');
  try {
    await c.query(sql);
    await c.query('release savepoint s');
    return 'ok';
  } catch (err) {
    await c.query('rollback to savepoint s');
    const e = err as { code?: string; message: string };
    return `${e.code}: ${e.message}`;
  }
}

/** Every way a holder of the app role's credentials could try to rewrite audit_log: each refused, 42501. */
async function assertAppendOnly(c: pg.Client): Promise<void> {
  await c.query('begin');
  try {
    const before = await c.query<{ n: number }>('select count(*)::int as n from audit_log');
    assert.ok(before.rows[0]!.n > 0);
    assert.equal(
      await attempt(
        c,
        `insert into audit_log (seq, actor, action, target_type, prev_hash, hash) values (0, 'test', 'probe', 'x', '', '')`,
      ),
      'ok',
    );
    for (const sql of [
      `update audit_log set actor = 'forger'`,
      `delete from audit_log`,
      `truncate audit_log`,
      `alter table audit_log disable trigger audit_log_no_update`,
      `drop trigger audit_log_no_update on audit_log`,
      `alter table audit_log owner to current_user`,
      `update audit_pending set actor = 'forger'`,
      `delete from audit_pending`,
      `select id from audit_pending for update`,
      `truncate audit_pending`,
      `alter table audit_pending add column x int`,
      `insert into pgmigrations (name, run_on) values ('forged', now())`,
      `update audit_reports set month = month`,
      `delete from audit_reports`,
      `update audit_verifications set ok = true`,
      `delete from audit_verifications`,
    ])
      assert.match(await attempt(c, sql), /^42501: (permission denied|must be owner)/, sql);
    // Each month of audit_log: no right on the partition itself, and no way to drop or detach it.
    const { rows: parts } = await c.query<{ t: string }>(
      `select inhrelid::regclass::text as t from pg_inherits where inhparent = 'audit_log'::regclass`,
    );
    assert.ok(parts.length >= 3, 'this month and the ones ahead have partitions');
    for (const { t } of parts)
      for (const sql of [
        `update ${t} set actor = 'forger'`,
        `delete from ${t}`,
        `truncate ${t}`,
        `insert into ${t} (seq, actor, action, target_type, prev_hash, hash) values (0, 'f', 'f', 'f', '', '')`,
        `drop table ${t}`,
        `alter table ${t} disable trigger all`,
        `alter table ${t} owner to current_user`,
        `alter table audit_log detach partition ${t}`,
      ])
        assert.match(await attempt(c, sql), /^42501: (permission denied|must be owner)/, sql);
    for (const sql of [
      `update audit_archives set rows = 0`,
      `delete from audit_archives`,
      `update audit_retention set years = 1`,
      `insert into audit_retention (years) values (1)`,
      // A month of its own making, or another table, hung into the log; the owner's functions rewritten.
      `create table audit_log_y2100m01 partition of audit_log for values from ('2100-01-01') to ('2100-02-01')`,
      `alter table audit_log attach partition audit_pending for values from ('2100-01-01') to ('2100-02-01')`,
      `create or replace function audit_log_drop_month(m date) returns bigint language sql as 'select 0::bigint'`,
      `alter function audit_log_drop_month(date) security invoker`,
      `drop function audit_log_add_partition(date)`,
      `select setval('audit_log_seq', 1)`,
    ])
      assert.match(await attempt(c, sql), /^42501: (permission denied|must be owner)/, sql);
    // The owner's functions it may call refuse what retention forbids: a month within the retention, or
    // a past month added behind the archive's back.
    assert.match(
      await attempt(c, `select audit_log_drop_month(date_trunc('month', now())::date)`),
      /^42501: audit month [0-9-]+ is within the retention of 6 years/,
    );
    assert.match(
      await attempt(c, `select audit_log_add_partition('2019-01-01')`),
      /^42501: audit month 2019-01 has passed/,
    );
  } finally {
    await c.query('rollback');
  }
  const { rows } = await c.query<{ superuser: boolean; owned: number }>(
    `select rolsuper as superuser,
       (select count(*)::int from pg_class where relowner = pg_roles.oid) +
       (select count(*)::int from pg_proc where proowner = pg_roles.oid) as owned
     from pg_roles where rolname = current_user`,
  );
  assert.deepEqual(rows[0], { superuser: false, owned: 0 });
}

describe('least privilege: the control plane runs as a role that cannot rewrite the audit log', function () {
  this.timeout(180_000);

  it('embedded default: an existing data folder is handed to the owner role, the app role serves, audits and runs jobs, and is refused UPDATE, DELETE, TRUNCATE and ALTER on audit_log', async () => {
    const dataDir = await reachableTempDir('cp-roles-');
    try {
      // The layout before the role split: one database, everything (graphile-worker's too) the superuser's.
      const old = await startEmbeddedPostgres(dataDir, pino({ level: 'silent' }));
      try {
        const url = await ensureDatabase(old.url, 'concierge_ops');
        await migrate(url);
        await migrateJobs(url);
        const c = new pg.Client({ connectionString: url });
        await c.connect();
        await c.query(
          `insert into audit_log (seq, actor, action, target_type, prev_hash, hash) values (0, 'old', 'kept', 'x', '', '')`,
        );
        await c.end();
      } finally {
        await old.stop();
      }

      const cp = await npmStart({
        DATA_DIR: dataDir,
        BOOTSTRAP_ADMIN_TOKEN: TOKEN,
        AUDIT_CHECKPOINT_EVERY_SECONDS: '10',
      });
      try {
        const call = (method: string, p: string, body?: unknown) =>
          fetch(cp.url + p, {
            method,
            headers: {
              authorization: `Bearer ${TOKEN}`,
              ...(body === undefined ? {} : { 'content-type': 'application/json' }),
            },
            body: body === undefined ? undefined : JSON.stringify(body),
          });
        const created = await call('POST', '/api/v1/clients', {
          slug: 'least',
          name: 'Least Privilege Practice',
          timeZone: 'Europe/London',
        });
        assert.equal(created.status, 201, cp.output());
        const listed = await call('GET', '/api/v1/audit');
        assert.equal(listed.status, 200, `${await listed.clone().text()}\n${cp.output()}`);
        const records = (await listed.json()) as {
          actor: string;
          targetType: string;
        }[];
        assert.ok(
          records.some((r) => r.targetType === 'client'),
          JSON.stringify(records).slice(0, 500),
        );
        // The record written before the upgrade is still there.
        assert.ok(records.some((r) => r.actor === 'old'));
        // Jobs run: the checkpoint job (every 10 s) signs the head, the client's record included.
        const file = path.join(dataDir, 'audit-checkpoints.jsonl');
        let text = '';
        for (let i = 0; i < 300 && !text.trim(); i++) {
          text = await fs.readFile(file, 'utf8').catch(() => '');
          if (!text.trim()) await new Promise((r) => setTimeout(r, 100));
        }
        assert.ok(text.trim(), `no checkpoint written by the job:\n${cp.output()}`);
        const verified = (await (await call('GET', '/api/v1/audit/verify')).json()) as { ok: boolean };
        assert.equal(verified.ok, true, JSON.stringify(verified));

        const running = (await runningEmbedded(dataDir))!;
        const superDb = new URL(running.url);
        superDb.pathname = '/concierge_ops';
        const su = new pg.Client({ connectionString: superDb.toString() });
        await su.connect();
        try {
          // The control plane's own connections are the app role's.
          const users = await su.query<{ usename: string }>(
            `select distinct usename from pg_stat_activity where application_name = 'concierge-ops'`,
          );
          assert.deepEqual(
            users.rows.map((r) => r.usename),
            [APP_ROLE],
          );
          const owners = await su.query<{ owner: string }>(
            `select distinct pg_get_userbyid(relowner) as owner from pg_class
             where relnamespace in ('public'::regnamespace, 'graphile_worker'::regnamespace) and relkind in ('r', 'S')`,
          );
          assert.deepEqual(
            owners.rows.map((r) => r.owner),
            [OWNER_ROLE],
          );
        } finally {
          await su.end();
        }
        for (const role of [APP_ROLE, OWNER_ROLE])
          assert.equal((await fs.stat(path.join(dataDir, `${role}.password`))).mode & 0o777, 0o600);
        const password = (await fs.readFile(path.join(dataDir, `${APP_ROLE}.password`), 'utf8')).trim();
        const app = new pg.Client({ connectionString: asRole(superDb.toString(), APP_ROLE, password) });
        await app.connect();
        try {
          await assertAppendOnly(app);
        } finally {
          await app.end();
        }
      } finally {
        cp.child.kill('SIGTERM');
        assert.equal(await cp.exited, 0, cp.output());
      }
    } finally {
      await fs.rm(dataDir, { recursive: true, force: true });
    }
  });

  it('external PostgreSQL: migrates as MIGRATION_DATABASE_URL and runs as DATABASE_URL, set up by the script in docs/audit.md', async () => {
    const suffix = Math.random().toString(36).slice(2, 8);
    const owner = `t_owner_${suffix}`;
    const appRole = `t_app_${suffix}`;
    const dbName = `t_roles_${suffix}`;
    // The operator's script (docs/audit.md, "Database roles"), with these names.
    const doc = await fs.readFile(path.resolve(import.meta.dirname, '../../docs/audit.md'), 'utf8');
    const script = /<!-- roles-script -->\s*```sql\n([\s\S]*?)```/.exec(doc)?.[1];
    assert.ok(script, 'docs/audit.md has no roles script');
    const named = script
      .replaceAll('concierge_ops_owner', owner)
      .replaceAll('concierge_ops_app', appRole)
      .replaceAll('concierge_ops', dbName)
      .replaceAll("'change-me-owner'", "'pw-owner'")
      .replaceAll("'change-me-app'", "'pw-app'");
    const [serverPart, dbPart] = named.split(/^\s*\\c .*$/m);
    for (const sql of serverPart!.split(';').filter((s) => s.replace(/--.*$/gm, '').trim()))
      await adminQuery(sql);
    const c = new pg.Client({ connectionString: databaseUrl(dbName) });
    await c.connect();
    await c.query(dbPart!);
    await c.end();
    const at = (role: string, pw: string) => asRole(databaseUrl(dbName), role, pw);
    const log = pino({ level: 'silent' });
    const config = loadConfig({
      DATABASE_URL: at(appRole, 'pw-app'),
      MIGRATION_DATABASE_URL: at(owner, 'pw-owner'),
      AUDIT_CHECKPOINTS: 'off',
    });
    const db = await openDatabase(config, log);
    try {
      await db.pool.query(
        `insert into audit_log (seq, actor, action, target_type, prev_hash, hash) values (0, 'ext', 'a', 'x', '', '')`,
      );
      const app = new pg.Client({ connectionString: at(appRole, 'pw-app') });
      await app.connect();
      try {
        await assertAppendOnly(app);
      } finally {
        await app.end();
      }
    } finally {
      await db.close();
      await adminQuery(`drop database ${dbName} with (force)`);
      await adminQuery(`drop role ${appRole}`);
      await adminQuery(`drop role ${owner}`);
    }
  });

  it('warns that tamper resistance rests on checkpoints alone when DATABASE_URL owns the schema', async () => {
    const warnings: string[] = [];
    const log = pino({ level: 'warn' }, { write: (s: string) => void warnings.push(JSON.parse(s).msg) });
    const name = `t_owned_${Math.random().toString(36).slice(2, 8)}`;
    await adminQuery(`create database ${name}`);
    const db = await openDatabase(
      loadConfig({ DATABASE_URL: databaseUrl(name), AUDIT_CHECKPOINTS: 'off' }),
      log,
    );
    await db.close();
    await adminQuery(`drop database ${name} with (force)`);
    assert.match(warnings.join('\n'), /rests on the signed checkpoints alone; set MIGRATION_DATABASE_URL/);
  });
});
