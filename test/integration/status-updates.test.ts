import assert from 'node:assert/strict';
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ParsedMail } from 'mailparser';
import { pino } from 'pino';
import pg from 'pg';
import { createApp } from '../../control-plane/src/app.ts';
import { loadConfig } from '../../control-plane/src/config.ts';
import { createContext, type Context } from '../../control-plane/src/context.ts';
import { alertPayload, randomFingerprint, waitFor } from '../helpers/alerts.ts';
import {
  clientBody,
  instanceBody,
  startControlPlane,
  type TestControlPlane,
} from '../helpers/control-plane.ts';
import { SmtpSink } from '../helpers/smtp-sink.ts';
import { TwilioStandIn } from '../helpers/twilio-standin.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const FRONT = 'front@smile.example.test';
const MANAGER = 'manager@smile.example.test';
const LEAVER = 'leaver@smile.example.test';
const OTHER = 'desk@other.example.test';
const FRONT_SMS = '+15551239001';
const CONTACTS = [
  { email: FRONT, name: 'Front desk', sms: FRONT_SMS },
  { email: MANAGER, name: 'Practice manager' },
  { email: LEAVER },
];

/** A second control plane on the same database, in this process: its own pool, job runner and caches. */
async function startReplica(databaseUrl: string, env: Record<string, string>) {
  const config = loadConfig({ DATABASE_URL: databaseUrl, LOG_LEVEL: 'silent', PORT: '0', ...env });
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 5 });
  pool.on('error', () => undefined);
  const ctx: Context = createContext(config, pino({ level: 'silent' }), pool);
  await ctx.paging.workers.start();
  const server: http.Server = await new Promise((resolve) => {
    const s = createApp(ctx).listen(0, '127.0.0.1', () => resolve(s));
  });
  return {
    ctx,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await ctx.paging.workers.stop();
      await pool.end();
    },
  };
}

/** A header field as sent (mailparser folds List-* fields into one parsed object). */
const headerLine = (mail: ParsedMail, key: string) =>
  mail.headerLines.find((h) => h.key === key)?.line.replace(/^[^:]*:\s*/, '') ?? '';

/** The unsubscribe link a status update carries, from its List-Unsubscribe header (RFC 2369). */
function unsubscribeLink(mail: ParsedMail): string {
  const header = headerLine(mail, 'list-unsubscribe');
  const m = /<([^>]+)>/.exec(header);
  assert.ok(m, `List-Unsubscribe header: ${header}`);
  assert.ok(mail.text?.includes(m[1]!), 'the text body carries the same link');
  return m[1]!;
}

