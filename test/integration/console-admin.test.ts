import assert from 'node:assert/strict';
import { startControlPlane, type TestControlPlane } from '../helpers/control-plane.ts';
import { SmtpSink } from '../helpers/smtp-sink.ts';
import { ConsoleClient, linkIn, onboard, waitForMail } from '../helpers/console.ts';
import jsQR from 'jsqr';
import { PNG } from 'pngjs';
import { totpUri } from '../../control-plane/src/users/totp.ts';

const PASSWORD = 'correct horse battery staple';

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
});
