/**
 * Signed checkpoints against an attacker holding the database's superuser credentials: each tampering the
 * hash chain alone misses (a truncated tail, a recomputed chain, a forged row chained in) is caught by the
 * checkpoints published outside the database, and named; so are an edited checkpoint file and a foreign key.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { loadConfig } from '../../control-plane/src/config.ts';
import { checkpointSetup } from '../../control-plane/src/audit/keys.ts';
import { signCheckpoint, type Checkpoint } from '../../control-plane/src/audit/checkpoints.ts';
import { renderOpsMail } from '../../control-plane/src/ops/mail.ts';
import { clientBody, startControlPlane, type TestControlPlane } from '../helpers/control-plane.ts';

const run = promisify(execFile);

/** Rewrites every row from `from` on with hashes chained anew: what an attacker does to hide a change. */
const RECOMPUTE = (from: number) => `do $$
  declare r record; p bytea;
  begin
    for r in select seq from audit_log where seq >= ${from} order by seq loop
      select coalesce((select hash from audit_log where seq < r.seq order by seq desc limit 1), '\\x'::bytea) into p;
      update audit_log a set prev_hash = p, hash = sha256(p || audit_log_canonical(a)) where seq = r.seq;
    end loop;
  end $$`;

async function asSuperuser(cp: TestControlPlane, ...sql: string[]) {
  await cp.db.query('alter table audit_log disable trigger user');
  try {
    for (const s of sql) await cp.db.query(s);
  } finally {
    await cp.db.query('alter table audit_log enable trigger user');
  }
}

