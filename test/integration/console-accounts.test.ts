import assert from 'node:assert/strict';
import { clientBody, startControlPlane, type TestControlPlane } from '../helpers/control-plane.ts';
import { SmtpSink } from '../helpers/smtp-sink.ts';
import { ConsoleClient, linkIn, onboard, waitForMail } from '../helpers/console.ts';
import { totpNow } from '../../control-plane/src/users/totp.ts';

const PASSWORD = 'correct horse battery staple';

describe('console accounts: invites, passwords, TOTP, sessions, CSRF and lockout', () => {
  let cp: TestControlPlane;
  let sink: SmtpSink;

  before(async () => {
    sink = await new SmtpSink().start();
    cp = await startControlPlane({
      SMTP_URL: sink.url,
      REPORT_SCHEDULER: 'off',
      WORKER_POLL_INTERVAL_MS: '100',
      CONSOLE_SIGNIN_ATTEMPTS: '3',
    });
    await cp.call('POST', '/api/v1/clients', { body: clientBody('acme', { timeZone: 'UTC' }) });
  });
  after(async () => {
    await cp?.close();
    await sink?.stop();
  });

  it('invites by POST /api/v1/users (admin only), mails a link, and names bad fields', async () => {
    const operator = await cp.token('operator');
    const denied = await cp.call('POST', '/api/v1/users', {
      token: operator,
      body: { email: 'x@example.test', name: 'X', role: 'operator' },
    });
    assert.equal(denied.status, 403);
    const bad = await cp.call('POST', '/api/v1/users', {
      body: { email: 'not-an-email', name: 'X', role: 'operator' },
    });
    assert.equal(bad.status, 400);
    assert.deepEqual(
      bad.body.errors.map((e: { field: string }) => e.field),
      ['/email'],
    );
    const noClient = await cp.call('POST', '/api/v1/users', {
      body: { email: 'c@example.test', name: 'C', role: 'client' },
    });
    assert.equal(noClient.status, 400);
    assert.equal(noClient.body.errors[0].field, '/client');
    assert.equal(await cp.count('console_users'), 0, 'a refused invite creates nothing');

    const ok = await cp.call('POST', '/api/v1/users', {
      body: { email: 'Olga@Example.test', name: 'Olga Operator', role: 'operator' },
    });
    assert.equal(ok.status, 201, ok.text);
    assert.equal(ok.body.email, 'olga@example.test');
    assert.equal(ok.body.pending, true);
    const again = await cp.call('POST', '/api/v1/users', {
      body: { email: 'olga@example.test', name: 'O', role: 'admin' },
    });
    assert.equal(again.status, 409);
    const mails = await waitForMail(sink, 'olga@example.test');
    assert.match(mails[0]!.subject ?? '', /invited/);
    assert.match(linkIn(mails, 'accept'), /^\/console\/accept\/[A-Za-z0-9_-]{43}$/);
    const list = await cp.call('GET', '/api/v1/users');
    assert.deepEqual(
      list.body.map((u: { email: string; pending: boolean }) => [u.email, u.pending]),
      [['olga@example.test', true]],
    );
  });

  it('an invited operator sets a password, must enrol TOTP, and then acts in the audit log by name', async () => {
    const { client: c } = await onboard(cp, sink, {
      email: 'pat@example.test',
      name: 'Pat',
      role: 'operator',
    });
    const page = await c.get('/console/incidents');
    assert.equal(page.status, 200);
    assert.match(page.html, /<h1>Incidents<\/h1>/);
    assert.match(page.html, /Pat \(operator\)/);
    const opened = await cp.call('POST', '/api/v1/incidents', {
      body: { client: 'acme', severity: 'critical', title: 'Phone line silent' },
    });
    assert.equal(opened.status, 201, opened.text);
    const ack = await c.post(`/console/incidents/${opened.body.code}/ack`, {});
    assert.equal(ack.status, 303);
    const after = await cp.call('GET', `/api/v1/incidents/${opened.body.code}`);
    assert.equal(after.body.status, 'acknowledged');
    assert.match(after.body.acknowledgedBy, /pat@example\.test \(operator, user /);
    const { rows } = await cp.db.query<{ actor: string; token_name: string; role: string }>(
      `select actor, token_name, role from audit_log where action = 'incident.acknowledged'
       union all select actor, token_name, role from audit_pending where action = 'incident.acknowledged'`,
    );
    assert.equal(rows.length, 1);
    assert.match(rows[0]!.actor, /pat@example\.test/);
    assert.equal(rows[0]!.token_name, 'pat@example.test');
  });

  it('signs in with password then a TOTP code; a recovery code works once', async () => {
    const { secret, codes } = await onboard(cp, sink, {
      email: 'rae@example.test',
      name: 'Rae',
      role: 'admin',
    });
    const c = new ConsoleClient(cp.url);
    await c.get('/console/signin');
    const first = await c.post('/console/signin', { email: 'rae@example.test', password: PASSWORD });
    assert.match(first.location!, /\/console\/signin\/code/);
    const half = await c.get('/console/incidents');
    assert.equal(half.status, 303, 'the password alone does not open the console');
    await c.get('/console/signin/code');
    const wrong = await c.post('/console/signin/code', { code: '000000' });
    assert.equal(wrong.status, 401);
    assert.match(wrong.html, /The code is wrong/);
    const right = await c.post('/console/signin/code', { code: totpNow(secret!) });
    assert.equal(right.status, 303);
    assert.equal((await c.get('/console/users')).status, 200);

    const signInWith = async (code: string) => {
      const r = new ConsoleClient(cp.url);
      await r.get('/console/signin');
      await r.post('/console/signin', { email: 'rae@example.test', password: PASSWORD });
      await r.get('/console/signin/code');
      return (await r.post('/console/signin/code', { code })).status;
    };
    assert.equal(await signInWith(codes[0]!.toLowerCase()), 303, 'a recovery code stands in for the app');
    assert.equal(await signInWith(codes[0]!), 401, 'but only once');
  });

  it('refuses a form without the CSRF token, changing nothing', async () => {
    const { client: c } = await onboard(cp, sink, {
      email: 'csrf@example.test',
      name: 'Cee',
      role: 'operator',
    });
    const opened = await cp.call('POST', '/api/v1/incidents', {
      body: { client: 'acme', severity: 'warning', title: 'CSRF target' },
    });
    c.csrf = 'forged-token-from-another-site';
    const forged = await c.post(`/console/incidents/${opened.body.code}/ack`, {});
    assert.equal(forged.status, 403);
    assert.match(forged.html, /did not come from this console/);
    assert.equal((await cp.call('GET', `/api/v1/incidents/${opened.body.code}`)).body.status, 'open');
  });

  it('ends a session idle longer than CONSOLE_IDLE_MINUTES, and signs out everywhere', async () => {
    const { client: c } = await onboard(cp, sink, {
      email: 'idle@example.test',
      name: 'Ida',
      role: 'operator',
    });
    assert.equal((await c.get('/console/incidents')).status, 200);
    await cp.db.query(
      `update console_sessions set last_seen_at = now() - interval '16 minutes'
       where user_id = (select id from console_users where email = 'idle@example.test')`,
    );
    const idle = await c.get('/console/incidents');
    assert.equal(idle.status, 303);
    assert.match(idle.location!, /^\/console\/signin\?next=/);

    const { client: laptop } = await onboard(cp, sink, {
      email: 'all@example.test',
      name: 'Al',
      role: 'operator',
    });
    const phone = new ConsoleClient(cp.url);
    await phone.get('/console/signin');
    await phone.post('/console/signin', { email: 'all@example.test', password: PASSWORD });
    assert.equal((await laptop.get('/console/incidents')).status, 200);
    const out = await laptop.post('/console/signout-everywhere', {});
    assert.equal(out.status, 303);
    assert.equal((await laptop.get('/console/incidents')).status, 303);
    assert.equal(
      (await phone.get('/console/signin/code')).status,
      401,
      'the half-signed-in phone is out too',
    );
  });

  it('locks an account after CONSOLE_SIGNIN_ATTEMPTS wrong passwords, even against the right one', async () => {
    await onboard(cp, sink, { email: 'lock@example.test', name: 'Lou', role: 'operator' });
    const c = new ConsoleClient(cp.url);
    await c.get('/console/signin');
    for (let i = 0; i < 2; i++)
      assert.equal(
        (await c.post('/console/signin', { email: 'lock@example.test', password: 'wrong password!' })).status,
        401,
      );
    const third = await c.post('/console/signin', {
      email: 'lock@example.test',
      password: 'wrong password!',
    });
    assert.equal(third.status, 429);
    assert.match(third.html, /locked after too many failed sign-ins/);
    const right = await c.post('/console/signin', { email: 'lock@example.test', password: PASSWORD });
    assert.equal(right.status, 429, 'the right password is refused while locked');
    const { rows } = await cp.db.query(`select 1 from audit_log where action = 'user.locked'
      union all select 1 from audit_pending where action = 'user.locked'`);
    assert.equal(rows.length, 1);
  });

  it('an operator cannot reach admin pages', async () => {
    const { client: c } = await onboard(cp, sink, {
      email: 'op2@example.test',
      name: 'Opal',
      role: 'operator',
    });
    const users = await c.get('/console/users');
    assert.equal(users.status, 403);
    assert.match(users.html, /not open to the operator role/);
  });

  it('answers a path holding NUL, a lone surrogate or bad UTF-8 with a 404 page, even signed in', async () => {
    const { client: c } = await onboard(cp, sink, {
      email: 'op3@example.test',
      name: 'Otto',
      role: 'operator',
    });
    for (const id of ['%00', 'INC-1%00', '%ED%A0%80', '%FF', '%E0%A4%A']) {
      const r = await c.get(`/console/incidents/${id}`);
      assert.equal(r.status, 404, `${id}: ${r.status}`);
      assert.match(r.html, /No such page/);
    }
    assert.equal((await c.get('/console/incidents')).status, 200, 'the session is untouched');
  });

  it('answers a form too large to read with a 413 page naming the problem, not a 500', async () => {
    const { client: c } = await onboard(cp, sink, {
      email: 'op4@example.test',
      name: 'Oona',
      role: 'operator',
    });
    const r = await c.post('/console/signout', { filler: 'x'.repeat(70_000) });
    assert.equal(r.status, 413);
    assert.match(r.html, /too large to send/);
    assert.equal((await c.get('/console/incidents')).status, 200, 'still signed in: nothing was done');
  });

  it('resets a password by e-mail link, which ends every session of the user', async () => {
    const { client: old } = await onboard(cp, sink, {
      email: 'reset@example.test',
      name: 'Rita',
      role: 'operator',
    });
    const c = new ConsoleClient(cp.url);
    await c.get('/console/forgot');
    const asked = await c.post('/console/forgot', { email: 'reset@example.test' });
    assert.match(asked.html, /a reset link is on its way/);
    const link = linkIn(await waitForMail(sink, 'reset@example.test', 2), 'reset');
    await c.get(link);
    const short = await c.post(link, { password: 'short', confirm: 'short' });
    assert.equal(short.status, 400);
    assert.match(short.html, /id="password-error">Password must be at least 12 characters/);
    const set = await c.post(link, { password: 'a brand new passphrase', confirm: 'a brand new passphrase' });
    assert.equal(set.status, 303);
    assert.equal((await old.get('/console/incidents')).status, 303, 'the old session ended');
    assert.equal((await c.get(link)).status, 404, 'a link works once');
  });
});
