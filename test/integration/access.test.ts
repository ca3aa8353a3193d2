/**
 * Who may read what beyond the tenant matrix: /metrics behind a token, 401 challenges, unknown query
 * parameters refused, and tokens' last use recorded.
 */
import assert from 'node:assert/strict';
import { DateTime } from 'luxon';
import {
  clientBody,
  instanceBody,
  startControlPlane,
  type Answer,
  type TestControlPlane,
} from '../helpers/control-plane.ts';

const PROBLEM = 'application/problem+json; charset=utf-8';

function assertProblem(r: Answer, status: number, what: string) {
  assert.equal(r.status, status, `${what}: ${r.text.slice(0, 300)}`);
  assert.equal(r.headers.get('content-type'), PROBLEM, what);
}

describe('access: /metrics, 401 challenges, query parameters and token use', () => {
  let cp: TestControlPlane;
  const tokens: Record<string, string> = {};

  before(async () => {
    cp = await startControlPlane({ WORKERS: 'off' });
    for (const slug of ['alpha', 'beta']) {
      const c = await cp.call('POST', '/api/v1/clients', { body: clientBody(slug) });
      assert.equal(c.status, 201, c.text);
      const i = await cp.call('POST', '/api/v1/instances', { body: instanceBody(slug, `${slug}-prod`) });
      assert.equal(i.status, 201, i.text);
    }
    for (const role of ['operator', 'prober', 'alertmanager', 'prometheus'])
      tokens[role] = await cp.token(role);
    tokens.client = await cp.token('client', 'alpha');
    tokens.backup = await cp.token('backup-agent');
  });
  after(() => cp.close());

  describe('/metrics', () => {
    it('answers 401 with a Bearer challenge without a token, and names no client', async () => {
      const r = await cp.call('GET', '/metrics', { token: null });
      assertProblem(r, 401, 'no token');
      assert.equal(r.headers.get('www-authenticate'), 'Bearer realm="concierge-ops"');
      assert.ok(!r.text.includes('alpha') && !r.text.includes('concierge_ops_'), r.text);
    });

    it('is read by a prometheus token and by admin, refused (403) to every other role', async () => {
      for (const token of [tokens.prometheus!, cp.adminToken]) {
        const r = await cp.call('GET', '/metrics', { token });
        assert.equal(r.status, 200, r.text.slice(0, 300));
        assert.match(r.headers.get('content-type')!, /^text\/plain/);
        assert.match(r.text, /^concierge_ops_sla_target_ratio\{client="alpha",instance="alpha-prod"\} /m);
      }
      for (const role of ['operator', 'prober', 'alertmanager', 'client', 'backup']) {
        const r = await cp.call('GET', '/metrics', { token: tokens[role]! });
        assertProblem(r, 403, role);
        assert.ok(!r.text.includes('alpha-prod'), `${role} read a client's series`);
      }
    });

    it('lets the prometheus token read the scrape targets and nothing else', async () => {
      const p = tokens.prometheus!;
      assert.equal((await cp.call('GET', '/api/v1/sd/scrape-targets', { token: p })).status, 200);
      for (const path of [
        '/api/v1/clients',
        '/api/v1/instances',
        '/api/v1/sd/probe-targets',
        '/api/v1/tokens',
      ])
        assertProblem(await cp.call('GET', path, { token: p }), 403, path);
    });

    it('keeps the health routes and the OpenAPI document open, and the document says who reads /metrics', async () => {
      for (const path of ['/healthz', '/readyz', '/api/v1/openapi.json'])
        assert.equal((await cp.call('GET', path, { token: null })).status, 200, path);
      const doc = (await cp.call('GET', '/api/v1/openapi.json', { token: null })).body;
      assert.deepEqual(doc.paths['/metrics'].get['x-roles'], ['admin', 'prometheus']);
      assert.deepEqual(doc.paths['/metrics'].get.security, [{ bearer: [] }]);
      // Declared open (`security: []`), not left unsaid: Redocly's recommended rules require one or the other.
      assert.deepEqual(doc.paths['/healthz'].get.security, []);
    });

    it('creates prometheus tokens unbound to a client, and refuses one bound to a client', async () => {
      const r = await cp.call('POST', '/api/v1/tokens', {
        body: { name: 'scraper', role: 'prometheus', client: 'alpha' },
      });
      assertProblem(r, 400, 'bound prometheus token');
      assert.deepEqual(
        r.body.errors.map((e: { field: string }) => e.field),
        ['/client'],
      );
      const { rows } = await cp.db.query<{ role: string }>(
        `select role from api_tokens where name = 'test-prometheus'`,
      );
      assert.deepEqual(rows, [{ role: 'prometheus' }]);
    });
  });

  describe('401 answers', () => {
    it('say invalid_token for an unknown, revoked or malformed token', async () => {
      const doomed = await cp.token('prometheus');
      const list = (await cp.call('GET', '/api/v1/tokens')).body as { id: string; prefix: string }[];
      const id = list.find((t) => doomed.startsWith(t.prefix) && t.prefix.length > 0)!.id;
      assert.equal((await cp.call('POST', `/api/v1/tokens/${id}/revoke`)).status, 200);
      for (const [what, headers] of [
        ['unknown', { authorization: 'Bearer cop_not-a-token' }],
        ['revoked', { authorization: `Bearer ${doomed}` }],
        ['malformed', { authorization: 'Basic YWRtaW46YWRtaW4=' }],
      ] as const)
        for (const path of ['/metrics', '/api/v1/clients']) {
          const r = await cp.call('GET', path, { token: null, headers });
          assertProblem(r, 401, `${what} ${path}`);
          assert.equal(
            r.headers.get('www-authenticate'),
            'Bearer realm="concierge-ops", error="invalid_token"',
            `${what} ${path}`,
          );
        }
    });

    it('carry the challenge on every authenticated route, not only /metrics', async () => {
      for (const [method, path] of [
        ['GET', '/api/v1/clients'],
        ['POST', '/api/v1/alertmanager/webhook'],
        ['GET', '/api/v1/audit'],
      ] as const) {
        const r = await cp.call(method, path, { token: null, body: method === 'POST' ? {} : undefined });
        assertProblem(r, 401, path);
        assert.equal(r.headers.get('www-authenticate'), 'Bearer realm="concierge-ops"', path);
      }
    });
  });

  describe('unknown query parameters', () => {
    it('GET /api/v1/clients?client=x is a 400 naming the parameter, not every client', async () => {
      const r = await cp.call('GET', '/api/v1/clients?client=x');
      assertProblem(r, 400, 'clients?client=x');
      assert.deepEqual(r.body.errors, [{ field: '/client', message: 'is not a known query parameter' }]);
      assert.match(r.body.detail, /unknown query parameter client; this route takes status/);
    });

    it('is refused on routes without query parameters and on routes with a query schema alike', async () => {
      const cases: [string, string, string | null][] = [
        ['GET', '/api/v1/clients/alpha?expand=all', 'expand'],
        ['GET', '/api/v1/tokens?role=admin', 'role'],
        ['GET', '/api/v1/instances?client=alpha&clinet=beta', 'clinet'],
        ['GET', '/api/v1/incidents?statuss=open', 'statuss'],
        ['GET', '/api/v1/clients/alpha/sla?month=2026-01&foo=1', 'foo'],
        ['GET', '/api/v1/audit?limit=5&bogus=x', 'bogus'],
        ['GET', '/healthz?x=1', 'x'],
        ['GET', '/metrics?name[]=up', 'name[]'],
        ['POST', '/api/v1/incidents/ack-link?t=abc&u=1', 'u'],
        ['POST', '/api/v1/twilio/status?x=1', 'x'],
      ];
      for (const [method, path, name] of cases) {
        const r = await cp.call(method, path, method === 'POST' ? { body: {} } : {});
        assertProblem(r, 400, path);
        assert.ok(
          (r.body.errors as { field: string }[]).some((e) => e.field === `/${name}`),
          `${path}: ${r.text}`,
        );
      }
      // A rejected filter changes nothing and lists nothing: the answer holds no client.
      const r = await cp.call('GET', '/api/v1/clients?slug=alpha', { token: tokens.client! });
      assertProblem(r, 400, 'client token');
      assert.ok(!r.text.includes('"name"'), r.text);
    });

    it('accepts the parameters each route declares, the ack link and voice callbacks included', async () => {
      for (const path of [
        '/api/v1/clients?status=all',
        '/api/v1/instances?client=alpha',
        '/api/v1/clients/alpha/sla?month=2026-01',
        '/api/v1/audit?limit=5',
      ])
        assert.equal((await cp.call('GET', path)).status, 200, path);
      // The e-mail link's page takes its token; the POST refuses a bad one with 403, not 400.
      const page = await cp.call('GET', '/api/v1/incidents/ack-link?t=abc', { token: null });
      assert.equal(page.status, 200);
      assert.match(page.text, /action="\?t=abc"/);
      assert.equal((await cp.call('POST', '/api/v1/incidents/ack-link?t=abc', { token: null })).status, 403);
      // Twilio's voice callback carries the notification id; unsigned, it is refused for the signature.
      const voice = await cp.call('POST', '/api/v1/twilio/voice?n=00000000-0000-0000-0000-000000000000', {
        token: null,
        raw: 'Digits=1',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      assertProblem(voice, 403, 'unsigned voice callback');
    });

    it('lists the declared parameters in the OpenAPI document', async () => {
      const doc = (await cp.call('GET', '/api/v1/openapi.json', { token: null })).body;
      const names = (p: string, m: string) =>
        (doc.paths[p][m].parameters as { name: string; in: string }[])
          .filter((x) => x.in === 'query')
          .map((x) => x.name);
      assert.deepEqual(names('/api/v1/incidents/ack-link', 'get'), ['t']);
      assert.deepEqual(names('/api/v1/twilio/voice', 'post'), ['n']);
      assert.deepEqual(names('/api/v1/tokens', 'get'), []);
    });
  });

  describe('lastUsedAt', () => {
    /** A new operator token and its id (found by its clear prefix, as an operator would). */
    const fresh = async () => {
      const token = await cp.token('operator');
      const list = (await cp.call('GET', '/api/v1/tokens')).body as { id: string; prefix: string }[];
      return { token, id: list.find((t) => token.startsWith(t.prefix))!.id };
    };
    // Tokens' use is written after the answer (tokens/service.ts): settled first, then read back.
    const shown = async (id: string) => {
      await cp.ctx.tokens.settled();
      return (
        (await cp.call('GET', '/api/v1/tokens')).body as { id: string; lastUsedAt: string | null }[]
      ).find((t) => t.id === id)!.lastUsedAt;
    };
    // xmin changes with every write of the row, even one that stores the same value.
    const stored = async (id: string) =>
      (
        await cp.db.query<{ xmin: string; at: Date | null }>(
          'select xmin::text, last_used_at as at from api_tokens where id = $1',
          [id],
        )
      ).rows[0]!;
    const row = async (id: string) => {
      await cp.ctx.tokens.settled();
      return stored(id);
    };

    it('is null until a token is used, then shows the time of its use on GET /api/v1/tokens', async () => {
      const { token, id } = await fresh();
      assert.equal(await shown(id), null);
      const before = Date.now();
      assert.equal((await cp.call('GET', '/api/v1/clients', { token })).status, 200);
      const at = await shown(id);
      assert.ok(at !== null, 'lastUsedAt is recorded');
      assert.ok(Math.abs(new Date(at).getTime() - before) < 10_000, at);
    });

    it("is not written again within a minute of the last record, another replica's included", async () => {
      const { token, id } = await fresh();
      await cp.db.query(`update api_tokens set last_used_at = now() - interval '30 seconds' where id = $1`, [
        id,
      ]);
      const held = await row(id);
      for (let i = 0; i < 20; i++)
        assert.equal((await cp.call('GET', '/api/v1/clients', { token })).status, 200);
      assert.deepEqual(await row(id), held, 'twenty uses within the minute wrote the row');
    });

    it('answers while the write of lastUsedAt waits for a lock, and records the use once it is released', async () => {
      const { token, id } = await fresh();
      // Another transaction holds the token's row, as a busy replica or a long statement would: the lock an
      // update of lastUsedAt waits for, while the key-share locks of a request's own inserts do not.
      const holder = await cp.db.connect();
      try {
        await holder.query('begin');
        await holder.query('select 1 from api_tokens where id = $1 for no key update', [id]);
        const answered = cp.call('GET', '/api/v1/clients', { token }).then((r) => r.status);
        const waited = new Promise<string>((resolve) => setTimeout(() => resolve('still waiting'), 3_000));
        assert.equal(await Promise.race([answered, waited]), 200, 'the request waited for lastUsedAt');
        assert.equal((await stored(id)).at, null, 'written through the lock');
      } finally {
        await holder.query('rollback');
        holder.release();
      }
      const at = (await row(id)).at;
      assert.ok(at !== null && Date.now() - at.getTime() < 10_000, `lastUsedAt ${at?.toISOString()}`);
    });

    it('refuses nothing when the write of lastUsedAt fails, and writes it on the next use', async () => {
      const { token, id } = await fresh();
      // A database that refuses the write (here a trigger; in production a failover or a full disk).
      await cp.db.query(`create function refuse_touch() returns trigger language plpgsql as $$
        begin raise exception 'no writes today'; end $$`);
      await cp.db.query(`create trigger refuse_touch before update of last_used_at on api_tokens
        for each row execute function refuse_touch()`);
      try {
        assert.equal((await cp.call('GET', '/api/v1/clients', { token })).status, 200);
        assert.equal((await row(id)).at, null);
      } finally {
        await cp.db.query('drop trigger refuse_touch on api_tokens; drop function refuse_touch()');
      }
      assert.equal((await cp.call('GET', '/api/v1/clients', { token })).status, 200);
      assert.ok((await row(id)).at !== null, 'the next use within the minute was not recorded');
    });

    it('records a use more than a minute after the last one', async () => {
      const { token, id } = await fresh();
      await cp.db.query(`update api_tokens set last_used_at = now() - interval '2 minutes' where id = $1`, [
        id,
      ]);
      assert.equal((await cp.call('GET', '/api/v1/clients', { token })).status, 200);
      const at = (await row(id)).at!;
      assert.ok(Date.now() - at.getTime() < 10_000, at.toISOString());
    });
  });

  describe('SLA error budget on /metrics', () => {
    it('exports no error budget for an instance with no measured time, and one once it has some', async () => {
      const scrape = async () => (await cp.call('GET', '/metrics', { token: tokens.prometheus! })).text;
      const budget =
        /^concierge_ops_sla_error_budget_remaining_seconds\{client="alpha",instance="alpha-prod"\} (\S+)$/m;
      const text = await scrape();
      // No prober has covered any time yet: the target is known, the budget is not.
      assert.match(text, /^concierge_ops_sla_target_ratio\{client="alpha",instance="alpha-prod"\} 0\.999$/m);
      assert.doesNotMatch(text, budget);
      assert.doesNotMatch(text, /^concierge_ops_sla_uptime_ratio\{client="alpha",instance="alpha-prod"\}/m);

      const start = DateTime.now().setZone('UTC').startOf('month').toISO();
      await cp.db.query(
        `insert into prober_coverage (prober, during) values ('p1', tstzrange($1, now() + interval '1 hour'))`,
        [start],
      );
      await new Promise((r) => setTimeout(r, 1100)); // the scrape-time figures are shared for a second
      const value = Number(budget.exec(await scrape())?.[1]);
      assert.ok(value > 0, `budget ${value}`);
    });
  });
});
