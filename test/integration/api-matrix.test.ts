import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { AttackTarget } from '../helpers/attack/target.ts';
import { seedFleet, type Fleet } from '../helpers/attack/fleet.ts';
import { destroys, key, operations, realPath, validBody, type Operation } from '../helpers/attack/openapi.ts';
import { assertNone, shown, type Failure } from '../helpers/attack/report.ts';

/**
 * Who calls, in the order asked (the staff last, so that what they may change or end, they change after the
 * others were refused). `role` is the token's role as x-roles names it; extend this list with each new role.
 */
const CALLERS = [
  { name: 'no token', role: null },
  { name: 'revoked token', role: null },
  { name: 'prober', role: 'prober' },
  { name: 'alertmanager', role: 'alertmanager' },
  { name: 'backup-agent', role: 'backup-agent' },
  { name: 'prometheus', role: 'prometheus' },
  { name: 'client of A', role: 'client' },
  { name: 'operator', role: 'operator' },
  { name: 'admin', role: 'admin' },
] as const;
type Caller = (typeof CALLERS)[number];
const STAFF = ['admin', 'operator'];
const ONLY = process.env.ATTACK_ROUTE;
/** The only endpoints of each service role (docs/api.md: "limited to their own endpoints"). */
const SERVICE_ENDPOINTS: Record<string, RegExp> = {
  prober: /^\/api\/v1\/(sd|availability)\//,
  alertmanager: /^\/api\/v1\/alertmanager\//,
  'backup-agent': /^\/api\/v1\/backups\//,
  prometheus: /^\/(metrics$|api\/v1\/sd\/scrape-targets$)/,
};
/** Query parameters that name a tenant's things, and B's value for each. */
const tenantQuery = (fleet: Fleet): Record<string, string> => ({
  client: fleet.b.slug,
  instance: fleet.b.instance,
});

