import assert from 'node:assert/strict';
import twilio from 'twilio';
import { alertPayload, randomFingerprint, waitFor } from '../helpers/alerts.ts';
import {
  clientBody,
  instanceBody,
  startControlPlane,
  type TestControlPlane,
} from '../helpers/control-plane.ts';
import { SmtpSink } from '../helpers/smtp-sink.ts';
import { TwilioStandIn } from '../helpers/twilio-standin.ts';

const SID = 'AC' + '0123456789abcdef'.repeat(2);
const AUTH = 'twilio-auth-token-for-tests-0123456789';
const PUBLIC = 'https://ops.example.test';
const OLIVIA = { phone: '+15551230001', email: 'olivia@ops.example.test' };
const DEV = { phone: '+15551230002', email: 'dev@ops.example.test' };
const LEVEL2_DELAY_S = 3;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('escalation and paging', () => {
  let cp: TestControlPlane;
  let tw: TwilioStandIn;
  let smtp: SmtpSink;
  let am: string;

  before(async () => {
    tw = await new TwilioStandIn().start();
    smtp = await new SmtpSink().start();
    cp = await startControlPlane({
      TWILIO_ACCOUNT_SID: SID,
      TWILIO_AUTH_TOKEN: AUTH,
      TWILIO_FROM_NUMBER: '+15005550006',
      TWILIO_API_URL: tw.url,
      SMTP_URL: smtp.url,
      MAIL_FROM: 'concierge-ops <pager@ops.example.test>',
      PUBLIC_URL: PUBLIC,
      ACK_LINK_SECRET: 'ack-link-secret-for-tests-0123456789abcdef',
      WORKER_POLL_INTERVAL_MS: '100',
      SEND_RETRY_BASE_MS: '100',
      SEND_MAX_ATTEMPTS: '3',
    });
    await cp.call('POST', '/api/v1/clients', { body: clientBody('smile-dental') });
    // The instance the alerts name: an incident keeps an instance label only when it is its client's own.
    await cp.call('POST', '/api/v1/instances', { body: instanceBody('smile-dental', 'smile-prod') });
    am = await cp.token('alertmanager');
    await cp.db.query(
      `insert into responders (name, role, phone, email) values
         ('Olivia', 'oncall-engineer', $1, $2), ('Dev', 'devops-lead', $3, $4)`,
      [OLIVIA.phone, OLIVIA.email, DEV.phone, DEV.email],
    );
    // The shipped ladder (0, 5, 10, 15 minutes) with level 2 after a few seconds, so the test can wait for it.
    await cp.db.query(`update escalation_levels set delay_seconds = $1 where level = 2`, [LEVEL2_DELAY_S]);
  });
  after(async () => {
    await cp.close();
    await tw.stop();
    await smtp.stop();
  });

  const hook = (body: unknown) => cp.call('POST', '/api/v1/alertmanager/webhook', { token: am, body });
  const smsFor = (code: string, to?: string) => tw.messages(to).filter((m) => m.params.Body?.includes(code));
  /** The incident's SMS page once sent: its row id and Twilio's sid. */
  const sentSms = (code: string) =>
    waitFor('provider id', async () => {
      const q = await cp.db.query(
        `select n.id, n.provider_id from notifications n join incidents i on i.id = n.incident_id
         where i.code = $1 and n.channel = 'sms' and n.provider_id is not null`,
        [code],
      );
      return q.rows.length ? q : undefined;
    });
  const mailFor = (code: string, to: string) => smtp.to(to).filter((m) => m.subject?.includes(code));
  const form = (path: string, params: Record<string, string>, signature?: string) =>
    cp.call('POST', path, {
      token: null,
      raw: new URLSearchParams(params).toString(),
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-twilio-signature': signature ?? twilio.getExpectedTwilioSignature(AUTH, PUBLIC + path, params),
      },
    });

  it('pages level 1 once by SMS, voice and e-mail for 3 concurrent deliveries, then level 2 when nobody acks', async () => {
    const body = alertPayload({ groupKey: 'g-page' });
    const answers = await Promise.all([hook(body), hook(body), hook(body)]);
    assert.deepEqual(
      answers.map((a) => a.status),
      [200, 200, 200],
    );
    const code = answers.find((a) => a.body.opened)!.body.incident as string;
    await waitFor('level 1 SMS, call and e-mail', () =>
      smsFor(code, OLIVIA.phone).length && tw.calls(OLIVIA.phone).length && mailFor(code, OLIVIA.email).length
        ? true
        : undefined,
    );
    const sms = smsFor(code, OLIVIA.phone)[0]!;
    assert.equal(sms.accountSid, SID);
    assert.equal(sms.params.From, '+15005550006');
    assert.equal(sms.params.StatusCallback, `${PUBLIC}/api/v1/twilio/status`);
    const text = sms.params.Body!;
    assert.ok(text.length <= 160, `SMS is ${text.length} characters: ${text}`);
    for (const part of [
      '[CRIT]',
      code,
      'smile-dental/smile-prod/backend',
      'not answering',
      `Reply ACK ${code}`,
    ])
      assert.ok(text.includes(part), `${part} missing from ${text}`);
    const call = tw.calls(OLIVIA.phone)[0]!;
    assert.match(call.params.Twiml!, /<Gather numDigits="1".*Press 1 to acknowledge/);
    const mail = mailFor(code, OLIVIA.email)[0]!;
    assert.match(mail.text!, /Acknowledge: https:\/\/ops\.example\.test\/api\/v1\/incidents\/ack-link\?t=/);
    assert.match(String(mail.html), /<a href="https:\/\/ops\.example\.test\/api\/v1\/incidents\/ack-link/);

    await waitFor(
      'level 2 SMS to the DevOps lead',
      () => (smsFor(code, DEV.phone).length ? true : undefined),
      10000,
    );
    await sleep(500);
    assert.equal(smsFor(code, OLIVIA.phone).length, 1);
    assert.equal(tw.calls(OLIVIA.phone).length, 1);
    assert.equal(mailFor(code, OLIVIA.email).length, 1);
    assert.equal(smsFor(code, DEV.phone).length, 1);
    const tl = await cp.call('GET', `/api/v1/incidents/${code}/timeline`);
    const steps = tl.body.filter((e: { kind: string }) => e.kind === 'escalated');
    assert.deepEqual(
      steps.map((e: { detail: { level: number; responders: string[] } }) => [
        e.detail.level,
        e.detail.responders,
      ]),
      [
        [1, ['Olivia']],
        [2, ['Dev']],
      ],
    );
    await cp.call('POST', `/api/v1/incidents/${code}/resolve`, { body: {} });
  });

  it('stops escalating when level 1 acknowledges through the API', async () => {
    const r = await hook(alertPayload({ groupKey: 'g-api-ack', severity: 'warning' }));
    const code = r.body.incident as string;
    await waitFor('level 1 SMS', () => (smsFor(code, OLIVIA.phone).length ? true : undefined));
    assert.equal(tw.calls(OLIVIA.phone).filter((c) => c.params.Twiml?.includes(code.slice(-3))).length, 0);
    const ack = await cp.call('POST', `/api/v1/incidents/${code}/ack`, { body: {} });
    assert.equal(ack.body.status, 'acknowledged');
    await sleep((LEVEL2_DELAY_S + 1.5) * 1000);
    assert.equal(smsFor(code, DEV.phone).length, 0, 'level 2 was paged after the acknowledgement');
    await cp.call('POST', `/api/v1/incidents/${code}/resolve`, { body: {} });
  });

  it('pages responders as they are now, after another session changed them since the last incident', async () => {
    // The first incident's policy read may be reused by the next (same client and severity) only while
    // paging_config_version holds; this change, made outside the control plane, moves it.
    const first = (await hook(alertPayload({ groupKey: 'g-config-1', severity: 'warning' }))).body
      .incident as string;
    await waitFor('level 1 SMS of the first', () => (smsFor(first, OLIVIA.phone).length ? true : undefined));
    // Olivia goes off call and Nadia takes her place.
    const NADIA = '+15551230077';
    await cp.db.query(`update responders set active = false where name = 'Olivia'`);
    await cp.db.query(`insert into responders (name, role, phone) values ('Nadia', 'oncall-engineer', $1)`, [
      NADIA,
    ]);
    try {
      const second = (await hook(alertPayload({ groupKey: 'g-config-2', severity: 'warning' }))).body
        .incident as string;
      await waitFor('level 1 SMS of the second', () => (smsFor(second).length ? true : undefined));
      await sleep(300);
      assert.deepEqual(
        smsFor(second).map((m) => m.params.To),
        [NADIA],
      );
      for (const code of [first, second])
        await cp.call('POST', `/api/v1/incidents/${code}/resolve`, { body: {} });
    } finally {
      await cp.db.query(`update responders set active = (name = 'Olivia') where name in ('Olivia', 'Nadia')`);
    }
  });

  it('runs the ladder again up to its repeat count when nobody acknowledges, then stops', async () => {
    // A client of its own with a short two-level ladder repeated once: 0 s, 1 s, then again from 2 s.
    await cp.call('POST', '/api/v1/clients', { body: clientBody('repeat-clinic') });
    await cp.db.query(
      `with p as (
         insert into escalation_policies (name, client_id, repeat_count, repeat_interval_seconds)
         select 'repeat-clinic once more', id, 1, 1 from clients where slug = 'repeat-clinic' returning id)
       insert into escalation_levels (policy_id, level, delay_seconds, target_roles, channels)
       select p.id, l, l - 1, array[r], '{"warning": ["sms"]}' from p,
         (values (1, 'oncall-engineer'), (2, 'devops-lead')) as x(l, r)`,
    );
    const r = await hook(
      alertPayload({
        groupKey: 'g-repeat',
        client: 'repeat-clinic',
        instance: 'rc-prod',
        severity: 'warning',
      }),
    );
    const code = r.body.incident as string;
    await waitFor(
      'the repeated level 2',
      () => (smsFor(code, DEV.phone).length >= 2 ? true : undefined),
      10000,
    );
    await sleep(3000); // a further cycle would have paged level 1 by now
    assert.equal(smsFor(code, OLIVIA.phone).length, 2);
    assert.equal(smsFor(code, DEV.phone).length, 2);
    const tl = await cp.call('GET', `/api/v1/incidents/${code}/timeline`);
    assert.deepEqual(
      tl.body
        .filter((e: { kind: string }) => e.kind === 'escalated')
        .map((e: { detail: { level: number; repeat: number } }) => [e.detail.level, e.detail.repeat]),
      [
        [1, 0],
        [2, 0],
        [1, 1],
        [2, 1],
      ],
    );
    const left = await cp.db.query(
      `select count(*)::int as n from escalation_steps s join incidents i on i.id = s.incident_id
       where i.code = $1`,
      [code],
    );
    assert.equal(left.rows[0].n, 0, 'a step is still scheduled after the last repeat');
    await cp.call('POST', `/api/v1/incidents/${code}/resolve`, { body: {} });
  });

  it('keeps a step that failed and runs it again later, paging once', async () => {
    await cp.call('POST', '/api/v1/clients', { body: clientBody('retry-clinic') });
    await cp.db.query(
      `with p as (
         insert into escalation_policies (name, client_id)
         select 'retry-clinic two levels', id from clients where slug = 'retry-clinic' returning id)
       insert into escalation_levels (policy_id, level, delay_seconds, target_roles, channels)
       select p.id, l, l - 1, array[r], '{"warning": ["sms"]}' from p,
         (values (1, 'oncall-engineer'), (2, 'devops-lead')) as x(l, r)`,
    );
    // Level 2 of this client's incidents cannot write its outbox rows until the trigger is gone.
    await cp.db.query(`
      create function test_fail_level2() returns trigger language plpgsql as $$
      begin
        if new.level = 2 and exists (select 1 from incidents i join clients c on c.id = i.client_id
                                     where i.id = new.incident_id and c.slug = 'retry-clinic') then
          raise exception 'outbox unavailable (test)';
        end if;
        return new;
      end $$;
      create trigger test_fail_level2 before insert on notifications
        for each row execute function test_fail_level2();`);
    try {
      const r = await hook(
        alertPayload({
          groupKey: 'g-retry',
          client: 'retry-clinic',
          instance: 'rt-prod',
          severity: 'warning',
        }),
      );
      const code = r.body.incident as string;
      const failed = await waitFor('the failed level 2 step', async () => {
        const { rows } = await cp.db.query(
          `select s.attempts, s.last_error from escalation_steps s join incidents i on i.id = s.incident_id
           where i.code = $1 and s.level = 2 and s.attempts > 0`,
          [code],
        );
        return rows[0] as { attempts: number; last_error: string } | undefined;
      });
      assert.match(failed.last_error, /outbox unavailable \(test\)/);
      assert.equal(smsFor(code, DEV.phone).length, 0);
      await cp.db.query('drop trigger test_fail_level2 on notifications; drop function test_fail_level2()');
      await waitFor(
        'level 2 after the retry',
        () => (smsFor(code, DEV.phone).length ? true : undefined),
        10000,
      );
      await sleep(1500);
      assert.equal(smsFor(code, DEV.phone).length, 1);
      assert.equal(smsFor(code, OLIVIA.phone).length, 1);
      await cp.call('POST', `/api/v1/incidents/${code}/resolve`, { body: {} });
    } finally {
      await cp.db.query('drop trigger if exists test_fail_level2 on notifications');
      await cp.db.query('drop function if exists test_fail_level2()');
    }
  });

  it('sends a page whose process died between commit and send once, through the outbox sweep', async () => {
    const r = await hook(alertPayload({ groupKey: 'g-sweep', severity: 'warning' }));
    const code = r.body.incident as string;
    await waitFor('level 1 SMS', () => (smsFor(code, OLIVIA.phone).length ? true : undefined));
    // Resolved, so no later level pages (and the metrics test's counts stay as they are).
    await cp.call('POST', `/api/v1/incidents/${code}/resolve`, { body: {} });
    // A warning pages by SMS only; this voice page was committed 11 s ago by a process that then died (no
    // job, never tried), as a SIGKILL right after a webhook's commit leaves it.
    await cp.db.query(
      `insert into notifications (incident_id, level, repeat, responder_id, channel, idempotency_key, created_at)
       select i.id, 1, 0, r.id, 'voice', i.id || ':crashed', now() - interval '11 seconds'
       from incidents i, responders r where i.code = $1 and r.phone = $2`,
      [code, OLIVIA.phone],
    );
    const spoken = `Incident ${Number(code.slice(4))}.`;
    const callsFor = () => tw.calls(OLIVIA.phone).filter((c) => c.params.Twiml?.includes(spoken));
    await waitFor('the swept voice page', () => (callsFor().length ? true : undefined), 15000);
    await sleep(6000); // one more sweep: it must not send the page again
    assert.equal(callsFor().length, 1);
    const { rows } = await cp.db.query(
      `select n.status, n.attempts from notifications n join incidents i on i.id = n.incident_id
       where i.code = $1 and n.channel = 'voice'`,
      [code],
    );
    assert.deepEqual(rows, [{ status: 'sent', attempts: 1 }]);
  });

  /**
   * An incident paged at level 1 and resolved (so no later level pages), with `n` voice pages to Olivia added
   * by hand: queued, untried, just created (the sweep leaves them alone for 10 s).
   */
  const voicePagesOfResolved = async (groupKey: string, n: number) => {
    const r = await hook(alertPayload({ groupKey, severity: 'warning' }));
    const code = r.body.incident as string;
    await waitFor('level 1 SMS', () => (smsFor(code, OLIVIA.phone).length ? true : undefined));
    await cp.call('POST', `/api/v1/incidents/${code}/resolve`, { body: {} });
    const { rows: pages } = await cp.db.query<{ id: string }>(
      `insert into notifications (incident_id, level, repeat, responder_id, channel, idempotency_key)
       select i.id, 1, 0, r.id, 'voice', i.id || ':by-hand:' || k
       from incidents i, responders r, generate_series(1, $3::int) k where i.code = $1 and r.phone = $2
       returning id`,
      [code, OLIVIA.phone, n],
    );
    return { code, pages };
  };

  it('sends a page asked for several times at once (sweep, job, after commit) once, and pages sent together each once', async () => {
    // Four voice pages nobody has tried yet, created just now (the sweep leaves them alone for 10 s).
    const { code, pages } = await voicePagesOfResolved('g-together', 4);
    const notify = cp.ctx.paging.notify;
    // Each page three times over, all at once: the claims race, and one of each wins. Claims that wait go
    // together in one statement; a hand-made job's id that is no page's must not fail the others.
    await Promise.all([
      ...pages.flatMap((p) => [notify.send(p.id), notify.send(p.id), notify.send(p.id)]),
      notify.send('n1'),
    ]);
    const spoken = `Incident ${Number(code.slice(4))}.`;
    assert.equal(tw.calls(OLIVIA.phone).filter((c) => c.params.Twiml?.includes(spoken)).length, 4);
    const { rows } = await cp.db.query(
      `select n.status, n.attempts, count(a.*)::int as tries from notifications n
       left join notification_attempts a on a.notification_id = n.id
       where n.id = any($1::uuid[]) group by n.id, n.status, n.attempts`,
      [pages.map((p) => p.id)],
    );
    assert.deepEqual(rows, Array(4).fill({ status: 'sent', attempts: 1, tries: 1 }));
  });

  it('never sends a page again that the provider took when recording it failed', async () => {
    const { code, pages } = await voicePagesOfResolved('g-mark-fails', 2);
    const [blip, down] = [pages[0]!.id, pages[1]!.id];
    const sentVoice = async () =>
      Number(
        /^concierge_ops_notifications_total\{channel="voice",status="sent"\} (\d+)$/m.exec(
          (await cp.call('GET', '/metrics')).text,
        )?.[1] ?? 0,
      );
    const sentBefore = await sentVoice();
    // The database refuses the record of what Twilio took: once for one page (a blip), every time for the other.
    const failures = new Map([
      [blip, 1],
      [down, Infinity],
    ]);
    const pool = cp.ctx.pool;
    const query = pool.query;
    pool.query = (async (config: { name?: string; values?: unknown[] }, ...rest: unknown[]) => {
      // The marks of pages sent together go in one statement: it fails if any of them is to fail.
      const ids =
        config?.name === 'notify.recordSent'
          ? (JSON.parse(String(config.values?.[0])) as { id: string }[]).map((m) => m.id)
          : [];
      const failing = ids.filter((id) => (failures.get(id) ?? 0) > 0);
      if (failing.length > 0) {
        for (const id of failing) failures.set(id, failures.get(id)! - 1);
        throw new Error('connection terminated unexpectedly');
      }
      return (query as (...a: unknown[]) => Promise<unknown>).call(pool, config, ...rest);
    }) as unknown as typeof pool.query;
    try {
      const notify = cp.ctx.paging.notify;
      await Promise.all([notify.send(blip), notify.send(down)]);
      await sleep(1500); // longer than a retry's backoff (base 100 ms): a retry would have gone out by now
      await notify.send(down); // as a sweep or a stray job would
    } finally {
      pool.query = query;
    }
    const spoken = `Incident ${Number(code.slice(4))}.`;
    assert.equal(tw.calls(OLIVIA.phone).filter((c) => c.params.Twiml?.includes(spoken)).length, 2);
    const { rows } = await cp.db.query(
      `select n.id, n.status, n.attempts, n.provider_id is not null as has_sid, count(a.*)::int as tries
       from notifications n left join notification_attempts a on a.notification_id = n.id
       where n.id = any($1::uuid[]) group by n.id`,
      [[blip, down]],
    );
    const byId = Object.fromEntries(rows.map((x) => [x.id, { ...x, id: undefined }]));
    // The blip's record landed on its second try; the other stays 'sending' (the sweep makes it 'unknown').
    assert.deepEqual(byId[blip], { id: undefined, status: 'sent', attempts: 1, has_sid: true, tries: 1 });
    assert.deepEqual(byId[down], { id: undefined, status: 'sending', attempts: 1, has_sid: false, tries: 0 });
    // Counted as the rows say: the page whose record never landed is not 'sent' (the sweep counts it 'unknown').
    assert.equal((await sentVoice()) - sentBefore, 1);
  });

  it('marks a page whose sender died mid-send "unknown" on the timeline and in /metrics, and never sends it', async () => {
    const r = await hook(alertPayload({ groupKey: 'g-stuck', severity: 'warning' }));
    const code = r.body.incident as string;
    // A warning pages by SMS and e-mail.
    await waitFor('level 1 SMS and e-mail', () =>
      smsFor(code, OLIVIA.phone).length && mailFor(code, OLIVIA.email).length ? true : undefined,
    );
    await cp.call('POST', `/api/v1/incidents/${code}/resolve`, { body: {} });
    const spoken = `Incident ${Number(code.slice(4))}.`;
    const calls = () => tw.calls(OLIVIA.phone).filter((c) => c.params.Twiml?.includes(spoken)).length;
    const sent = { calls: calls(), mails: mailFor(code, OLIVIA.email).length };
    // Claimed (durably 'sending') by processes that then died before Twilio or SMTP answered: a voice page 3
    // minutes ago and an e-mail 16 minutes ago are past what a send can take; a voice page 30 s ago and an
    // e-mail 3 minutes ago (SMTP timeouts run to minutes) may still be on their way.
    await cp.db.query(
      `insert into notifications (incident_id, level, repeat, responder_id, channel, idempotency_key, status,
         attempts, created_at, updated_at)
       select i.id, 1, 0, r.id, s.channel, i.id || ':' || s.key, 'sending', 1, now() - s.age, now() - s.age
       from incidents i, responders r,
         (values ('voice', 'old-call', interval '3 minutes'), ('voice', 'new-call', interval '30 seconds'),
                 ('email', 'old-mail', interval '16 minutes'), ('email', 'new-mail', interval '3 minutes'))
           as s (channel, key, age)
       where i.code = $1 and r.phone = $2`,
      [code, OLIVIA.phone],
    );
    const status = async () =>
      Object.fromEntries(
        (
          await cp.db.query<{ key: string; status: string }>(
            `select split_part(n.idempotency_key, ':', 2) as key, n.status from notifications n
             join incidents i on i.id = n.incident_id where i.code = $1 and n.status <> 'sent'`,
            [code],
          )
        ).rows.map((x) => [x.key, x.status]),
      );
    await waitFor('the sweep', async () => ((await status())['old-call'] === 'unknown' ? true : undefined));
    assert.deepEqual(await status(), {
      'old-call': 'unknown',
      'new-call': 'sending',
      'old-mail': 'unknown',
      'new-mail': 'sending',
    });
    const tl = await cp.call('GET', `/api/v1/incidents/${code}/timeline`);
    const unknown = (tl.body as Array<{ kind: string; detail: object }>).filter(
      (e) => e.kind === 'page_unknown',
    );
    assert.deepEqual(
      unknown.map((e) => e.detail).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
      [
        { level: 1, responder: 'Olivia', channel: 'email' },
        { level: 1, responder: 'Olivia', channel: 'voice' },
      ],
    );
    const text = (await cp.call('GET', '/metrics')).text;
    assert.match(text, /^concierge_ops_notifications_total\{channel="voice",status="unknown"\} 1$/m);
    assert.match(text, /^concierge_ops_notifications_total\{channel="email",status="unknown"\} 1$/m);
    // Not sent again: the provider may have taken them before their process died.
    assert.deepEqual({ calls: calls(), mails: mailFor(code, OLIVIA.email).length }, sent);
  });

  it('acknowledges by a signed SMS reply and refuses a forged one with 403, changing nothing', async () => {
    const r = await hook(alertPayload({ groupKey: 'g-sms-ack', severity: 'warning' }));
    const code = r.body.incident as string;
    await waitFor('level 1 SMS', () => (smsFor(code, OLIVIA.phone).length ? true : undefined));
    const params = { From: OLIVIA.phone, To: '+15005550006', Body: `ack ${code}`, MessageSid: 'SMx' };
    const forged = await form('/api/v1/twilio/inbound', params, 'bm90IGEgc2lnbmF0dXJl');
    assert.equal(forged.status, 403);
    const unsigned = await cp.call('POST', '/api/v1/twilio/inbound', {
      token: null,
      raw: new URLSearchParams(params).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    assert.equal(unsigned.status, 403);
    assert.equal((await cp.call('GET', `/api/v1/incidents/${code}`)).body.status, 'open');
    const ok = await form('/api/v1/twilio/inbound', params);
    assert.equal(ok.status, 200);
    assert.match(ok.text, new RegExp(`<Message>${code} acknowledged by Olivia.</Message>`));
    const inc = await cp.call('GET', `/api/v1/incidents/${code}`);
    assert.equal(inc.body.status, 'acknowledged');
    assert.equal(inc.body.acknowledgedBy, 'Olivia (sms)');
    await sleep((LEVEL2_DELAY_S + 1.5) * 1000);
    assert.equal(smsFor(code, DEV.phone).length, 0);
    await cp.call('POST', `/api/v1/incidents/${code}/resolve`, { body: {} });
  });

  it('acknowledges by an SMS reply naming the incident number the page and the call give ("ACK 123", "123")', async () => {
    const a = await hook(alertPayload({ groupKey: 'g-sms-num-a', severity: 'warning' }));
    const b = await hook(alertPayload({ groupKey: 'g-sms-num-b', severity: 'warning' }));
    const [codeA, codeB] = [a.body.incident as string, b.body.incident as string];
    await waitFor('both SMS', () =>
      smsFor(codeA, OLIVIA.phone).length && smsFor(codeB, OLIVIA.phone).length ? true : undefined,
    );
    const number = (code: string) => String(Number(code.slice(4)));
    // The older incident by its bare number (the newer one is the "latest paged" a bare ACK would take).
    const first = await form('/api/v1/twilio/inbound', { From: OLIVIA.phone, Body: ` ${number(codeA)} ` });
    assert.match(first.text, new RegExp(`<Message>${codeA} acknowledged by Olivia.</Message>`));
    assert.equal((await cp.call('GET', `/api/v1/incidents/${codeB}`)).body.status, 'open');
    const second = await form('/api/v1/twilio/inbound', { From: OLIVIA.phone, Body: `Ack ${number(codeB)}` });
    assert.match(second.text, new RegExp(`<Message>${codeB} acknowledged by Olivia.</Message>`));
    assert.equal((await cp.call('GET', `/api/v1/incidents/${codeB}`)).body.status, 'acknowledged');
    const unknown = await form('/api/v1/twilio/inbound', { From: OLIVIA.phone, Body: 'ACK 99999999' });
    assert.match(unknown.text, /Unknown incident INC-99999999/);
    const chatter = await form('/api/v1/twilio/inbound', { From: OLIVIA.phone, Body: 'on my way' });
    assert.match(chatter.text, /Reply ACK &lt;incident code&gt;/);
    for (const code of [codeA, codeB])
      await cp.call('POST', `/api/v1/incidents/${code}/resolve`, { body: {} });
  });

  it('acknowledges once through the signed e-mail link; a reused or altered link gets 403', async () => {
    const r = await hook(alertPayload({ groupKey: 'g-mail-ack', severity: 'warning' }));
    const code = r.body.incident as string;
    const mail = await waitFor('level 1 e-mail', () => mailFor(code, OLIVIA.email)[0]);
    const link = /(https:\/\/ops\.example\.test\/api\/v1\/incidents\/ack-link\?t=\S+)/.exec(mail.text!)![1]!;
    const path = link.slice(PUBLIC.length);
    const page = await cp.call('GET', path, { token: null });
    assert.equal(page.status, 200);
    assert.equal((await cp.call('GET', `/api/v1/incidents/${code}`)).body.status, 'open', 'GET must not ack');
    const altered = await cp.call('POST', path.slice(0, -2) + (path.endsWith('AA') ? 'BB' : 'AA'), {
      token: null,
    });
    assert.equal(altered.status, 403);
    const ok = await cp.call('POST', path, { token: null });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.body.incident, code);
    const inc = await cp.call('GET', `/api/v1/incidents/${code}`);
    assert.equal(inc.body.status, 'acknowledged');
    assert.equal(inc.body.acknowledgedBy, 'Olivia (e-mail link)');
    assert.equal((await cp.call('POST', path, { token: null })).status, 403);
    await cp.call('POST', `/api/v1/incidents/${code}/resolve`, { body: {} });
  });

  it('retries an SMS that Twilio answers with 5xx, then falls back to e-mail and says so on the timeline', async () => {
    tw.fail(3, 503);
    const r = await hook(alertPayload({ groupKey: 'g-twilio-down', severity: 'warning' }));
    const code = r.body.incident as string;
    const fallback = await waitFor('fallback e-mail', () =>
      mailFor(code, OLIVIA.email).find((m) => m.text?.includes('could not be delivered')),
    );
    assert.ok(fallback.text!.includes(code));
    const { rows } = await cp.db.query(
      `select n.status, n.attempts, array_agg(a.outcome order by a.id) as outcomes,
         array_agg(extract(epoch from a.at) order by a.id) as ats
       from notifications n join incidents i on i.id = n.incident_id
       join notification_attempts a on a.notification_id = n.id
       where i.code = $1 and n.channel = 'sms' group by n.id`,
      [code],
    );
    assert.equal(rows[0].status, 'fallback');
    assert.equal(rows[0].attempts, 3);
    assert.deepEqual(rows[0].outcomes, ['failed', 'failed', 'failed']);
    // Three requests reached the API, each answered 503; retries waited (backoff with jitter, base 100 ms).
    assert.equal(smsFor(code, OLIVIA.phone).length, 3);
    const ats = (rows[0].ats as number[]).map(Number);
    assert.ok(ats[1]! - ats[0]! >= 0.04 && ats[2]! - ats[1]! >= 0.04, `attempts at ${ats.join(', ')}`);
    const tl = await cp.call('GET', `/api/v1/incidents/${code}/timeline`);
    const fb = tl.body.find((e: { kind: string }) => e.kind === 'page_fallback');
    assert.equal(fb.detail.from, 'sms');
    assert.equal(fb.detail.to, 'email');
    await cp.call('POST', `/api/v1/incidents/${code}/resolve`, { body: {} });
  });

  it('retries an SMS that Twilio rate-limits (429) instead of falling back to e-mail', async () => {
    tw.fail(1, 429);
    const r = await hook(alertPayload({ groupKey: 'g-twilio-429', severity: 'warning' }));
    const code = r.body.incident as string;
    await waitFor('the retried SMS', () => (smsFor(code, OLIVIA.phone).length === 2 ? true : undefined));
    const { rows } = await waitFor('the SMS sent', async () => {
      const q = await cp.db.query(
        `select n.status, array_agg(a.outcome order by a.id) as outcomes from notifications n
         join incidents i on i.id = n.incident_id join notification_attempts a on a.notification_id = n.id
         where i.code = $1 and n.channel = 'sms' group by n.id`,
        [code],
      );
      return q.rows[0]?.status === 'sent' ? q : undefined;
    });
    assert.deepEqual(rows[0].outcomes, ['failed', 'sent']);
    await sleep(300);
    assert.ok(!mailFor(code, OLIVIA.email).some((m) => m.text?.includes('could not be delivered')));
    await cp.call('POST', `/api/v1/incidents/${code}/resolve`, { body: {} });
  });

  it('takes a status callback that arrives before the send has recorded its sid (the e-mail fallback still happens)', async () => {
    const r = await hook(alertPayload({ groupKey: 'g-early-callback', severity: 'warning' }));
    const code = r.body.incident as string;
    const { rows } = await sentSms(code);
    // As if the sent mark had not committed yet when Twilio called back: the sid appears 400 ms later.
    await cp.db.query(`update notifications set provider_id = null, status = 'sending' where id = $1`, [
      rows[0].id,
    ]);
    const restore = sleep(400).then(() =>
      cp.db.query(`update notifications set provider_id = $2, status = 'sent' where id = $1`, [
        rows[0].id,
        rows[0].provider_id,
      ]),
    );
    const cb = await form('/api/v1/twilio/status', {
      MessageSid: rows[0].provider_id,
      MessageStatus: 'undelivered',
      AccountSid: SID,
    });
    await restore;
    assert.equal(cb.status, 204);
    await waitFor('fallback e-mail', () =>
      mailFor(code, OLIVIA.email).find((m) => m.text?.includes('could not be delivered')),
    );
    await cp.call('POST', `/api/v1/incidents/${code}/resolve`, { body: {} });
  });

  it("records Twilio's signed delivery status and refuses a forged status callback", async () => {
    const r = await hook(alertPayload({ groupKey: 'g-status', severity: 'warning' }));
    const code = r.body.incident as string;
    await waitFor('level 1 SMS', () => (smsFor(code, OLIVIA.phone).length ? true : undefined));
    const { rows } = await sentSms(code);
    const sid = rows[0].provider_id as string;
    assert.match(sid, /^SM[0-9a-f]{32}$/);
    const params = { MessageSid: sid, MessageStatus: 'undelivered', AccountSid: SID };
    assert.equal((await form('/api/v1/twilio/status', params, 'Zm9yZ2Vk')).status, 403);
    const still = await cp.db.query(`select status from notifications where id = $1`, [rows[0].id]);
    assert.equal(still.rows[0].status, 'sent');
    const ok = await form('/api/v1/twilio/status', { ...params, MessageStatus: 'delivered' });
    assert.equal(ok.status, 204);
    const after = await cp.db.query(`select status from notifications where id = $1`, [rows[0].id]);
    assert.equal(after.rows[0].status, 'delivered');
    await cp.call('POST', `/api/v1/incidents/${code}/resolve`, { body: {} });
  });

  it('pages through a send job per page when the committing process does not send after commit', async () => {
    // As on a replica that takes webhooks but leaves sending to the processes running the workers.
    cp.ctx.paging.notify.setDirectSend(false);
    try {
      const answer = await hook(alertPayload({ groupKey: 'g-jobs' }));
      assert.equal(answer.status, 200);
      const code = answer.body.incident as string;
      // The level 1 rows (SMS, call and e-mail to Olivia) committed with a job each, keyed by the row.
      const { rows } = await cp.db.query<{ channel: string; job: string | null }>(
        `select n.channel, (select j.key from graphile_worker.jobs j where j.key = n.idempotency_key) as job
         from notifications n join incidents i on i.id = n.incident_id where i.code = $1 order by n.channel`,
        [code],
      );
      assert.deepEqual(
        rows.map((r) => [r.channel, r.job !== null]),
        [
          ['email', true],
          ['sms', true],
          ['voice', true],
        ],
      );
      await waitFor('the jobs to page level 1', () =>
        smsFor(code, OLIVIA.phone).length &&
        tw.calls(OLIVIA.phone).length &&
        mailFor(code, OLIVIA.email).length
          ? true
          : undefined,
      );
      assert.equal(smsFor(code, OLIVIA.phone).length, 1);
      const tl = await cp.call('GET', `/api/v1/incidents/${code}/timeline`);
      const escalated = tl.body.filter((e: { kind: string }) => e.kind === 'escalated');
      assert.equal(escalated.length, 1);
      assert.equal(escalated[0].detail.pages, 3);
      await cp.call('POST', `/api/v1/incidents/${code}/resolve`, { body: {} });
    } finally {
      cp.ctx.paging.notify.setDirectSend(true);
    }
  });

  it('exposes paging metrics without phone numbers or incident codes', async () => {
    const text = (await cp.call('GET', '/metrics')).text;
    assert.match(text, /^concierge_ops_notifications_total\{channel="sms",status="sent"\} \d+$/m);
    // Two retries of the SMS Twilio answered 503 three times, one of the SMS it answered 429 once.
    assert.match(text, /^concierge_ops_notifications_total\{channel="sms",status="retrying"\} 3$/m);
    // Level 2 was reached once by the first test, twice by the repeated ladder and once after a retry.
    assert.match(text, /^concierge_ops_escalation_levels_reached_total\{level="2"\} 4$/m);
    // Warnings acknowledged: three by the tests before, two by their incident numbers.
    assert.match(text, /^concierge_ops_incident_time_to_acknowledge_seconds_count\{severity="warning"\} 5$/m);
    assert.match(text, /^concierge_ops_job_queue_lag_seconds \d/m);
    assert.ok(!text.includes('+1555'), 'a phone number is in /metrics');
    assert.ok(!/INC-\d/.test(text), 'an incident code is in /metrics');
  });

  describe('the opening in one statement', () => {
    /** What each one-statement opening wrote: 1 row (it opened the incident) or 0 (the usual way did). */
    let oneStatement: number[] = [];
    let restore: (() => void) | undefined;
    before(() => {
      const pool = cp.ctx.pool;
      const query = pool.query;
      pool.query = (async (config: { name?: string }, ...rest: unknown[]) => {
        const result = await (query as (...a: unknown[]) => Promise<{ rowCount: number | null }>).call(
          pool,
          config,
          ...rest,
        );
        if (config?.name === 'incidents.openWithEscalation') oneStatement.push(result.rowCount ?? 0);
        return result;
      }) as unknown as typeof pool.query;
      restore = () => (pool.query = query);
    });
    after(() => restore?.());

    const open = async (groupKey: string, opts: Parameters<typeof alertPayload>[0] = {}) => {
      oneStatement = [];
      const res = await hook(alertPayload({ groupKey, ...opts }));
      assert.equal(res.status, 200, res.text);
      return { code: res.body.incident as string, oneStatement };
    };
    const levelsReached = async () =>
      Number(
        /^concierge_ops_escalation_levels_reached_total\{level="1"\} (\d+)$/m.exec(
          (await cp.call('GET', '/metrics')).text,
        )?.[1] ?? 0,
      );
    /** Everything an opening wrote, with the incident's own code, id and fingerprints taken out. */
    const written = async (code: string, fp: string) => {
      const inc = (await cp.db.query(`select * from incidents where code = $1`, [code])).rows[0];
      const scrub = (v: unknown) =>
        JSON.parse(JSON.stringify(v).replaceAll(code, 'CODE').replaceAll(inc.id, 'ID').replaceAll(fp, 'FP'));
      const timeline = (await cp.call('GET', `/api/v1/incidents/${code}/timeline`)).body.map(
        (e: { at?: string }) => ({ ...e, at: undefined }),
      );
      const audit = await waitFor('the opening in the audit log', async () => {
        const q = await cp.db.query(
          `select actor, action, target_type, target_id, before, after from audit_log
           where target_id = $1 and action = 'incident.opened'`,
          [inc.id],
        );
        return q.rows.length ? q.rows : undefined;
      });
      const pages = await cp.db.query(
        `select n.level, n.repeat, r.name, n.channel, n.idempotency_key from notifications n
         join responders r on r.id = n.responder_id where n.incident_id = $1 order by r.name, n.channel`,
        [inc.id],
      );
      const steps = await cp.db.query(
        `select level, repeat, extract(epoch from due_at - $2::timestamptz)::int as after_s
         from escalation_steps where incident_id = $1 order by level`,
        [inc.id, inc.opened_at],
      );
      const alerts = await cp.db.query(
        `select fingerprint, status, alertname, labels, annotations, starts_at, ends_at from incident_alerts
         where incident_id = $1 order by fingerprint`,
        [inc.id],
      );
      const row = Object.fromEntries(
        Object.entries(inc).filter(
          // first_page_at: a time, like opened_at, and set whenever the provider answers (maybe not yet).
          ([k]) => !['id', 'code', 'group_key', 'opened_at', 'updated_at', 'first_page_at'].includes(k),
        ),
      );
      return scrub({ row, timeline, audit, pages: pages.rows, steps: steps.rows, alerts: alerts.rows });
    };

    it("writes a new group's opening in one statement once its policy is known, exactly as the usual opening", async () => {
      // A policy change moves paging_config_version: the next opening reads the policy again the usual way.
      await cp.db.query(`update escalation_policies set name = name where is_default`);
      const before = await levelsReached();
      const fps = (p: string) => [`${p}000000000001`, `${p}000000000002`];
      const a = await open('g-one-usual', { severity: 'warning', fingerprints: fps('aaaa') });
      assert.ok(!a.oneStatement.includes(1), 'the first opening after a policy change went in one statement');
      const b = await open('g-one-statement', { severity: 'warning', fingerprints: fps('bbbb') });
      assert.deepEqual(b.oneStatement, [1]);
      // Level 1 pages Olivia by SMS and e-mail (warning), for each opening.
      await waitFor('both openings paged', () =>
        smsFor(a.code, OLIVIA.phone).length &&
        smsFor(b.code, OLIVIA.phone).length &&
        mailFor(a.code, OLIVIA.email).length &&
        mailFor(b.code, OLIVIA.email).length
          ? true
          : undefined,
      );
      const [usual, single] = [await written(a.code, 'aaaa'), await written(b.code, 'bbbb')];
      assert.deepEqual(single, usual);
      // What the comparison rests on: the opening's timeline, its audit record, its pages and the next step.
      assert.deepEqual(
        usual.timeline.map((e: { kind: string; actor: string }) => `${e.kind} by ${e.actor}`),
        [
          'opened by alertmanager',
          'alert_added by alertmanager',
          'alert_added by alertmanager',
          'escalated by escalation',
        ],
      );
      assert.equal(usual.timeline[3].detail.pages, 2);
      assert.equal(usual.audit[0].after.code, 'CODE');
      assert.deepEqual(
        usual.pages.map((p: { name: string; channel: string }) => `${p.name} ${p.channel}`),
        ['Olivia email', 'Olivia sms'],
      );
      assert.deepEqual(usual.steps, [{ level: 2, repeat: 0, after_s: LEVEL2_DELAY_S }]);
      assert.equal(await levelsReached(), before + 2);
      for (const c of [a.code, b.code]) await cp.call('POST', `/api/v1/incidents/${c}/resolve`, { body: {} });
    });

    it('opens the usual way, by the policy and client as they are now, once either has changed', async () => {
      // Warm: a client label and severity met before.
      const first = await open('g-one-warm', { severity: 'warning', fingerprints: [randomFingerprint()] });
      // Level 1 pages warnings by e-mail only from now on: a plan made before would page by SMS too.
      await cp.db.query(
        `update escalation_levels set channels = channels || '{"warning": ["email"]}'::jsonb where level = 1`,
      );
      try {
        const changed = await open('g-one-changed', {
          severity: 'warning',
          fingerprints: [randomFingerprint()],
        });
        assert.deepEqual(changed.oneStatement, [0]);
        const pages = await cp.db.query(
          `select n.channel from notifications n join incidents i on i.id = n.incident_id where i.code = $1`,
          [changed.code],
        );
        assert.deepEqual(
          pages.rows.map((r) => r.channel),
          ['email'],
        );
        for (const c of [first.code, changed.code])
          await cp.call('POST', `/api/v1/incidents/${c}/resolve`, { body: {} });
      } finally {
        await cp.db.query(
          `update escalation_levels set channels = channels || '{"warning": ["sms", "email"]}'::jsonb where level = 1`,
        );
      }
      // A client label nobody knew opens unassigned incidents, in one statement the second time (an instance
      // label would not be its client's, and takes the usual way, which says so on the timeline) ...
      const unknown = { client: 'new-clinic', instance: null, service: null };
      const u1 = await open('g-one-new-1', { ...unknown, fingerprints: [randomFingerprint()] });
      const u2 = await open('g-one-new-2', { ...unknown, fingerprints: [randomFingerprint()] });
      assert.deepEqual(u2.oneStatement, [1]);
      for (const c of [u1.code, u2.code]) {
        const inc = (await cp.call('GET', `/api/v1/incidents/${c}`)).body;
        assert.equal(inc.unassigned, true);
        assert.equal(inc.client, null);
      }
      // ... until the client exists: then the label means it, and its incidents are its own.
      await cp.call('POST', '/api/v1/clients', { body: clientBody('new-clinic') });
      const owned = await open('g-one-new-3', { client: 'new-clinic', fingerprints: [randomFingerprint()] });
      assert.deepEqual(owned.oneStatement, [0]);
      const inc = (await cp.call('GET', `/api/v1/incidents/${owned.code}`)).body;
      assert.equal(inc.unassigned, false);
      assert.equal(inc.client.slug, 'new-clinic');
      for (const c of [u1.code, u2.code, owned.code])
        await cp.call('POST', `/api/v1/incidents/${c}/resolve`, { body: {} });
    });

    it('does not reopen a resolved group for a late replay, in one statement or the usual way', async () => {
      const fp = randomFingerprint();
      const body = alertPayload({ groupKey: 'g-one-replay', severity: 'warning', fingerprints: [fp] });
      const opened = await hook(body);
      await hook(
        alertPayload({
          groupKey: 'g-one-replay',
          severity: 'warning',
          fingerprints: [fp],
          status: 'resolved',
        }),
      );
      assert.equal(
        (await cp.call('GET', `/api/v1/incidents/${opened.body.incident}`)).body.status,
        'resolved',
      );
      oneStatement = [];
      const replay = await hook(body);
      assert.equal(replay.status, 200);
      assert.equal(replay.body.incident, null);
      assert.deepEqual(oneStatement, [0]);
      const q = await cp.db.query(
        `select count(*)::int as n from incidents where group_key = 'g-one-replay'`,
      );
      assert.equal(q.rows[0].n, 1);
    });
  });
});