describe('audit checkpoints', () => {
  let dir: string;
  let keyFile: string;
  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'audit-cp-'));
    keyFile = path.join(dir, 'signing-key.pem');
    const { privateKey } = crypto.generateKeyPairSync('ed25519');
    await fs.writeFile(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  });
  after(() => fs.rm(dir, { recursive: true, force: true }));

  /**
   * A control plane with a history: the bootstrap token, 3 clients, checkpoint 1, a seq left unused (as a
   * rolled-back transaction leaves one), 9 more clients, checkpoint 2. Answers both checkpoints.
   */
  async function withHistory(
    name: string,
    test: (cp: TestControlPlane, cps: Checkpoint[], env: Record<string, string>) => Promise<void>,
  ) {
    const env = {
      AUDIT_SIGNING_KEY_FILE: keyFile,
      AUDIT_CHECKPOINT_DIR: path.join(dir, name),
      WORKERS: 'off',
    };
    const cp = await startControlPlane(env);
    try {
      const cps: Checkpoint[] = [];
      for (let i = 0; i < 3; i++)
        await cp.call('POST', '/api/v1/clients', { body: clientBody(`${name}-${i}`) });
      cps.push((await cp.call('POST', '/api/v1/audit/checkpoints')).body);
      await cp.db.query(`select nextval('audit_log_seq')`);
      for (let i = 3; i < 12; i++)
        await cp.call('POST', '/api/v1/clients', { body: clientBody(`${name}-${i}`) });
      const second = await cp.call('POST', '/api/v1/audit/checkpoints');
      assert.equal(second.status, 201);
      cps.push(second.body);
      await test(cp, cps, env);
    } finally {
      await cp.close();
    }
  }

  async function verifyCli(cp: TestControlPlane, env: Record<string, string>) {
    try {
      const { stdout } = await run('npm', ['run', '--silent', 'audit:verify'], {
        env: { ...process.env, DATABASE_URL: cp.databaseUrl, ...env },
      });
      return { code: 0, out: stdout };
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      return { code: e.code, out: e.stdout + e.stderr };
    }
  }

  it('signs the head on demand, publishes it to the file and /metrics, and verifies intact history', async () => {
    await withHistory('intact', async (cp, [c1, c2], env) => {
      assert.equal(c2.rows, c2.seq - 1, 'one seq was left unused');
      assert.match(c2.hash, /^[0-9a-f]{64}$/);
      assert.equal(typeof c2.sig, 'string');
      const head = await cp.db.query(
        `select encode(hash, 'hex') as hash from audit_log order by seq desc limit 1`,
      );
      assert.equal(c2.hash, head.rows[0].hash);
      const file = (
        await fs.readFile(path.join(env.AUDIT_CHECKPOINT_DIR!, 'audit-checkpoints.jsonl'), 'utf8')
      )
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      assert.deepEqual(file, [c1, c2]);
      // The admin's request is itself recorded, and covered by the checkpoint it asked for.
      const last = await cp.call('GET', '/api/v1/audit?limit=1');
      assert.equal(last.body[0].action, 'audit.checkpoint');
      assert.equal(last.body[0].seq, c2.seq);

      const v = await cp.call('GET', '/api/v1/audit/verify');
      assert.equal(v.body.ok, true);
      assert.equal(v.body.firstBroken, null);
      assert.deepEqual(v.body.verifiedThrough, { seq: c2.seq, at: c2.at });
      assert.equal(v.body.checkpoints.count, 2);
      assert.equal(v.body.checkpoints.newestSeq, c2.seq);

      const metrics = (await cp.call('GET', '/metrics')).text;
      assert.match(metrics, new RegExp(`^concierge_ops_audit_checkpoint_seq ${c2.seq}$`, 'm'));
      assert.match(
        metrics,
        new RegExp(`^concierge_ops_audit_checkpoint_timestamp_seconds ${Date.parse(c2.at) / 1000}$`, 'm'),
      );

      const mail = renderOpsMail(await cp.ctx.ops.daily());
      assert.match(
        mail.text,
        new RegExp(`\\[ok\\] Audit checkpoints.*\\n {2}- newest: seq ${c2.seq}, hash ${c2.hash}`),
      );

      const cli = await verifyCli(cp, env);
      assert.equal(cli.code, 0, cli.out);
      assert.match(cli.out, new RegExp(`checkpoints: 2 in .*; verified history reaches seq ${c2.seq}`));
    });
  });

  it('names the truncated tail when the newest 5 rows are deleted', async () => {
    await withHistory('tail', async (cp, [c1, c2], env) => {
      await asSuperuser(cp, `delete from audit_log where seq > ${c2.seq - 5}`);
      const v = await cp.call('GET', '/api/v1/audit/verify');
      assert.equal(v.body.ok, false);
      assert.equal(v.body.firstBroken.seq, c2.seq);
      assert.equal(v.body.firstBroken.checkpoint.line, 2);
      assert.match(v.body.firstBroken.reason, new RegExp(`ends at seq ${c2.seq - 5}.*removed from the end`));
      assert.deepEqual(v.body.verifiedThrough, { seq: c1.seq, at: c1.at });
      const cli = await verifyCli(cp, env);
      assert.equal(cli.code, 1, cli.out);
      assert.match(cli.out, new RegExp(`audit log BROKEN at seq ${c2.seq}: .*removed from the end`));
      assert.match(cli.out, new RegExp(`verified history reaches seq ${c1.seq}`));
    });
  });

  it('names the checkpoint a rewrite of row 10 with every later hash recomputed no longer matches', async () => {
    await withHistory('rewrite', async (cp, [c1, c2]) => {
      assert.ok(c1.seq < 10 && c2.seq > 10);
      await asSuperuser(
        cp,
        `update audit_log set after = jsonb_set(after, '{name}', '"Forged"') where seq = 10`,
        RECOMPUTE(10),
      );
      const v = await cp.call('GET', '/api/v1/audit/verify');
      assert.equal(v.body.ok, false);
      assert.equal(v.body.firstBroken.seq, c2.seq);
      assert.match(
        v.body.firstBroken.reason,
        new RegExp(`rows after seq ${c1.seq} up to seq ${c2.seq} were changed, forged or removed`),
      );
      assert.deepEqual(v.body.verifiedThrough, { seq: c1.seq, at: c1.at });
    });
  });

  it('names the checkpoint a forged row chained into the history breaks', async () => {
    await withHistory('forged', async (cp, [c1, c2]) => {
      const gap = c1.seq + 1; // the seq left unused
      await asSuperuser(
        cp,
        `insert into audit_log (seq, at, actor, action, target_type, target_id, prev_hash, hash)
         values (${gap}, now(), 'admin (admin)', 'token.create', 'token', 'forged', '', '')`,
        RECOMPUTE(gap),
      );
      const v = await cp.call('GET', '/api/v1/audit/verify');
      assert.equal(v.body.ok, false);
      assert.equal(v.body.firstBroken.seq, c2.seq);
      assert.match(v.body.firstBroken.reason, /changed, forged or removed and the chain recomputed/);
    });
  });

  it('names the row a superuser changed with the triggers disabled', async () => {
    await withHistory('superuser', async (cp, [c1]) => {
      await asSuperuser(cp, `update audit_log set actor = 'someone else' where seq = 10`);
      const v = await cp.call('GET', '/api/v1/audit/verify');
      assert.equal(v.body.ok, false);
      assert.equal(v.body.firstBroken.seq, 10);
      assert.match(v.body.firstBroken.reason, /altered/);
      assert.deepEqual(v.body.verifiedThrough, { seq: c1.seq, at: c1.at });
    });
  });

  it('names an edited checkpoint line and one signed by another key', async () => {
    await withHistory('file', async (cp, [, c2], env) => {
      const file = path.join(env.AUDIT_CHECKPOINT_DIR!, 'audit-checkpoints.jsonl');
      const lines = (await fs.readFile(file, 'utf8')).trim().split('\n');
      await fs.writeFile(file, [lines[0], JSON.stringify({ ...c2, rows: c2.rows + 1 })].join('\n') + '\n');
      let v = await cp.call('GET', '/api/v1/audit/verify');
      assert.equal(v.body.ok, false);
      assert.equal(v.body.firstBroken.checkpoint.line, 2);
      assert.match(v.body.firstBroken.reason, /^checkpoint line 2: its signature does not verify/);

      // A checkpoint an attacker signed with a key of their own, for a chain they recomputed.
      const { privateKey } = crypto.generateKeyPairSync('ed25519');
      const other = path.join(dir, 'other.pem');
      await fs.writeFile(other, privateKey.export({ type: 'pkcs8', format: 'pem' }));
      const foreign = checkpointSetup(
        loadConfig({
          DATABASE_URL: cp.databaseUrl,
          AUDIT_SIGNING_KEY_FILE: other,
          AUDIT_CHECKPOINT_DIR: dir,
        }),
        pino({ level: 'silent' }),
        'sign',
      )!;
      assert.notEqual(foreign.keys.keyId, c2.keyId);
      await fs.writeFile(
        file,
        [lines[0], JSON.stringify(signCheckpoint(c2, foreign.keys))].join('\n') + '\n',
      );
      v = await cp.call('GET', '/api/v1/audit/verify');
      assert.equal(v.body.firstBroken.checkpoint.line, 2);
      assert.match(v.body.firstBroken.reason, /signed by key [0-9a-f]{16}, not by this control plane's key/);
    });
  });

  it('checkpoints as a durable job at the configured cadence', async () => {
    const env = {
      AUDIT_SIGNING_KEY_FILE: keyFile,
      AUDIT_CHECKPOINT_DIR: path.join(dir, 'job'),
      AUDIT_CHECKPOINT_EVERY_SECONDS: '600',
    };
    const cp = await startControlPlane(env);
    try {
      const job = await cp.db.query<{ wait: number }>(
        `select extract(epoch from run_at - now())::float8 as wait from graphile_worker.jobs
         where task_identifier = 'audit-checkpoint'`,
      );
      assert.equal(job.rows.length, 1);
      assert.ok(job.rows[0]!.wait > 590 && job.rows[0]!.wait <= 600, String(job.rows[0]!.wait));
      // Due now: a worker takes it, writes a checkpoint, and schedules the next one a period later.
      await cp.db.query(
        `update graphile_worker._private_jobs set run_at = now() where key = 'audit-checkpoint'`,
      );
      const file = path.join(env.AUDIT_CHECKPOINT_DIR, 'audit-checkpoints.jsonl');
      for (let i = 0; i < 100 && !(await fs.stat(file).catch(() => undefined)); i++)
        await new Promise((r) => setTimeout(r, 100));
      const written = JSON.parse((await fs.readFile(file, 'utf8')).trim());
      const head = await cp.db.query(`select max(seq) as seq from audit_log`);
      assert.equal(written.seq, head.rows[0].seq);
    } finally {
      await cp.close();
    }
  });

  it('generates a 0600 key on the embedded default, and runs without checkpoints when DATABASE_URL has no key', async () => {
    const dataDir = path.join(dir, 'embedded');
    const warnings: string[] = [];
    const log = pino({ level: 'warn' }, { write: (s: string) => void warnings.push(JSON.parse(s).msg) });
    const made = checkpointSetup(loadConfig({ DATA_DIR: dataDir }), log, 'sign')!;
    const key = path.join(dataDir, 'audit-signing-key.pem');
    assert.equal((await fs.stat(key)).mode & 0o777, 0o600);
    assert.match(
      await fs.readFile(path.join(dataDir, 'audit-signing-key.pub.pem'), 'utf8'),
      /BEGIN PUBLIC KEY/,
    );
    assert.match(warnings.join('\n'), /BACK IT UP/);
    // The next start reads the same key.
    assert.equal(
      checkpointSetup(loadConfig({ DATA_DIR: dataDir }), log, 'sign')!.keys.keyId,
      made.keys.keyId,
    );

    const cp = await startControlPlane();
    try {
      const r = await cp.call('POST', '/api/v1/audit/checkpoints');
      assert.equal(r.status, 409);
      assert.match(r.body.detail, /no signing key/);
      const v = await cp.call('GET', '/api/v1/audit/verify');
      assert.equal(v.body.checkpoints.enabled, false);
      assert.doesNotMatch((await cp.call('GET', '/metrics')).text, /audit_checkpoint/);
      assert.match(
        renderOpsMail(await cp.ctx.ops.daily()).text,
        /\[!!\] Audit checkpoints.*\n {2}- not written/,
      );
    } finally {
      await cp.close();
    }
  });
});
