import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import pg from 'pg';
import { loadConfig } from '../../control-plane/src/config.ts';
import { createContext, type Context } from '../../control-plane/src/context.ts';
import { createApp } from '../../control-plane/src/app.ts';
import { controlPlaneClient, ok, type ControlPlaneClient } from '@concierge-ops/shared/client';
import type { Role } from '../../control-plane/src/http/auth.ts';
import { createTestDatabase, dropTestDatabase } from './db.ts';

export interface Answer {
  status: number;
  headers: Headers;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- tests read whatever came back
  text: string;
}

export interface TestControlPlane {
  url: string;
  databaseUrl: string;
  adminToken: string;
  ctx: Context;
  /** A separate pool for tests to look at rows directly. */
  db: pg.Pool;
  /** The typed client (@concierge-ops/shared/client) with the admin token. */
  api: ControlPlaneClient;
  /** The typed client with another token, or none (null). */
  apiAs(token: string | null): ControlPlaneClient;
  call(
    method: string,
    path: string,
    opts?: { token?: string | null; body?: unknown; raw?: string; headers?: Record<string, string> },
  ): Promise<Answer>;
  /** Creates a token through the API (the typed client) and returns its secret. */
  token(role: string, client?: string): Promise<string>;
  /** Rows in `table`; for audit_log, its records chained or still staged. */
  count(table: string): Promise<number>;
  close(): Promise<void>;
}

/** The control plane in-process on a loopback port, on its own database cloned from the template. */
export async function startControlPlane(env: Record<string, string> = {}): Promise<TestControlPlane> {
  const databaseUrl = await createTestDatabase();
  const config = loadConfig({ DATABASE_URL: databaseUrl, LOG_LEVEL: 'silent', PORT: '0', ...env });
  const log = pino({ level: config.logLevel });
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 10 });
  const db = new pg.Pool({ connectionString: databaseUrl, max: 2 });
  // Dropping the database at close terminates what is still connected (57P01): expected then, and only then.
  // A pool passes an idle client's error on as its own 'error' event, so both get the same listener.
  let closing = false;
  const onError = (err: Error & { code?: string }) => {
    if (!(closing && err.code === '57P01')) throw err;
  };
  for (const p of [pool, db]) {
    p.on('error', onError);
    p.on('connect', (client) => client.on('error', onError));
  }
  const ctx = createContext(config, log, pool);
  const adminToken = (await ctx.tokens.bootstrap(undefined))!.token;
  await ctx.paging.workers.migrate();
  if (env.WORKERS !== 'off') await ctx.paging.workers.start();
  const app = createApp(ctx);
  const server: http.Server = await new Promise((resolve) => {
    // PORT 0 (the default here) picks a free port; a test that must know it beforehand (a registered OIDC
    // redirect URI) passes PORT and PUBLIC_URL.
    const s = app.listen(config.port, '127.0.0.1', () => resolve(s));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const call: TestControlPlane['call'] = async (method, path, opts = {}) => {
    const token = opts.token === undefined ? adminToken : opts.token;
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
    if (token) headers.authorization = `Bearer ${token}`;
    let body: string | undefined = opts.raw;
    if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers['content-type'] ??= 'application/json';
    } else if (opts.raw !== undefined) headers['content-type'] ??= 'application/json';
    const res = await fetch(url + path, { method, headers, body });
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    return { status: res.status, headers: res.headers, body: parsed, text };
  };

  const apiAs = (token: string | null) => controlPlaneClient(url, token === null ? {} : { token });
  const api = apiAs(adminToken);

  return {
    url,
    databaseUrl,
    adminToken,
    ctx,
    db,
    api,
    apiAs,
    call,
    async token(role, client) {
      const created = ok(
        `creating a ${role} token`,
        await api.POST('/api/v1/tokens', {
          body: { name: `test-${role}`, role: role as Role, ...(client ? { client } : {}) },
        }),
      );
      return created.token;
    },
    async count(table) {
      // A read's audit record is staged (audit_pending) and chained a moment later, moved into audit_log in
      // one statement: counted in both, it counts once whenever that pass runs, and no earlier request's
      // record lands in the middle of a later test's before and after.
      const sql =
        table === 'audit_log'
          ? 'select ((select count(*) from audit_log) + (select count(*) from audit_pending))::int as n'
          : `select count(*)::int as n from ${table}`;
      const { rows } = await db.query<{ n: number }>(sql);
      return rows[0]!.n;
    },
    async close() {
      closing = true;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await ctx.paging.workers.stop();
      await pool.end();
      await db.end();
      await dropTestDatabase(databaseUrl);
    },
  };
}

/**
 * A valid instance body for `client`, with one service of each probe type, monitored since the start of 2026
 * (the tests' outages and months lie in 2026, before the test registers the instance).
 */
export function instanceBody(client: string, slug: string, extra: Record<string, unknown> = {}) {
  return {
    client,
    slug,
    environment: 'prod',
    baseUrl: `https://${slug}.example.test`,
    labels: { region: 'eu' },
    monitoredSince: '2026-01-01T00:00:00Z',
    services: [
      {
        name: 'backend',
        kind: 'backend',
        probe: { type: 'http', url: `https://${slug}.example.test/health` },
      },
      {
        name: 'proxy',
        kind: 'proxy',
        probe: { type: 'http', url: `https://${slug}.example.test/`, expectStatus: 200, timeoutMs: 3000 },
      },
      { name: 'database', kind: 'database', probe: { type: 'tcp', host: '10.0.0.5', port: 5432 } },
      {
        name: 'openemr',
        kind: 'dependency',
        probe: { type: 'http', url: 'https://emr.example.test/api/health' },
      },
    ],
    ...extra,
  };
}

export function clientBody(slug: string, extra: Record<string, unknown> = {}) {
  return {
    slug,
    name: `Practice ${slug}`,
    timeZone: 'America/New_York',
    reportContacts: [`ops@${slug}.example.test`],
    ...extra,
  };
}
