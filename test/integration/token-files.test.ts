/**
 * Tokens from secret files (PROVISION_TOKENS_DIR), as a container platform hands them to `npm start`: the first
 * start creates them, a restart with the same files changes nothing, a changed file rotates its token (audited),
 * and a malformed file stops the start with a message naming it.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { createTestDatabase, dropTestDatabase } from '../helpers/db.ts';
import { npmStart, type StartedControlPlane } from '../helpers/process.ts';

const ADMIN = 'adm_' + 'a'.repeat(40);
const PROBER = 'prb_' + 'p'.repeat(40);
const PROBER_NEW = 'prb_' + 'q'.repeat(40);
const PROMETHEUS = 'prm_' + 'm'.repeat(40);

describe('tokens provisioned from secret files', function () {
  this.timeout(180_000);
  let databaseUrl: string;
  let dir: string;
  let db: pg.Pool;
  let cp: StartedControlPlane | undefined;

  before(async () => {
    databaseUrl = await createTestDatabase();
    db = new pg.Pool({ connectionString: databaseUrl, max: 1 });
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'cp-tokens-'));
    await fs.writeFile(path.join(dir, 'admin.token'), `${ADMIN}\n`);
    await fs.writeFile(path.join(dir, 'prober.token'), PROBER);
    // One folder down, as a compose volume or a Kubernetes secret mounts it.
    await fs.mkdir(path.join(dir, 'prometheus'));
    await fs.writeFile(path.join(dir, 'prometheus', 'prometheus.token'), PROMETHEUS);
  });
  afterEach(async () => {
    cp?.child.kill('SIGTERM');
    await cp?.exited;
    cp = undefined;
  });
  after(async () => {
    await db.end();
    await dropTestDatabase(databaseUrl);
    await fs.rm(dir, { recursive: true, force: true });
  });

  const start = async () =>
    (cp = await npmStart({ DATABASE_URL: databaseUrl, PROVISION_TOKENS_DIR: dir, REPORT_SCHEDULER: 'off' }));
  const get = (p: string, token: string) =>
    fetch(cp!.url + p, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.status);
  // What start-up wrote (reads such as token.list are audited too, under the caller's name).
  const records = async () =>
    (
      await db.query<{
        actor: string;
        action: string;
        before: { name: string } | null;
        after: Record<string, string>;
      }>(
        `select actor, action, before, after from audit_log where actor = 'system' and action like 'token.%' order by seq`,
      )
    ).rows;

  it('creates each file as a token of its role on the first start, the admin file being the first admin', async () => {
    await start();
    assert.doesNotMatch(cp!.output(), /First start: an admin token was created/);
    assert.equal(await get('/api/v1/tokens', ADMIN), 200);
    assert.equal(await get('/api/v1/sd/probe-targets', PROBER), 200);
    assert.equal(await get('/api/v1/tokens', PROBER), 403, 'a prober token is a prober, not an admin');
    assert.equal(await get('/metrics', PROMETHEUS), 200);
    const rows = await records();
    assert.deepEqual(
      rows.map((r) => [r.actor, r.action, r.after.name, r.after.role]),
      [
        ['system', 'token.provision', 'admin', 'admin'],
        ['system', 'token.provision', 'prober', 'prober'],
        ['system', 'token.provision', 'prometheus', 'prometheus'],
      ],
    );
  });

  it('changes nothing and records nothing when restarted with the same files', async () => {
    const before = await records();
    const tokens = (await db.query('select count(*)::int as n from api_tokens')).rows[0].n;
    await start();
    assert.equal(await get('/api/v1/tokens', ADMIN), 200);
    assert.equal(await get('/api/v1/sd/probe-targets', PROBER), 200);
    assert.deepEqual(await records(), before);
    assert.equal((await db.query('select count(*)::int as n from api_tokens')).rows[0].n, tokens);
  });

  it('rotates a token whose file changed: the old secret is refused, the new one works, audited', async () => {
    await fs.writeFile(path.join(dir, 'prober.token'), PROBER_NEW);
    await start();
    assert.equal(await get('/api/v1/sd/probe-targets', PROBER), 401);
    assert.equal(await get('/api/v1/sd/probe-targets', PROBER_NEW), 200);
    assert.equal(await get('/api/v1/tokens', ADMIN), 200, 'the other files are left alone');
    const last = (await records()).at(-1)!;
    assert.equal(last.actor, 'system');
    assert.equal(last.action, 'token.rotate');
    assert.equal(last.before!.name, 'prober');
    assert.equal(last.after.provisionedFrom, 'prober');
    assert.equal(last.after.file, path.join(dir, 'prober.token'));
    assert.equal(last.after.role, 'prober');
    const listed = await fetch(cp!.url + '/api/v1/tokens', { headers: { authorization: `Bearer ${ADMIN}` } });
    const probers = ((await listed.json()) as { name: string; revokedAt: string | null }[]).filter(
      (t) => t.name === 'prober',
    );
    assert.deepEqual(
      probers.map((t) => t.revokedAt === null),
      [false, true],
    );
  });

  it('refuses to start on a malformed file, naming the file and not echoing its contents', async () => {
    const bad = path.join(dir, 'backup-agent.token');
    await fs.writeFile(bad, 'short secret\n');
    try {
      await assert.rejects(start(), (err: Error) => {
        assert.match(err.message, /exited with 2/);
        assert.ok(err.message.includes(`${bad}: must hold one token`), err.message);
        assert.doesNotMatch(err.message, /short secret/);
        return true;
      });
      await fs.rm(bad);
      const typo = path.join(dir, 'probr.token');
      await fs.writeFile(typo, PROBER_NEW.replace('q', 'r'));
      await assert.rejects(start(), (err: Error) =>
        err.message.includes(`${typo}: a token file is named <role>.token or <role>.<label>.token`),
      );
    } finally {
      cp = undefined;
    }
  });
});
