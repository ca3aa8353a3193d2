import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import path from 'node:path';
import { pino } from 'pino';
import pg from 'pg';
import { loadConfig } from '../../../control-plane/src/config.ts';
import { createContext, type Context } from '../../../control-plane/src/context.ts';
import { createTestDatabase, dropTestDatabase } from '../db.ts';

export interface Reply {
  /** 0: no answer (timed out or the process died; it was restarted). */
  status: number;
  contentType: string;
  wwwAuthenticate: string | null;
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read whatever came back
  body: any;
  ms: number;
}

export interface CallOptions {
  token?: string | null;
  body?: unknown;
  /** Sent as is (with `application/json` unless headers say otherwise). */
  raw?: string;
  headers?: Record<string, string>;
}

/** A request no endpoint should need longer for; past it the process is taken as stuck and replaced. */
export const REQUEST_TIMEOUT_MS = 4000;

/**
 * The control plane in a child process on its own database (see server.ts), plus an in-process context on the
 * same database for what the API cannot do (running the monthly reports, flushing staged audit records).
 */
export class AttackTarget {
  url = '';
  restarts = 0;
  private child: ChildProcess | undefined;
  private out = '';
  private constructor(
    readonly databaseUrl: string,
    readonly adminToken: string,
    readonly db: pg.Pool,
    readonly ctx: Context,
  ) {}

  static async start(): Promise<AttackTarget> {
    const databaseUrl = await createTestDatabase();
    const adminToken = 'cop_attack_' + crypto.randomBytes(24).toString('hex');
    const db = new pg.Pool({ connectionString: databaseUrl, max: 3 });
    const config = loadConfig({ DATABASE_URL: databaseUrl, LOG_LEVEL: 'silent', PORT: '0' });
    const ctx = createContext(config, pino({ level: 'silent' }), db);
    const t = new AttackTarget(databaseUrl, adminToken, db, ctx);
    await t.spawn();
    return t;
  }

  private async spawn(): Promise<void> {
    this.out = '';
    const child = spawn(
      process.execPath,
      // A runaway request dies at 512 MB instead of taking the machine's memory (issue 20 saw 2.8 GB).
      ['--max-old-space-size=512', '--import', 'tsx', path.join(import.meta.dirname, 'server.ts')],
      {
        env: { ...process.env, ATTACK_DATABASE_URL: this.databaseUrl, ATTACK_ADMIN_TOKEN: this.adminToken },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    this.child = child;
    child.stdout!.on('data', (d) => (this.out = (this.out + d).slice(-2_000_000)));
    child.stderr!.on('data', (d) => (this.out = (this.out + d).slice(-2_000_000)));
    this.url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`attack target did not start:\n${this.out}`)), 60_000);
      const onData = () => {
        const m = /attack target on (http:\/\/\S+)/.exec(this.out);
        if (m) {
          clearTimeout(timer);
          child.stdout!.off('data', onData);
          resolve(m[1]!);
        }
      };
      child.stdout!.on('data', onData);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`attack target exited with ${code}:\n${this.out}`));
      });
    });
  }

  private async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  /** The logged cause of a 500 (its request id is in the problem's detail). */
  causeOf(text: string): string {
    const id = /request (\S+)$/.exec(String(JSON.parse(text || '{}')?.detail ?? ''))?.[1];
    if (!id) return '';
    const line = this.out.split('\n').find((l) => l.includes(id) && l.includes('"err"'));
    if (!line) return '';
    try {
      const err = JSON.parse(line).err as { type?: string; message?: string; code?: string };
      return `${err.type ?? 'Error'}${err.code ? ` ${err.code}` : ''}: ${err.message ?? ''}`.slice(0, 200);
    } catch {
      return line.slice(0, 200);
    }
  }

  async call(method: string, pathAndQuery: string, opts: CallOptions = {}): Promise<Reply> {
    const token = opts.token === undefined ? this.adminToken : opts.token;
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
    if (token) headers.authorization = `Bearer ${token}`;
    let body: string | undefined = opts.raw;
    if (opts.body !== undefined) body = JSON.stringify(opts.body);
    if (body !== undefined) headers['content-type'] ??= 'application/json';
    const started = performance.now();
    try {
      const res = await fetch(this.url + pathAndQuery, {
        method,
        headers,
        body,
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      const text = await res.text();
      let parsed: unknown;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        parsed = undefined;
      }
      return {
        status: res.status,
        contentType: res.headers.get('content-type') ?? '',
        wwwAuthenticate: res.headers.get('www-authenticate'),
        text,
        body: parsed,
        ms: performance.now() - started,
      };
    } catch (err) {
      const ms = performance.now() - started;
      const died = this.child?.exitCode !== null || this.child?.signalCode !== null;
      const tail = this.out.slice(-300).replace(/\s+/g, ' ');
      await this.kill();
      this.restarts++;
      await this.spawn();
      return {
        status: 0,
        contentType: '',
        wwwAuthenticate: null,
        text: died
          ? `the process died (${tail})`
          : `no answer within ${REQUEST_TIMEOUT_MS} ms (${(err as Error).name}); process killed and restarted`,
        body: undefined,
        ms,
      };
    }
  }

  async close(): Promise<void> {
    await this.kill();
    await this.db.end();
    await dropTestDatabase(this.databaseUrl);
  }
}
