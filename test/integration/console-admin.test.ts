import assert from 'node:assert/strict';
import { startControlPlane, type TestControlPlane } from '../helpers/control-plane.ts';
import { SmtpSink } from '../helpers/smtp-sink.ts';
import { ConsoleClient, linkIn, onboard, waitForMail } from '../helpers/console.ts';
import jsQRModule from 'jsqr';
import { PNG } from 'pngjs';
import { totpUri } from '../../control-plane/src/users/totp.ts';

const PASSWORD = 'correct horse battery staple';
// jsqr ships CommonJS with a `default` export; under ESM it may sit one level down.
const jsQR = ((jsQRModule as unknown as { default?: typeof jsQRModule }).default ??
  jsQRModule) as unknown as (data: Uint8ClampedArray, w: number, h: number) => { data: string } | null;

describe('console sign-in limits per client address, TOTP set-up, admin pages', () => {
  let cp: TestControlPlane;
  let sink: SmtpSink;

  before(async () => {
    sink = await new SmtpSink().start();
    cp = await startControlPlane({
      SMTP_URL: sink.url,
      REPORT_SCHEDULER: 'off',
      WORKER_POLL_INTERVAL_MS: '100',
      TRUSTED_PROXIES: 'loopback',
      CONSOLE_SIGNIN_ATTEMPTS: '3',
      CONSOLE_SIGNIN_ADDRESS_ATTEMPTS: '4',
    });
  });
  after(async () => {
    await cp?.close();
    await sink?.stop();
  });

  /** A browser behind the trusted proxy at `address`, on the sign-in form. */
  async function from(address: string): Promise<ConsoleClient> {
    const c = new ConsoleClient(cp.url);
    c.headers['x-forwarded-for'] = address;
    await c.get('/console/signin');
    return c;
  }

  it('refuses an address after CONSOLE_SIGNIN_ADDRESS_ATTEMPTS failures across accounts, with Retry-After', async () => {
    await onboard(cp, sink, { email: 'pat@example.test', name: 'Pat', role: 'operator' }, PASSWORD);
    const attacker = await from('203.0.113.7');
    // One guess at each of four accounts: no account reaches its own lockout (3), the address reaches its 4.
    const emails = ['pat@example.test', 'ann@example.test', 'bob@example.test', 'cy@example.test'];
    for (const [i, email] of emails.entries()) {
      const r = await attacker.post('/console/signin', { email, password: 'guess ' + i });
      if (i < 3) assert.equal(r.status, 401, r.html);
      else {
        assert.equal(r.status, 429);
        assert.match(
          r.html,
          /Too many failed sign-ins from your network address\. Try again in 15 minutes\./,
        );
      }
    }
    const refused = await fetch(cp.url + '/console/signin', {
      method: 'POST',
      headers: {
        'x-forwarded-for': '203.0.113.7',
        'content-type': 'application/x-www-form-urlencoded',
        cookie: [...attacker.cookies].map(([k, v]) => `${k}=${v}`).join('; '),
      },
      body: new URLSearchParams({ _csrf: attacker.csrf, email: 'pat@example.test', password: PASSWORD }),
      redirect: 'manual',
    });
    assert.equal(refused.status, 429, 'the right password is refused from that address meanwhile');
    const retryAfter = Number(refused.headers.get('retry-after'));
    assert.ok(retryAfter > 800 && retryAfter <= 900, `Retry-After ${retryAfter}`);
    const { rows: users } = await cp.db.query(
      `select failed_signins, locked_until from console_users where email = 'pat@example.test'`,
    );
    assert.deepEqual(users[0], { failed_signins: 1, locked_until: null }, 'pat is not locked out');

    // Another address (the proxy passes each client's on) signs in as usual.
    const pat = await from('198.51.100.9');
    const ok = await pat.post('/console/signin', { email: 'pat@example.test', password: PASSWORD });
    assert.equal(ok.status, 303, ok.html);
    assert.match(ok.location!, /\/console\/signin\/code/);

    await cp.ctx.audit.flush();
    const { rows } = await cp.db.query(
      `select actor, target_type, target_id, ip, after from audit_log where action = 'console.signin-limit'`,
    );
    assert.equal(rows.length, 1, 'recorded once, when the address went over');
    assert.equal(rows[0].target_id, '203.0.113.7');
    assert.equal(rows[0].ip, '203.0.113.7');
    assert.equal(rows[0].after.failures, 4);
  });

  it('counts wrong second-factor codes from the address too, and ends the half-finished sign-in', async () => {
    const c = await from('192.0.2.44');
    for (let i = 0; i < 2; i++)
      assert.equal((await c.post('/console/signin', { email: 'x@example.test', password: 'x' })).status, 401);
    const pw = await c.post('/console/signin', { email: 'pat@example.test', password: PASSWORD });
    assert.equal(pw.status, 303);
    await c.get(pw.location!);
    assert.equal((await c.post('/console/signin/code', { code: '000000' })).status, 401);
    const over = await c.post('/console/signin/code', { code: '000001' });
    assert.equal(over.status, 429);
    assert.match(over.html, /Too many failed sign-ins/);
    assert.equal((await c.get('/console/signin/code')).status, 401, 'the half-finished sign-in is gone');
  });

  it('shows the TOTP set-up link as a QR code that decodes to it, allowed by the CSP, with a text alternative', async () => {
    const email = 'quinn@example.test';
    assert.equal(
      (await cp.call('POST', '/api/v1/users', { body: { email, name: 'Quinn', role: 'admin' } })).status,
      201,
    );
    const link = linkIn(await waitForMail(sink, email), 'accept');
    const c = await from('192.0.2.200');
    await c.get(link);
    await c.post(link, { password: PASSWORD, confirm: PASSWORD });
    await c.get('/console/signin');
    const signin = await c.post('/console/signin', { email, password: PASSWORD });
    const res = await fetch(cp.url + signin.location!, {
      headers: { cookie: [...c.cookies].map(([k, v]) => `${k}=${v}`).join('; ') },
    });
    assert.match(res.headers.get('content-security-policy') ?? '', /img-src 'self' data:/);
    const html = await res.text();
    const secret = /id="totp-secret">([A-Z2-7 ]+)</.exec(html)![1]!.replace(/ /g, '');
    const img = /<img id="totp-qr" src="data:image\/png;base64,([A-Za-z0-9+/=]+)" alt="([^"]+)"/.exec(html);
    assert.ok(img, 'a data: PNG image');
    assert.match(img[2]!, /QR code .* quinn@example\.test\. If you cannot scan it, type the key/);
    const png = PNG.sync.read(Buffer.from(img[1]!, 'base64'));
    const decoded = jsQR(new Uint8ClampedArray(png.data), png.width, png.height);
    assert.equal(decoded?.data, totpUri(secret, email));
    assert.match(decoded.data, /^otpauth:\/\/totp\/concierge-ops:quinn%40example\.test\?/);
  });

  describe('admin pages', () => {
    let admin: ConsoleClient;
    let operator: ConsoleClient;
    before(async () => {
      admin = (await onboard(cp, sink, { email: 'ada@example.test', name: 'Ada', role: 'admin' }, PASSWORD))
        .client;
      operator = (
        await onboard(cp, sink, { email: 'otto@example.test', name: 'Otto', role: 'operator' }, PASSWORD)
      ).client;
    });

    it('operators get 403 on the tokens and audit pages, and their forms change nothing', async () => {
      for (const path of [
        '/console/tokens',
        '/console/audit',
        '/console/tokens/00000000-0000-4000-8000-000000000000/revoke',
      ]) {
        const r = await operator.get(path);
        assert.equal(r.status, 403, path);
        assert.match(r.html, /not open to the operator role/);
      }
      await operator.get('/console/incidents');
      const before = await cp.count('api_tokens');
      const r = await operator.post('/console/tokens', { name: 'sneaky', role: 'admin' });
      assert.equal(r.status, 403);
      assert.equal(await cp.count('api_tokens'), before);
      assert.doesNotMatch((await operator.get('/console/incidents')).html, /href="\/console\/tokens"/);
    });

    it('creates a token showing its secret once, names bad fields, and revokes after asking', async () => {
      const list = await admin.get('/console/tokens');
      assert.equal(list.status, 200);
      assert.match(list.html, /bootstrap-admin/);
      const before = await cp.count('api_tokens');
      const bad = await admin.post('/console/tokens', { name: 'scrape\u0000r', role: 'prometheus' });
      assert.equal(bad.status, 400);
      assert.match(bad.html, /id="f-name-error">Name \(what uses it\) holds a NUL character/);
      const noClient = await admin.post('/console/tokens', { name: 'acme-app', role: 'client' });
      assert.equal(noClient.status, 400);
      assert.match(
        noClient.html,
        /id="f-client-error">Client \(client and backup-agent tokens\) is required for role client/,
      );
      const badRole = await admin.post('/console/tokens', { name: 'x', role: 'root' });
      assert.equal(badRole.status, 400);
      assert.match(badRole.html, /id="f-role-error">/);
      assert.equal(await cp.count('api_tokens'), before, 'refused forms create nothing');

      const made = await admin.post('/console/tokens', { name: 'night-prober', role: 'prober' });
      // POST-redirect-GET: the answer to the form is a redirect, so reloading the result re-sends no form.
      assert.equal(made.status, 303, made.html);
      assert.equal(made.location, '/console/tokens');
      assert.equal(await cp.count('api_tokens'), before + 1);
      // Between the two, the secret is kept only sealed: the database row does not hold it readable.
      const { rows: flashes } = await cp.db.query<{ sealed: Buffer }>('select sealed from console_flashes');
      assert.equal(flashes.length, 1);
      const shown = await admin.get(made.location);
      assert.equal(shown.status, 200);
      const secret = /id="new-token" class="secret" readonly value="(cop_[A-Za-z0-9_-]+)"/.exec(
        shown.html,
      )?.[1];
      assert.ok(secret, 'the secret is shown');
      assert.ok(!flashes[0]!.sealed.includes(Buffer.from(secret)), 'the flash row holds no readable secret');
      assert.equal(await cp.count('console_flashes'), 0, 'the flash is taken by the page that shows it');
      assert.equal((await cp.call('GET', '/api/v1/sd/probe-targets', { token: secret })).status, 200);
      const again = await admin.get('/console/tokens');
      assert.ok(!again.html.includes(secret), 'and never again');
      assert.equal(await cp.count('api_tokens'), before + 1, 'reloading the page creates no second token');
      const id = /href="\/console\/tokens\/([0-9a-f-]{36})\/revoke" aria-label="Revoke night-prober"/.exec(
        again.html,
      )?.[1];
      assert.ok(id);

      const ask = await admin.get(`/console/tokens/${id}/revoke`);
      assert.equal(ask.status, 200);
      assert.match(ask.html, /Revoke token night-prober\?/);
      assert.equal(
        (await cp.call('GET', '/api/v1/sd/probe-targets', { token: secret })).status,
        200,
        'asking revokes nothing',
      );
      const done = await admin.post(`/console/tokens/${id}/revoke`, {});
      assert.equal(done.status, 303);
      assert.equal((await cp.call('GET', '/api/v1/sd/probe-targets', { token: secret })).status, 401);
      assert.equal((await admin.get(done.location!)).html.includes('Revoked the token.'), true);
      assert.equal(
        (await admin.post('/console/tokens/00000000-0000-4000-8000-000000000000/revoke', {})).status,
        404,
      );

      await cp.ctx.audit.flush();
      const { rows } = await cp.db.query(
        `select action, actor, token_name from audit_log where target_id = $1 order by seq`,
        [id],
      );
      assert.deepEqual(
        rows.map((r) => [r.action, r.token_name]),
        [
          ['token.create', 'ada@example.test'],
          ['token.revoke', 'ada@example.test'],
        ],
      );
      assert.match(rows[0].actor, /^ada@example\.test \(admin, user /);
    });

    it('pages the token list on the server, newest first, without skipping or repeating', async () => {
      const auth = cp.ctx.users.authOf(
        (await cp.ctx.users.byId(
          (await cp.db.query(`select id from console_users where email = 'ada@example.test'`)).rows[0].id,
        ))!,
      );
      for (let i = 0; i < 55; i++)
        await cp.ctx.tokens.create(auth, 'test', { name: `bulk-${i}`, role: 'prometheus' });
      const names = (html: string) =>
        [...html.matchAll(/<td data-label="Name">([^<]+)<\/td>/g)].map((m) => m[1]!);
      const first = await admin.get('/console/tokens');
      assert.equal(names(first.html).length, 50);
      assert.equal(names(first.html)[0], 'bulk-54');
      const next = /href="\/console\/tokens(\?after=[^"]+)" rel="next"/.exec(first.html)?.[1];
      assert.ok(next);
      const second = await admin.get('/console/tokens' + next!.replace(/&amp;/g, '&'));
      const all = [...names(first.html), ...names(second.html)];
      assert.equal(new Set(all).size, all.length, 'no token twice');
      const live = (await cp.call('GET', '/api/v1/tokens')).body.filter(
        (t: { revokedAt: string | null }) => !t.revokedAt,
      );
      assert.equal(all.length, live.length, 'every live token once');
      assert.equal((await admin.get('/console/tokens?after=nonsense')).status, 400);
    });

    it('pages the users list on the server by e-mail, 50 to a page, without skipping or repeating', async () => {
      await cp.db.query(
        `insert into console_users (email, name, role)
         select 'bulk-' || lpad(g::text, 3, '0') || '@example.test', 'Bulk ' || g, 'operator'
         from generate_series(1, 120) g`,
      );
      const total = await cp.count('console_users');
      assert.ok(total > 120);
      const emails = (html: string) => [...html.matchAll(/<tr><td>([^<]+@[^<]+)<\/td>/g)].map((m) => m[1]!);
      const seen: string[] = [];
      let path: string | undefined = '/console/users';
      let pages = 0;
      while (path) {
        const r = await admin.get(path);
        assert.equal(r.status, 200, r.html);
        const got = emails(r.html);
        assert.ok(got.length <= 50, `${got.length} users on one page`);
        seen.push(...got);
        path = /href="(\/console\/users\?after=[^"]+)" rel="next"/.exec(r.html)?.[1]?.replace(/&amp;/g, '&');
        pages++;
      }
      assert.equal(pages, Math.ceil(total / 50));
      assert.equal(seen.length, total, 'every user once');
      assert.deepEqual(seen, [...seen].sort(), 'by e-mail');
      assert.equal(new Set(seen).size, seen.length, 'no user twice');
      // The API's list reads the same rows, and pages them the same way with limit and after.
      const email = (r: { body: { email: string }[] }) => r.body.map((u) => u.email);
      assert.deepEqual(email(await cp.call('GET', '/api/v1/users')), seen);
      const apiPages: string[] = [];
      let after = '';
      for (;;) {
        const r = await cp.call(
          'GET',
          `/api/v1/users?limit=50${after ? `&after=${encodeURIComponent(after)}` : ''}`,
        );
        assert.equal(r.status, 200, r.text);
        apiPages.push(...email(r));
        if (r.body.length < 50) break;
        after = r.body[r.body.length - 1].email;
      }
      assert.deepEqual(apiPages, seen);
      for (const bad of ['limit=0', 'limit=501', 'after=', 'after=a%20b'])
        assert.equal((await cp.call('GET', `/api/v1/users?${bad}`)).status, 400, bad);
      // Bytes that are not UTF-8 arrive as U+FFFD, which is storable text: a cursor like any other.
      assert.equal((await admin.get('/console/users?after=%ED%A0%80')).status, 200);
      for (const bad of ['a%00b', 'two%20words', 'x'.repeat(300)]) {
        const r = await admin.get('/console/users?after=' + bad);
        assert.equal(r.status, 400, bad);
        assert.match(r.html, /The page cursor \(after\) must be a cursor from the previous page\./);
      }
      await cp.ctx.audit.flush();
      const { rows } = await cp.db.query(
        `select count(*)::int as n from audit_log where action = 'user.list' and token_name = 'ada@example.test'`,
      );
      // Each page read (and the U+FFFD one) is recorded, as the API records its reads.
      assert.equal(rows[0].n, pages + 1, 'each page read is recorded as the API records its reads');
    });

    it('filters the audit log by actor, action, target and time, pages it, and bounds the range', async () => {
      const byAda = await admin.get('/console/audit?actor=ada%40example.test&action=token.create');
      assert.equal(byAda.status, 200);
      const actions = [...byAda.html.matchAll(/<td data-label="Action">([^<]+)<\/td>/g)].map((m) => m[1]);
      assert.ok(actions.length >= 50, `${actions.length} rows`);
      assert.ok(actions.every((a) => a === 'token.create'));
      assert.match(
        byAda.html,
        /<time datetime="[^"]+Z" title="[^"]+">\d{1,2} [A-Z][a-z]{2} \d{4}, \d{2}:\d{2} UTC<\/time>/,
      );
      const next = /href="\/console\/audit(\?[^"]+)" rel="next"/.exec(byAda.html)?.[1];
      assert.ok(next, 'more than one page');
      const older = await admin.get('/console/audit' + next!.replace(/&amp;/g, '&'));
      assert.equal(older.status, 200);
      const seqs = (html: string) =>
        [...html.matchAll(/<td data-label="Record">#(\d+)/g)].map((m) => Number(m[1]));
      assert.ok(Math.max(...seqs(older.html)) < Math.min(...seqs(byAda.html)), 'the next page is older');

      const target = await admin.get('/console/audit?targetType=address&targetId=203.0.113.7');
      assert.match(target.html, /console\.signin-limit/);
      assert.equal([...target.html.matchAll(/<td data-label="Record">/g)].length, 1);

      const future = await admin.get('/console/audit?from=2030-01-01T00:00&to=2030-01-02T00:00');
      assert.equal(future.status, 200);
      assert.match(future.html, /No records match\./);
      const tooLong = await admin.get('/console/audit?from=2024-01-01T00:00&to=2026-01-01T00:00');
      assert.equal(tooLong.status, 400);
      assert.match(tooLong.html, /id="a-to-error">must be at most 366 days after from/);
      const year0 = await admin.get('/console/audit?from=0000-01-01T00:00');
      assert.equal(year0.status, 400);
      assert.match(
        year0.html,
        /id="a-from-error">must be a date and time like 2026-12-07T14:05:00Z: the year must be 0001 to 9999/,
      );
      const nul = await admin.get('/console/audit?actor=a%00b');
      assert.equal(nul.status, 400);
      assert.match(nul.html, /id="a-actor-error">holds a NUL character/);

      await cp.ctx.audit.flush();
      const { rows } = await cp.db.query(
        `select count(*)::int as n from audit_log where action = 'audit.read' and token_name = 'ada@example.test'`,
      );
      assert.ok(rows[0].n >= 4, 'reading the audit log is recorded');
    });
  });
});