describe('the API under attack: every route x every role x the other tenant’s ids', function () {
  this.timeout(300_000);
  let t: AttackTarget;
  let fleet: Fleet;
  let ops: Operation[];
  const tokens = new Map<string, string | null>();
  const setup: Failure[] = [];

  before(async () => {
    t = await AttackTarget.start();
    fleet = await seedFleet(t, ['alder-clinic', 'birch-dental']);
    tokens.set('no token', null);
    tokens.set('admin', t.adminToken);
    tokens.set('client of A', fleet.a.clientToken);
    for (const c of CALLERS.filter((c) => c.role && !tokens.has(c.name))) {
      const r = await t.call('POST', '/api/v1/tokens', { body: { name: `matrix ${c.name}`, role: c.role } });
      if (r.status === 201) tokens.set(c.name, r.body.token);
      else
        setup.push({
          route: 'POST /api/v1/tokens',
          request: `role ${c.role}`,
          problem: `cannot create a ${c.role} token (${r.status} ${shown(r.text, 160)}): its cases were not run`,
        });
    }
    const revoked = await t.call('POST', '/api/v1/tokens', {
      body: { name: 'matrix revoked', role: 'admin' },
    });
    assert.equal((await t.call('POST', `/api/v1/tokens/${revoked.body.id}/revoke`)).status < 300, true);
    tokens.set('revoked token', revoked.body.token);
    const doc = await t.call('GET', '/api/v1/openapi.json');
    assert.equal(doc.status, 200, doc.text);
    ops = operations(doc.body).filter((op) => !ONLY || key(op) === ONLY);
    // Routes that end what they name go last (B's client decommissioned at the very end).
    const rank = (op: Operation) => (!destroys(op) ? 0 : op.path.startsWith('/api/v1/clients/') ? 2 : 1);
    ops.sort((x, y) => rank(x) - rank(y));
  });
  after(() => t?.close());

  /** What the document says this caller gets; undefined: allowed (any answer below 500). */
  function expected(op: Operation, c: Caller, namesB: boolean): number | undefined {
    if (!op.roles) return undefined;
    if (c.role === null) return 401;
    if (!op.roles.includes(c.role)) return 403;
    if (c.role === 'client' && namesB) return 404;
    return undefined;
  }

  it('a body naming A with B’s instance is refused (Alertmanager: kept away from A), and A’s reads show nothing of B', async () => {
    const failures: Failure[] = [];
    const swap = new Map([
      [fleet.a.instance, fleet.b.instance],
      [fleet.a.instanceId, fleet.b.instanceId],
      [fleet.a.runId, fleet.b.runId],
    ]);
    /** Variants of a body with one of A's references replaced by B's, the rest left naming A. */
    const crossed = (body: unknown): string[] => {
      const out: string[] = [];
      const walk = (v: unknown, set: (x: unknown) => void): void => {
        if (typeof v === 'string' && swap.has(v)) {
          set(swap.get(v));
          out.push(JSON.stringify(body));
          set(v);
        } else if (v && typeof v === 'object')
          for (const k of Object.keys(v))
            walk((v as Record<string, unknown>)[k], (x) => ((v as Record<string, unknown>)[k] = x));
      };
      walk(body, () => undefined);
      return out;
    };
    for (const op of ops.filter((o) => o.body && o.roles?.includes('admin') && !destroys(o))) {
      for (const mixed of crossed(validBody(fleet, fleet.a, op))) {
        // Only a body that still names something of A mixes the tenants.
        if (!fleet.a.secrets.some((s) => mixed.includes(s))) continue;
        const url = realPath(fleet, fleet.a, op.path);
        const r = await t.call(op.method, url, { raw: mixed });
        const alertmanager = op.path.startsWith('/api/v1/alertmanager/');
        if (r.status === 0 || r.status >= 500 || (!alertmanager && r.status !== 400))
          failures.push({
            route: key(op),
            request: `admin: ${op.method} ${url} body ${shown(mixed, 200)}`,
            problem: `expected 400 (B's reference beside A's), got ${r.status} ${shown(r.body?.detail ?? r.text, 100)}`,
          });
      }
    }
    const query = { client: fleet.a.slug, instance: fleet.a.instance } as Record<string, string>;
    for (const op of ops.filter((o) => o.method === 'GET' && o.roles?.includes('client'))) {
      const declared = op.query.map((q) => q.name).filter((n) => query[n]);
      for (const q of [[], declared]) {
        const url =
          realPath(fleet, fleet.a, op.path) +
          (q.length ? '?' + q.map((n) => `${n}=${query[n]}`).join('&') : '');
        const r = await t.call('GET', url, { token: fleet.a.clientToken });
        const leaked = fleet.b.secrets.filter((s) => r.text.includes(s));
        if (leaked.length)
          failures.push({
            route: key(op),
            request: `client of A: GET ${url}`,
            problem: `${r.status} answer shows B's ${leaked.slice(0, 3).join(', ')}: ${shown(r.text.slice(Math.max(0, r.text.indexOf(leaked[0]!) - 60)), 140)}`,
          });
      }
    }
    assertNone(
      'cross-tenant references',
      failures,
      'A’s things written naming B’s, then read with A’s client token',
    );
  });

  it('answers each caller as the route’s x-roles say, and shows nothing of B to anyone but staff', async () => {
    const failures: Failure[] = [...setup];
    const query = tenantQuery(fleet);
    for (const op of ops) {
      const declared = op.query.map((q) => q.name).filter((n) => query[n]);
      const url =
        realPath(fleet, fleet.b, op.path) +
        (declared.length ? '?' + declared.map((n) => `${n}=${encodeURIComponent(query[n]!)}`).join('&') : '');
      const namesB = op.path.includes('{') || declared.length > 0;
      const body = op.method === 'GET' ? undefined : op.body ? validBody(fleet, fleet.b, op) : {};
      const raw = body === undefined ? undefined : JSON.stringify(body);
      for (const c of CALLERS) {
        if (!tokens.has(c.name)) continue;
        const r = await t.call(op.method, url, { token: tokens.get(c.name), raw });
        const want = expected(op, c, namesB);
        const fail = (problem: string) =>
          failures.push({
            route: key(op),
            request: `${c.name}: ${op.method} ${shown(url, 120)}${raw ? ` body ${shown(raw, 100)}` : ''}`,
            problem,
          });
        const got = `${r.status} ${shown(r.body?.detail ?? r.text, 100)}`;
        if (r.status === 0 || r.status >= 500)
          fail(`${r.status || 'no answer'}: ${r.status ? t.causeOf(r.text) || got : r.text}`);
        else if (want !== undefined && r.status !== want) fail(`expected ${want}, got ${got}`);
        else if (want === undefined && op.roles && (r.status === 401 || r.status === 403))
          fail(`x-roles allow ${c.role}, got ${got}`);
        else if (
          want === undefined &&
          op.roles &&
          op.method === 'GET' &&
          c.role !== 'client' &&
          (r.status < 200 || r.status > 299)
        )
          fail(`x-roles allow ${c.role} to read B's, got ${got}`);
        if (r.status === 401 && !/^Bearer\b/i.test(r.wwwAuthenticate ?? ''))
          fail(`401 without WWW-Authenticate: Bearer (got ${r.wwwAuthenticate ?? 'none'})`);
        // Staff see every tenant; a service role on its own endpoint sees the fleet it serves.
        const entitled =
          STAFF.includes(c.role ?? '') || (op.roles?.includes(c.role ?? '') && c.role !== 'client');
        if (!entitled) {
          const leaked = fleet.b.secrets.filter(
            (s) => r.text.includes(s) && !url.includes(s) && !raw?.includes(s),
          );
          if (leaked.length)
            fail(
              `${r.status} answer shows B's ${leaked.slice(0, 3).join(', ')}: ${shown(r.text.slice(Math.max(0, r.text.indexOf(leaked[0]!) - 60)), 140)}`,
            );
        }
      }
    }
    assertNone(
      'route x role x tenant matrix',
      failures,
      "rerun one route with ATTACK_ROUTE='<METHOD> <path>'",
    );
  });

  it('/metrics takes a bearer token of the prometheus role or admin (issue 20, item 5)', () => {
    const metrics = ops.find((op) => op.method === 'GET' && op.path === '/metrics');
    assert.ok(metrics, '/metrics is missing from the OpenAPI document');
    assert.deepEqual([...(metrics.roles ?? ['(public)'])].sort(), ['admin', 'prometheus']);
  });

  it('the role paragraph of docs/api.md agrees with the x-roles of the OpenAPI document', () => {
    const doc = fs.readFileSync(path.resolve(import.meta.dirname, '../../docs/api.md'), 'utf8');
    const paragraph = /^Roles:[\s\S]*?(?=\n\n)/m.exec(doc)?.[0] ?? '';
    assert.ok(paragraph, 'docs/api.md has no "Roles:" paragraph');
    const disagreements: Failure[] = [];
    const say = (route: string, problem: string) =>
      disagreements.push({ route, request: 'docs/api.md "Roles:"', problem });
    for (const role of new Set(CALLERS.map((c) => c.role).filter((r) => r !== null)))
      if (!paragraph.includes(`\`${role}\``)) say('-', `role ${role} is not described`);
    for (const op of ops.filter((o) => o.roles)) {
      const roles = op.roles!;
      // docs/api.md: admin may do everything "but report probe results, which only a prober observes".
      if (
        !roles.includes('admin') &&
        !(roles.join() === 'prober' && /^\/api\/v1\/availability\//.test(op.path))
      )
        say(key(op), `"admin (everything)", but x-roles are ${roles.join(', ')}`);
      if (roles.includes('operator') && /^\/api\/v1\/(tokens|audit)\b/.test(op.path))
        say(key(op), '"operator (the fleet, not tokens or audit)", but x-roles allow operator');
      if (roles.includes('client') && op.method !== 'GET')
        say(key(op), '"client (read-only)", but x-roles allow client to write');
      if (roles.includes('client') && !roles.includes('operator'))
        say(key(op), 'a client may read it but an operator (the fleet) may not');
      for (const [role, own] of Object.entries(SERVICE_ENDPOINTS))
        if (roles.includes(role) && !own.test(op.path))
          say(key(op), `"${role}" is limited to its own endpoints, but x-roles allow it here`);
    }
    assertNone(
      'docs/api.md role paragraph vs x-roles',
      disagreements,
      'docs/api.md, the paragraph starting "Roles:"',
    );
  });
});