describe('status updates: clinics hear of incidents and maintenance by e-mail', () => {
  let sink: SmtpSink;
  let twilio: TwilioStandIn;
  let cp: TestControlPlane;
  let replica: Awaited<ReturnType<typeof startReplica>>;
  let env: Record<string, string>;
  const mails = (to: string) => sink.to(to);
  const webhook = (url: string, body: unknown) =>
    fetch(`${url}/api/v1/alertmanager/webhook`, {
      method: 'POST',
      headers: { authorization: `Bearer ${cp.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  /** An Alertmanager delivery for smile-prod, with a public summary unless `publicSummary` is null. */
  const delivery = (o: {
    group: string;
    status?: 'firing' | 'resolved';
    fingerprint: string;
    publicSummary?: string | null;
    client?: string;
    instance?: string;
  }) => {
    const p = alertPayload({
      groupKey: o.group,
      status: o.status ?? 'firing',
      client: o.client ?? 'smile',
      instance: o.instance ?? 'smile-prod',
      fingerprints: [o.fingerprint],
      summary: 'backend pod crashloop on node-7 (internal)',
    });
    if (o.publicSummary !== null)
      for (const a of p.alerts)
        (a.annotations as Record<string, string>).public_summary =
          o.publicSummary ?? 'Our phone assistant is not answering calls. We are working on it.';
    return p;
  };
  /** Waits until `to` holds `n` mails, then a little longer to see that no more come. */
  const expectMails = async (to: string, n: number) => {
    await waitFor(`${n} mails to ${to} (have ${mails(to).length})`, () => mails(to).length >= n || undefined);
    await sleep(400);
    assert.equal(
      mails(to).length,
      n,
      `mails to ${to}: ${mails(to)
        .map((m) => m.subject)
        .join(' | ')}`,
    );
  };

  before(async function () {
    this.timeout(60_000);
    sink = await new SmtpSink().start();
    twilio = await new TwilioStandIn().start();
    env = {
      SMTP_URL: sink.url,
      PUBLIC_URL: 'http://127.0.0.1:1',
      TWILIO_ACCOUNT_SID: 'AC' + 'ab'.repeat(16),
      TWILIO_AUTH_TOKEN: 'twilio-auth-token-for-tests-0123456789',
      TWILIO_FROM_NUMBER: '+15005550006',
      TWILIO_API_URL: twilio.url,
      REPORT_SCHEDULER: 'off',
      WORKER_POLL_INTERVAL_MS: '100',
    };
    cp = await startControlPlane(env);
    replica = await startReplica(cp.databaseUrl, env);
    for (const [slug, contacts] of [
      ['smile', CONTACTS],
      ['other', [{ email: OTHER }]],
    ] as const) {
      const c = await cp.call('POST', '/api/v1/clients', {
        body: clientBody(slug, { statusContacts: contacts }),
      });
      assert.equal(c.status, 201, c.text);
      const i = await cp.call('POST', '/api/v1/instances', { body: instanceBody(slug, `${slug}-prod`) });
      assert.equal(i.status, 201, i.text);
    }
  });
  after(async () => {
    await replica?.close();
    await cp?.close();
    await sink?.stop();
    await twilio?.stop();
  });

  it('keeps status contacts on the client: GET shows them, PATCH replaces them, audited', async () => {
    const got = await cp.call('GET', '/api/v1/clients/smile');
    assert.equal(got.status, 200);
    assert.deepEqual(
      got.body.statusContacts,
      CONTACTS.map((c) => ({ ...c, unsubscribedAt: null })),
    );
    const patched = await cp.call('PATCH', '/api/v1/clients/other', {
      body: { statusContacts: [{ email: OTHER, name: 'Reception' }] },
    });
    assert.equal(patched.status, 200, patched.text);
    assert.deepEqual(patched.body.statusContacts, [
      { email: OTHER, name: 'Reception', unsubscribedAt: null },
    ]);
    const { rows } = await cp.db.query<{ after: { statusContacts: unknown[] } }>(
      `select after from audit_log where action = 'client.update' and target_id = $1 order by seq desc limit 1`,
      [patched.body.id],
    );
    assert.deepEqual(rows[0]?.after.statusContacts, patched.body.statusContacts);
    // A client token reads its own client's list; another client's answers 404.
    const own = await cp.token('client', 'other');
    assert.equal(
      (await cp.call('GET', '/api/v1/clients/other', { token: own })).body.statusContacts.length,
      1,
    );
    assert.equal((await cp.call('GET', '/api/v1/clients/smile', { token: own })).status, 404);
    assert.equal(
      (await cp.call('PATCH', '/api/v1/clients/other', { token: own, body: { statusContacts: [] } })).status,
      403,
    );
  });

  it('refuses bad statusContacts with a 400 naming the field, and changes nothing', async () => {
    const before = await cp.call('GET', '/api/v1/clients/smile');
    const audits = await cp.count('audit_log');
    const cases: [unknown, string][] = [
      [[{ email: 'not-an-email' }], '/statusContacts/0/email'],
      [[{ email: FRONT, sms: '555-1234' }], '/statusContacts/0/sms'],
      [[{ email: FRONT, sms: '+0123456789' }], '/statusContacts/0/sms'],
      [[{ name: 'No address' }], '/statusContacts/0/email'],
      [[{ email: FRONT, phone: '+15551239001' }], '/statusContacts/0/phone'],
      [[{ email: FRONT, name: 'Front\u0000desk' }], '/statusContacts/0/name'],
      [[{ email: FRONT, name: 'Front \ud800 desk' }], '/statusContacts/0/name'],
      [[{ email: FRONT, name: 'Line\nbreak' }], '/statusContacts/0/name'],
      [[{ email: FRONT }, { email: FRONT.toUpperCase() }], '/statusContacts/1/email'],
      [Array.from({ length: 21 }, (_, i) => ({ email: `p${i}@smile.example.test` })), '/statusContacts'],
      ['front@smile.example.test', '/statusContacts'],
    ];
    for (const [statusContacts, field] of cases) {
      const r = await cp.call('PATCH', '/api/v1/clients/smile', { body: { statusContacts } });
      assert.equal(r.status, 400, `${JSON.stringify(statusContacts).slice(0, 80)}: ${r.text}`);
      assert.ok(
        r.body.errors.some((e: { field: string }) => e.field === field),
        `${field} named in ${JSON.stringify(r.body.errors)}`,
      );
    }
    const bad = await cp.call('POST', '/api/v1/clients', {
      body: clientBody('bad-contacts', { statusContacts: [{ email: 'x@y.example.test', sms: 'call me' }] }),
    });
    assert.equal(bad.status, 400);
    assert.equal((await cp.call('GET', '/api/v1/clients/bad-contacts')).status, 404);
    assert.deepEqual((await cp.call('GET', '/api/v1/clients/smile')).body, before.body);
    assert.equal(await cp.count('audit_log'), audits);
  });

  it("sends each status contact one e-mail when a webhook opens an incident with a public summary, none to another client's", async function () {
    this.timeout(30_000);
    const group = '{}:{alertname="ConciergeBackendDown", client="smile"}';
    const fingerprint = randomFingerprint();
    const body = delivery({ group, fingerprint });
    // Both replicas get the same delivery at once, as HA Alertmanagers send it.
    const answers = await Promise.all([webhook(cp.url, body), webhook(replica.url, body)]);
    assert.deepEqual(
      answers.map((a) => a.status),
      [200, 200],
    );
    for (const to of [FRONT, MANAGER, LEAVER]) await expectMails(to, 1);
    const mail = mails(FRONT)[0]!;
    assert.match(mail.subject ?? '', /^Practice smile: Service incident INC-\d{6}$/);
    assert.match(mail.text ?? '', /Our phone assistant is not answering calls/);
    assert.doesNotMatch(mail.text ?? '', /crashloop|internal/, 'the internal summary stays internal');
    assert.doesNotMatch(mail.html || '', /crashloop/);
    assert.equal(headerLine(mail, 'list-unsubscribe-post'), 'List-Unsubscribe=One-Click');
    // The front desk gave a number: one SMS too, saying the same.
    await waitFor('SMS to the front desk', () => twilio.messages(FRONT_SMS).length === 1 || undefined);
    assert.match(
      twilio.messages(FRONT_SMS)[0]!.params.Body ?? '',
      /Service incident INC-\d{6}\. Our phone assistant/,
    );
    // A second delivery of the same webhook (a replay) sends nothing more.
    assert.equal((await webhook(replica.url, body)).status, 200);
    await sleep(500);
    assert.equal(mails(FRONT).length, 1);
    assert.equal(twilio.messages(FRONT_SMS).length, 1);
    assert.equal(mails(OTHER).length, 0, "another client's contacts hear nothing");
  });

  it('unsubscribes through the link (a confirmation page first), audited, and the contact gets nothing more', async function () {
    this.timeout(30_000);
    const link = unsubscribeLink(mails(LEAVER)[0]!).replace('http://127.0.0.1:1', cp.url);
    const path = new URL(link).pathname + new URL(link).search;
    // Following the link (a person, or a mail scanner) shows a page and changes nothing.
    const page = await fetch(cp.url + path);
    assert.equal(page.status, 200);
    const html = await page.text();
    assert.match(html, /Unsubscribe from status updates/);
    assert.match(html, /l\*\*\*@smile\.example\.test/);
    assert.equal(page.headers.get('referrer-policy'), 'no-referrer');
    assert.equal((await cp.call('GET', '/api/v1/clients/smile')).body.statusContacts[2].unsubscribedAt, null);
    // A forged token is an unknown link: a page for a browser, problem+json for anything else.
    const forged = `${cp.url}/api/v1/status-updates/unsubscribe?t=forged`;
    const asBrowser = await fetch(forged, { method: 'POST', headers: { accept: 'text/html,*/*;q=0.8' } });
    assert.equal(asBrowser.status, 404);
    assert.match(await asBrowser.text(), /This link is not valid/);
    const asScript = await fetch(forged, { method: 'POST' });
    assert.equal(asScript.status, 404);
    assert.match(asScript.headers.get('content-type') ?? '', /application\/problem\+json/);
    // The form's POST (no session, no token of ours) unsubscribes.
    const done = await fetch(cp.url + path, { method: 'POST' });
    assert.equal(done.status, 200);
    assert.match(await done.text(), /receives no more status updates of Practice smile/);
    const contacts = (await cp.call('GET', '/api/v1/clients/smile')).body.statusContacts;
    assert.ok(contacts[2].unsubscribedAt, JSON.stringify(contacts));
    const { rows } = await cp.db.query(
      `select actor, after from audit_log where action = 'client.status_contact_unsubscribe'`,
    );
    assert.deepEqual(rows, [{ actor: 'status contact (unsubscribe link)', after: { email: LEAVER } }]);
    // Listing the address again (fleet files re-applied) does not subscribe it behind its back.
    const again = await cp.call('PATCH', '/api/v1/clients/smile', { body: { statusContacts: CONTACTS } });
    assert.ok(again.body.statusContacts[2].unsubscribedAt);
  });

  it('tells of a public note and the resolution once each, never of an internal note; the unsubscribed contact hears nothing', async function () {
    this.timeout(30_000);
    const { rows } = await cp.db.query<{ code: string; group_key: string }>(
      `select code, group_key from incidents where client_id = (select id from clients where slug = 'smile')`,
    );
    const code = rows[0]!.code;
    const internal = await cp.call('POST', `/api/v1/incidents/${code}/notes`, {
      body: { text: 'node-7 kernel panic, patient 4711 call lost', visibility: 'internal' },
    });
    assert.equal(internal.status, 201, internal.text);
    const pub = await cp.call('POST', `/api/v1/incidents/${code}/notes`, {
      body: { text: 'Calls are being answered again; texts follow shortly.', visibility: 'public' },
    });
    assert.equal(pub.status, 201, pub.text);
    for (const to of [FRONT, MANAGER]) await expectMails(to, 2);
    const update = mails(MANAGER)[1]!;
    assert.match(update.subject ?? '', new RegExp(`Update on service incident ${code}`));
    assert.match(update.text ?? '', /Calls are being answered again/);
    for (const m of sink.mails) assert.doesNotMatch(m.text ?? '', /kernel panic|4711/);
    // Alertmanager resolves the alert: the incident resolves itself, and the clinic is told, once.
    const fingerprint = (
      await cp.db.query<{ fingerprint: string }>(
        `select fingerprint from incident_alerts a join incidents i on i.id = a.incident_id where i.code = $1`,
        [code],
      )
    ).rows[0]!.fingerprint;
    const resolved = delivery({ group: rows[0]!.group_key, fingerprint, status: 'resolved' });
    await Promise.all([webhook(cp.url, resolved), webhook(replica.url, resolved)]);
    for (const to of [FRONT, MANAGER]) await expectMails(to, 3);
    assert.match(mails(FRONT)[2]!.subject ?? '', new RegExp(`Resolved: service incident ${code}`));
    assert.equal(
      mails(LEAVER).length,
      1,
      'the unsubscribed contact got only the mail before it unsubscribed',
    );
    assert.equal(mails(OTHER).length, 0);
  });

  it('tells a clinic nothing of an incident without a public summary, and an unsubscribed contact nothing of a new one', async function () {
    this.timeout(30_000);
    const quiet = delivery({ group: 'quiet-group', fingerprint: randomFingerprint(), publicSummary: null });
    assert.equal((await webhook(cp.url, quiet)).status, 200);
    const loud = delivery({
      group: 'loud-group',
      fingerprint: randomFingerprint(),
      publicSummary: 'Web chat is slow to answer.',
    });
    assert.equal((await webhook(cp.url, loud)).status, 200);
    for (const to of [FRONT, MANAGER]) await expectMails(to, 4);
    assert.match(mails(FRONT)[3]!.text ?? '', /Web chat is slow to answer/);
    assert.equal(mails(LEAVER).length, 1);
    // A later delivery of the same group with a new public summary is an update, told once.
    const changed = {
      ...loud,
      alerts: loud.alerts.map((a) => ({
        ...a,
        annotations: { ...a.annotations, public_summary: 'Web chat is back to normal speed.' },
      })),
    };
    await Promise.all([webhook(cp.url, changed), webhook(replica.url, changed)]);
    for (const to of [FRONT, MANAGER]) await expectMails(to, 5);
    assert.match(mails(MANAGER)[4]!.text ?? '', /back to normal speed/);
    const { rows } = await cp.db.query(
      `select kind, count(*)::int as n from status_updates u join clients c on c.id = u.client_id
       where c.slug = 'smile' and u.channel = 'email' group by kind order by kind`,
    );
    assert.deepEqual(rows, [
      { kind: 'opened', n: 5 },
      { kind: 'resolved', n: 2 },
      { kind: 'updated', n: 4 },
    ]);
  });

  it('tells of an incident opened by hand only when it has a public summary', async function () {
    this.timeout(30_000);
    const quiet = await cp.call('POST', '/api/v1/incidents', {
      body: { client: 'other', severity: 'warning', title: 'Disk filling', summary: 'db volume at 91%' },
    });
    assert.equal(quiet.status, 201, quiet.text);
    const told = await cp.call('POST', '/api/v1/incidents', {
      body: {
        client: 'other',
        severity: 'critical',
        title: 'SMS provider outage',
        summary: 'carrier 502s on the SMS gateway',
        publicSummary: 'Text messages to patients are delayed.',
      },
    });
    assert.equal(told.status, 201, told.text);
    await expectMails(OTHER, 1);
    assert.match(
      mails(OTHER)[0]!.subject ?? '',
      new RegExp(`Practice other: Service incident ${told.body.code}`),
    );
    assert.match(mails(OTHER)[0]!.text ?? '', /Text messages to patients are delayed/);
    assert.doesNotMatch(mails(OTHER)[0]!.text ?? '', /carrier|Disk|91%/);
    assert.equal(
      (await cp.call('POST', `/api/v1/incidents/${told.body.code}/resolve`, { body: {} })).status,
      200,
    );
    await expectMails(OTHER, 2);
    assert.match(mails(OTHER)[1]!.subject ?? '', new RegExp(`Resolved: service incident ${told.body.code}`));
    // The quiet one's first public note is, for the clinic, its opening; its resolution follows.
    const note = await cp.call('POST', `/api/v1/incidents/${quiet.body.code}/notes`, {
      body: { text: 'Reports may arrive late today.', visibility: 'public' },
    });
    assert.equal(note.status, 201, note.text);
    await expectMails(OTHER, 3);
    assert.match(mails(OTHER)[2]!.subject ?? '', new RegExp(`: Service incident ${quiet.body.code}$`));
    assert.equal(
      (await cp.call('POST', `/api/v1/incidents/${quiet.body.code}/resolve`, { body: {} })).status,
      200,
    );
    await expectMails(OTHER, 4);
  });

  it('sends the maintenance reminder once, however often the reminder runs', async function () {
    this.timeout(30_000);
    const start = new Date(Date.now() + 3 * 3600_000);
    start.setUTCSeconds(0, 0);
    const w = await cp.call('POST', '/api/v1/maintenance-windows', {
      body: {
        instance: 'smile-prod',
        start: start.toISOString(),
        end: new Date(start.getTime() + 3600_000).toISOString(),
        reason: 'Upgrading the phone line provider',
      },
    });
    assert.equal(w.status, 201, w.text);
    const remind = (ctx: Context) =>
      ctx.paging.statusUpdates.remindMaintenance((f, t) => ctx.maintenance.startingBetween(f, t));
    // Three runs at once on two replicas (the minutely tick may run too): one reminder per contact and channel.
    await Promise.all([remind(cp.ctx), remind(replica.ctx), remind(cp.ctx)]);
    const { rows } = await cp.db.query<{ recipient: string }>(
      `select recipient from status_updates where kind = 'maintenance' order by recipient`,
    );
    assert.deepEqual(
      rows.map((r) => r.recipient),
      [FRONT_SMS, FRONT, MANAGER].sort(),
    );
    for (const to of [FRONT, MANAGER]) await expectMails(to, 6);
    const reminder = mails(FRONT)[5]!;
    assert.match(reminder.subject ?? '', /^Practice smile: scheduled maintenance/);
    assert.match(reminder.text ?? '', /smile-prod.*America\/New_York/s);
    assert.match(reminder.text ?? '', /Upgrading the phone line provider/);
    assert.equal(mails(LEAVER).length, 1);
    assert.deepEqual(
      mails(OTHER).filter((m) => /maintenance/.test(m.subject ?? '')),
      [],
      "another client's contacts hear nothing of smile's maintenance",
    );
    assert.equal(await remind(cp.ctx), 0);
  });

  it('counts every e-mail sent in /metrics, summed over the replicas that sent them', async () => {
    const sent = async (url: string) => {
      const text = await (
        await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${cp.adminToken}` } })
      ).text();
      const m = /^concierge_ops_status_updates_total\{channel="email",status="sent"\} (\d+)$/m.exec(text);
      return Number(m?.[1] ?? 0);
    };
    const { rows } = await cp.db.query<{ n: number }>(
      `select count(*)::int as n from status_updates where channel = 'email' and status = 'sent'`,
    );
    assert.ok(rows[0]!.n >= 17, `sent rows: ${rows[0]!.n}`);
    assert.equal((await sent(cp.url)) + (await sent(replica.url)), rows[0]!.n);
  });
});
