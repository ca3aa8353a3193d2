import assert from 'node:assert/strict';
import { alertPayload, waitFor } from '../helpers/alerts.ts';
import { clientBody, startControlPlane, type TestControlPlane } from '../helpers/control-plane.ts';
import { TwilioStandIn } from '../helpers/twilio-standin.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const hhmm = (d: Date) => d.toISOString().slice(11, 16);
const ALL_DAYS = ['MO', 'TU', 'WE', 'TH', 'FR', 'SA', 'SU'];

describe('on-call rotations, time-of-day rules, reassignment', () => {
  let cp: TestControlPlane;
  let tw: TwilioStandIn;
  let am: string;
  const people: Record<string, { id: string; phone: string }> = {};

  before(async () => {
    tw = await new TwilioStandIn().start();
    cp = await startControlPlane({
      TWILIO_ACCOUNT_SID: 'AC' + '0123456789abcdef'.repeat(2),
      TWILIO_AUTH_TOKEN: 'twilio-auth-token-for-tests-0123456789',
      TWILIO_FROM_NUMBER: '+15005550006',
      TWILIO_API_URL: tw.url,
      PUBLIC_URL: 'https://ops.example.test',
      WORKER_POLL_INTERVAL_MS: '100',
    });
    await cp.call('POST', '/api/v1/clients', { body: clientBody('rota-dental') });
    am = await cp.token('alertmanager');
    // Role "engineer": the shipped default policy (by roles oncall-engineer, devops-lead, ...) pages none of them.
    for (const [name, phone] of [
      ['Ann', '+15551240001'],
      ['Bob', '+15551240002'],
      ['Cat', '+15551240003'],
    ] as const) {
      const r = await cp.call('POST', '/api/v1/responders', { body: { name, role: 'engineer', phone } });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      people[name] = { id: r.body.id, phone };
    }
  });
  after(async () => {
    await cp.close();
    await tw.stop();
  });

  const hook = (body: unknown) => cp.call('POST', '/api/v1/alertmanager/webhook', { token: am, body });
  const smsFor = (code: string, to: string) => tw.messages(to).filter((m) => m.params.Body?.includes(code));

  it('keeps responders through the API: bad input named and changing nothing, contact details out of the audit log', async () => {
    const bad = await cp.call('POST', '/api/v1/responders', {
      body: { name: 'Eve', role: 'engineer', phone: '555-1234' },
    });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.errors[0].field, '/phone');
    const dup = await cp.call('POST', '/api/v1/responders', {
      body: { name: 'Eve', role: 'engineer', phone: people.Ann!.phone },
    });
    assert.equal(dup.status, 409);
    const list = await cp.call('GET', '/api/v1/responders');
    assert.deepEqual(list.body.map((r: { name: string }) => r.name).sort(), ['Ann', 'Bob', 'Cat']);
    const audit = await cp.call('GET', '/api/v1/audit?targetType=responder');
    assert.ok(audit.body.length >= 3);
    assert.ok(!JSON.stringify(audit.body).includes('+1555124'), 'a phone number reached the audit log');
    const client = await cp.token('client', 'rota-dental');
    assert.equal((await cp.call('GET', '/api/v1/responders', { token: client })).status, 403);
  });

  it('answers who is on call now, with an override on top and gone again, and previews the schedule', async () => {
    // The hand-off is set two to three hours ahead, so Ann's shift (begun at the last hand-off) outlasts the
    // test and its hour-long override whatever the time of day the suite runs: a 00:00 hand-off failed the
    // test when it ran after 23:00 UTC, the override then covering the rest of Ann's shift.
    const HOUR = 3_600_000;
    const DAY = 86_400_000;
    const lastHandoff = Math.floor(Date.now() / HOUR) * HOUR + 3 * HOUR - DAY;
    const handoffAt = (n: number) => new Date(lastHandoff + n * DAY).toISOString();
    const created = await cp.call('POST', '/api/v1/rotations', {
      body: {
        name: 'primary',
        timeZone: 'UTC',
        handoff: 'daily',
        handoffTime: hhmm(new Date(lastHandoff)),
        startDate: handoffAt(0).slice(0, 10),
        members: [people.Ann!.id, people.Bob!.id],
      },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const now = await cp.call('GET', '/api/v1/oncall/now');
    assert.equal(now.status, 200);
    const primary = now.body.oncall.find(
      (o: { rotation: { name: string } }) => o.rotation.name === 'primary',
    );
    assert.equal(primary.responder.name, 'Ann');
    assert.equal(primary.since, handoffAt(0));
    assert.equal(primary.until, handoffAt(1));
    assert.equal(primary.override, null);

    const end = new Date(Date.now() + HOUR).toISOString();
    const o = await cp.call('POST', `/api/v1/rotations/primary/overrides`, {
      body: {
        responder: people.Cat!.id,
        start: new Date(Date.now() - 60_000).toISOString(),
        end,
        reason: 'swap',
      },
    });
    assert.equal(o.status, 201, JSON.stringify(o.body));
    const during = await cp.call('GET', '/api/v1/oncall/now?rotation=primary');
    assert.equal(during.body.oncall.length, 1);
    assert.equal(during.body.oncall[0].responder.name, 'Cat');
    assert.equal(during.body.oncall[0].override, o.body.id);
    assert.equal(during.body.oncall[0].until, end);

    // The preview: the override, then Ann to the next hand-off, then Bob for the next day.
    const from = new Date().toISOString();
    const to = handoffAt(2);
    const preview = await cp.call(
      'GET',
      `/api/v1/rotations/${created.body.id}/schedule?from=${from}&to=${to}`,
    );
    assert.equal(preview.status, 200, JSON.stringify(preview.body));
    const names = preview.body.shifts.map((s: { responder: { name: string } }) => s.responder.name);
    assert.deepEqual(names.slice(0, 3), ['Cat', 'Ann', 'Bob']);
    assert.equal(preview.body.shifts[0].end, end);
    assert.equal(preview.body.shifts[2].start, handoffAt(1));

    assert.equal(during.body.oncall[0].responder.active, true);
    const removed = await cp.call('DELETE', `/api/v1/rotations/primary/overrides/${o.body.id}`);
    assert.equal(removed.status, 204);
    const after = await cp.call('GET', '/api/v1/oncall/now?rotation=primary');
    assert.equal(after.body.oncall[0].responder.name, 'Ann');

    // Bad input: named, and nothing changes.
    const bad = await cp.call('POST', '/api/v1/rotations', {
      body: {
        name: 'bad',
        timeZone: 'Mars/Olympus',
        handoff: 'daily',
        handoffTime: '25:00',
        startDate: handoffAt(0).slice(0, 10),
        members: [people.Ann!.id],
      },
    });
    assert.equal(bad.status, 400);
    const fields = bad.body.errors.map((e: { field: string }) => e.field);
    assert.ok(
      fields.includes('/timeZone') && fields.includes('/handoffTime'),
      JSON.stringify(bad.body.errors),
    );
    const ghost = await cp.call('POST', '/api/v1/rotations', {
      body: {
        name: 'ghost',
        timeZone: 'UTC',
        handoff: 'weekly',
        handoffTime: '09:00',
        startDate: handoffAt(0).slice(0, 10),
        members: [people.Ann!.id, '00000000-0000-4000-8000-000000000000'],
      },
    });
    assert.equal(ghost.status, 400);
    assert.deepEqual(ghost.body.errors, [{ field: '/members/1', message: 'no such responder' }]);
    const tooLong = await cp.call(
      'GET',
      `/api/v1/rotations/primary/schedule?from=2026-01-01T00:00:00Z&to=2026-06-01T00:00:00Z`,
    );
    assert.equal(tooLong.status, 400);
    assert.equal((await cp.call('GET', '/api/v1/rotations')).body.length, 1);
    assert.equal((await cp.call('GET', '/api/v1/oncall/now?rotation=nope')).status, 404);
  });

  it('pages whoever is on call in a rotation a level targets, and the override when there is one', async () => {
    const pol = await cp.call('POST', '/api/v1/escalation-policies', {
      body: {
        name: 'rota-dental warnings',
        client: 'rota-dental',
        severities: ['warning'],
        levels: [
          {
            delaySeconds: 0,
            targets: { rotations: [await rotationId('primary')] },
            channels: { warning: ['sms'] },
          },
        ],
      },
    });
    assert.equal(pol.status, 201, JSON.stringify(pol.body));
    const first = await hook(
      alertPayload({ groupKey: 'rota-1', client: 'rota-dental', severity: 'warning' }),
    );
    const code1 = first.body.incident as string;
    await waitFor('SMS to Ann', () => (smsFor(code1, people.Ann!.phone).length ? true : undefined));

    const o = await cp.call('POST', `/api/v1/rotations/primary/overrides`, {
      body: {
        responder: people.Bob!.id,
        start: new Date(Date.now() - 1000).toISOString(),
        end: new Date(Date.now() + 600_000).toISOString(),
      },
    });
    assert.equal(o.status, 201);
    const second = await hook(
      alertPayload({ groupKey: 'rota-2', client: 'rota-dental', severity: 'warning' }),
    );
    const code2 = second.body.incident as string;
    await waitFor('SMS to Bob', () => (smsFor(code2, people.Bob!.phone).length ? true : undefined));
    await sleep(300);
    assert.equal(smsFor(code2, people.Ann!.phone).length, 0);
    assert.equal(smsFor(code1, people.Bob!.phone).length, 0);
    const tl = await cp.call('GET', `/api/v1/incidents/${code2}/timeline`);
    const step = tl.body.find((e: { kind: string }) => e.kind === 'escalated');
    assert.deepEqual(step.detail.responders, ['Bob']);
    await cp.call('DELETE', `/api/v1/rotations/primary/overrides/${o.body.id}`);
    // A rotation a level targets cannot be deleted; one that no level targets can.
    const busy = await cp.call('DELETE', '/api/v1/rotations/primary');
    assert.equal(busy.status, 409);
    assert.match(busy.body.detail ?? busy.body.title, /rota-dental warnings/);
    const spare = await cp.call('POST', '/api/v1/rotations', {
      body: {
        name: 'spare',
        timeZone: 'UTC',
        handoff: 'weekly',
        handoffTime: '09:00',
        startDate: '2026-01-05',
        members: [people.Cat!.id],
      },
    });
    assert.equal(spare.status, 201);
    assert.equal(spare.body.handoffDay, 'MO');
    assert.equal((await cp.call('DELETE', '/api/v1/rotations/spare')).status, 204);
    assert.equal((await cp.call('GET', '/api/v1/rotations/spare')).status, 404);
  });

  it('pages a level only within its hours, by its off-hours channels outside them, and picks a policy by its hours', async () => {
    const now = new Date();
    const inside = {
      timeZone: 'UTC',
      days: ALL_DAYS,
      start: hhmm(new Date(now.getTime() - 3_600_000)),
      end: hhmm(new Date(now.getTime() + 3_600_000)),
    };
    const outside = {
      timeZone: 'UTC',
      days: ALL_DAYS,
      start: hhmm(new Date(now.getTime() + 3_600_000)),
      end: hhmm(new Date(now.getTime() + 7_200_000)),
    };
    // A critical policy for the client: level 1 (Ann) only in hours that are not now, level 2 (Cat) in hours that
    // are, level 3 (Bob) outside its hours by SMS only.
    const pol = await cp.call('POST', '/api/v1/escalation-policies', {
      body: {
        name: 'rota-dental critical',
        client: 'rota-dental',
        severities: ['critical'],
        levels: [
          {
            delaySeconds: 0,
            targets: { responders: [people.Ann!.id] },
            channels: { critical: ['sms'] },
            hours: outside,
          },
          {
            delaySeconds: 0,
            targets: { responders: [people.Cat!.id] },
            channels: { critical: ['sms'] },
            hours: inside,
          },
          {
            delaySeconds: 1,
            targets: { responders: [people.Bob!.id] },
            channels: { critical: ['sms', 'voice'] },
            hours: outside,
            offHoursChannels: { critical: ['sms'] },
          },
        ],
      },
    });
    assert.equal(pol.status, 201, JSON.stringify(pol.body));
    const res = await hook(
      alertPayload({ groupKey: 'rota-hours', client: 'rota-dental', severity: 'critical' }),
    );
    const code = res.body.incident as string;
    await waitFor(
      'SMS to Cat and to Bob',
      () =>
        smsFor(code, people.Cat!.phone).length && smsFor(code, people.Bob!.phone).length ? true : undefined,
      10_000,
    );
    await sleep(300);
    assert.equal(smsFor(code, people.Ann!.phone).length, 0, 'level 1 paged outside its hours');
    assert.equal(tw.calls(people.Bob!.phone).length, 0, 'level 3 called outside its hours');
    const tl = await cp.call('GET', `/api/v1/incidents/${code}/timeline`);
    const kinds = tl.body
      .filter((e: { kind: string }) => e.kind.startsWith('escalat'))
      .map((e: { kind: string; detail: { level: number; outsideHours?: boolean } }) => [
        e.kind,
        e.detail.level,
        e.detail.outsideHours ?? false,
      ]);
    assert.deepEqual(kinds, [
      ['escalation_skipped', 1, false],
      ['escalated', 2, false],
      ['escalated', 3, true],
    ]);

    // A policy with hours that are not now is passed over for the next most specific one.
    const night = await cp.call('POST', '/api/v1/escalation-policies', {
      body: {
        name: 'rota-dental info, off hours',
        client: 'rota-dental',
        severities: ['info'],
        hours: outside,
        levels: [{ delaySeconds: 0, targets: { responders: [people.Ann!.id] }, channels: { info: ['sms'] } }],
      },
    });
    const day = await cp.call('POST', '/api/v1/escalation-policies', {
      body: {
        name: 'rota-dental info',
        client: 'rota-dental',
        severities: ['info'],
        levels: [{ delaySeconds: 0, targets: { responders: [people.Bob!.id] }, channels: { info: ['sms'] } }],
      },
    });
    assert.equal(night.status, 201);
    assert.equal(day.status, 201);
    const info = await hook(alertPayload({ groupKey: 'rota-info', client: 'rota-dental', severity: 'info' }));
    const infoCode = info.body.incident as string;
    await waitFor('SMS to Bob', () => (smsFor(infoCode, people.Bob!.phone).length ? true : undefined));
    await sleep(300);
    assert.equal(smsFor(infoCode, people.Ann!.phone).length, 0);
  });

  it('refuses a bad policy with every error named, and changes nothing', async () => {
    const before = await cp.call('GET', '/api/v1/escalation-policies');
    const def = before.body.find((p: { isDefault: boolean }) => p.isDefault);
    assert.deepEqual(
      def.levels.map((l: { delaySeconds: number }) => l.delaySeconds),
      [0, 300, 600, 900],
    );
    const bad = await cp.call('POST', '/api/v1/escalation-policies', {
      body: {
        name: 'rota-dental warnings',
        client: 'no-such-client',
        levels: [
          { delaySeconds: 60, targets: { rotations: ['00000000-0000-4000-8000-000000000000'] } },
          { delaySeconds: 30, targets: {} },
        ],
      },
    });
    assert.equal(bad.status, 400);
    assert.deepEqual(bad.body.errors.map((e: { field: string }) => e.field).sort(), [
      '/client',
      '/levels/0/targets/rotations/0',
      '/levels/1/delaySeconds',
      '/levels/1/targets',
      '/name',
    ]);
    const hours = { timeZone: 'UTC', days: ['MO'], start: '09:00', end: '17:00' };
    const defaultWithHours = await cp.call('PUT', `/api/v1/escalation-policies/${def.id}`, {
      body: { name: def.name, hours, levels: [{ delaySeconds: 0, targets: { roles: ['oncall-engineer'] } }] },
    });
    assert.equal(defaultWithHours.status, 400);
    assert.deepEqual(defaultWithHours.body.errors, [
      { field: '/hours', message: 'the default policy applies always, to all' },
    ]);
    assert.equal((await cp.call('DELETE', `/api/v1/escalation-policies/${def.id}`)).status, 409);
    const after = await cp.call('GET', '/api/v1/escalation-policies');
    assert.deepEqual(after.body, before.body);
  });

  it('reassigns an incident: the new responder is paged at once, again on a second reassignment; resolved is refused', async () => {
    const res = await hook(
      alertPayload({ groupKey: 'rota-reassign', client: 'rota-dental', severity: 'warning' }),
    );
    const code = res.body.incident as string;
    await waitFor('level 1 SMS', () => (smsFor(code, people.Ann!.phone).length ? true : undefined));
    const r1 = await cp.call('POST', `/api/v1/incidents/${code}/reassign`, {
      body: { responder: people.Cat!.id, note: 'Cat knows this box' },
    });
    assert.equal(r1.status, 200, JSON.stringify(r1.body));
    // A warning pages by SMS and e-mail; Cat has no e-mail address, so the SMS alone.
    assert.deepEqual([r1.body.assignee.name, r1.body.pages], ['Cat', 1]);
    await waitFor('SMS to Cat', () => (smsFor(code, people.Cat!.phone).length ? true : undefined));
    const r2 = await cp.call('POST', `/api/v1/incidents/${code}/reassign`, { body: { rotation: 'primary' } });
    assert.equal(r2.status, 200, JSON.stringify(r2.body));
    assert.equal(r2.body.assignee.name, 'Ann');
    await waitFor('second SMS to Ann', () =>
      smsFor(code, people.Ann!.phone).length === 2 ? true : undefined,
    );
    const r3 = await cp.call('POST', `/api/v1/incidents/${code}/reassign`, {
      body: { responder: people.Cat!.id },
    });
    assert.equal(r3.status, 200);
    await waitFor('second SMS to Cat', () =>
      smsFor(code, people.Cat!.phone).length === 2 ? true : undefined,
    );

    const unknown = await cp.call('POST', `/api/v1/incidents/${code}/reassign`, {
      body: { responder: '00000000-0000-4000-8000-000000000000' },
    });
    assert.equal(unknown.status, 400);
    assert.equal(unknown.body.errors[0].field, '/responder');
    const both = await cp.call('POST', `/api/v1/incidents/${code}/reassign`, {
      body: { responder: people.Cat!.id, rotation: 'primary' },
    });
    assert.equal(both.status, 400);
    const tl = await cp.call('GET', `/api/v1/incidents/${code}/timeline`);
    const re = tl.body.filter((e: { kind: string }) => e.kind === 'reassigned');
    assert.deepEqual(
      re.map((e: { detail: { to: string } }) => e.detail.to),
      ['Cat', 'Ann', 'Cat'],
    );
    const client = await cp.token('client', 'rota-dental');
    const seen = await cp.call('GET', `/api/v1/incidents/${code}/timeline`, { token: client });
    assert.ok(
      !seen.body.some((e: { kind: string }) => e.kind === 'reassigned'),
      'a client saw an internal reassignment',
    );

    await cp.call('POST', `/api/v1/incidents/${code}/resolve`, { body: {} });
    const late = await cp.call('POST', `/api/v1/incidents/${code}/reassign`, {
      body: { responder: people.Bob!.id },
    });
    assert.equal(late.status, 409);
    await sleep(300);
    assert.equal(smsFor(code, people.Bob!.phone).length, 0);
  });

  it('raises severity by hand (never lowers it): the timeline and audit say so', async () => {
    const opened = await cp.call('POST', '/api/v1/incidents', {
      body: { title: 'Slow replies', severity: 'info', client: 'rota-dental' },
    });
    assert.equal(opened.status, 201);
    const id = opened.body.id as string;
    const up = await cp.call('POST', `/api/v1/incidents/${id}/severity`, {
      body: { severity: 'critical', note: 'patients affected' },
    });
    assert.equal(up.status, 200, JSON.stringify(up.body));
    assert.equal(up.body.severity, 'critical');
    const down = await cp.call('POST', `/api/v1/incidents/${id}/severity`, { body: { severity: 'warning' } });
    assert.equal(down.status, 400);
    assert.deepEqual(down.body.errors, [
      { field: '/severity', message: "must be above the incident's critical" },
    ]);
    assert.equal((await cp.call('GET', `/api/v1/incidents/${id}`)).body.severity, 'critical');
    const tl = await cp.call('GET', `/api/v1/incidents/${id}/timeline`);
    const raised = tl.body.filter((e: { kind: string }) => e.kind === 'severity_raised');
    assert.deepEqual(
      raised.map((e: { detail: object }) => e.detail),
      [{ from: 'info', severity: 'critical', note: 'patients affected' }],
    );
    const audit = await cp.call('GET', `/api/v1/audit?targetType=incident&targetId=${id}`);
    assert.ok(audit.body.some((a: { action: string }) => a.action === 'incident.severity_raised'));
    // A client sees the change and the acknowledgement, not the operators' notes nor who they were.
    await cp.call('POST', `/api/v1/incidents/${id}/ack`, { body: { note: 'looking at the DB host' } });
    const client = await cp.token('client', 'rota-dental');
    const seen = await cp.call('GET', `/api/v1/incidents/${id}/timeline`, { token: client });
    const details = Object.fromEntries(
      seen.body.map((e: { kind: string; detail: object }) => [e.kind, e.detail]),
    );
    assert.deepEqual(details.severity_raised, { from: 'info', severity: 'critical' });
    assert.deepEqual(details.acknowledged, { via: 'api' });
    assert.equal(
      (await cp.call('GET', `/api/v1/incidents/${id}`, { token: client })).body.acknowledgedBy,
      'concierge-ops',
    );
    assert.match((await cp.call('GET', `/api/v1/incidents/${id}`)).body.acknowledgedBy, /admin/);
    const staff = await cp.call('GET', `/api/v1/incidents/${id}/timeline`);
    assert.equal(
      staff.body.find((e: { kind: string }) => e.kind === 'acknowledged').detail.note,
      'looking at the DB host',
    );
  });

  it('leaves an incident open when its alerts resolve if its policy says an operator resolves it', async () => {
    await cp.call('POST', '/api/v1/clients', { body: clientBody('hands-on-dental') });
    const pol = await cp.call('POST', '/api/v1/escalation-policies', {
      body: {
        name: 'hands-on-dental',
        client: 'hands-on-dental',
        autoResolve: false,
        levels: [
          { delaySeconds: 0, targets: { responders: [people.Ann!.id] }, channels: { warning: ['sms'] } },
        ],
      },
    });
    assert.equal(pol.status, 201, JSON.stringify(pol.body));
    assert.equal(pol.body.autoResolve, false);
    // Channels given for warnings only: the other severities keep the default's.
    assert.deepEqual(pol.body.levels[0].channels, {
      critical: ['sms', 'voice', 'email'],
      warning: ['sms'],
      info: ['email'],
    });
    const alert = { client: 'hands-on-dental', severity: 'warning' };
    const fired = await hook(alertPayload({ groupKey: 'hands-on', ...alert }));
    const code = fired.body.incident as string;
    const resolved = await hook(alertPayload({ groupKey: 'hands-on', status: 'resolved', ...alert }));
    assert.equal(resolved.status, 200);
    assert.equal(resolved.body.resolved, false);
    assert.equal((await cp.call('GET', `/api/v1/incidents/${code}`)).body.status, 'open');
    // The same for a client on the default policy: it resolves itself.
    const other = await hook(
      alertPayload({ groupKey: 'self-healing', client: 'rota-dental', severity: 'warning' }),
    );
    const gone = await hook(
      alertPayload({
        groupKey: 'self-healing',
        client: 'rota-dental',
        severity: 'warning',
        status: 'resolved',
      }),
    );
    assert.equal(gone.body.resolved, true);
    assert.equal((await cp.call('GET', `/api/v1/incidents/${other.body.incident}`)).body.status, 'resolved');
  });

  it('repeats an unlimited ladder until someone acknowledges, then pages no more', async () => {
    await cp.call('POST', '/api/v1/clients', { body: clientBody('loop-dental') });
    const pol = await cp.call('POST', '/api/v1/escalation-policies', {
      body: {
        name: 'loop-dental',
        client: 'loop-dental',
        repeatCount: 'unlimited',
        repeatIntervalSeconds: 1,
        levels: [
          { delaySeconds: 0, targets: { responders: [people.Cat!.id] }, channels: { warning: ['sms'] } },
        ],
      },
    });
    assert.equal(pol.status, 201, JSON.stringify(pol.body));
    assert.equal(pol.body.repeatCount, 'unlimited');
    const res = await hook(alertPayload({ groupKey: 'loop', client: 'loop-dental', severity: 'warning' }));
    const code = res.body.incident as string;
    await waitFor(
      'a fourth round',
      () => (smsFor(code, people.Cat!.phone).length >= 4 ? true : undefined),
      15_000,
    );
    const ack = await cp.call('POST', `/api/v1/incidents/${code}/ack`, { body: {} });
    assert.equal(ack.status, 200);
    // A page claimed just before the ack may still be on its way to Twilio: count after it has arrived.
    await sleep(300);
    const at = smsFor(code, people.Cat!.phone).length;
    await sleep(2500);
    assert.equal(smsFor(code, people.Cat!.phone).length, at, 'paged again after the acknowledgement');
    const bad = await cp.call('POST', '/api/v1/escalation-policies', {
      body: { name: 'x', repeatCount: 'forever', levels: [{ delaySeconds: 0, targets: { roles: ['cto'] } }] },
    });
    assert.equal(bad.status, 400);
    assert.ok(
      bad.body.errors.some((e: { field: string }) => e.field === '/repeatCount'),
      JSON.stringify(bad.body),
    );
  });

  it('says when the person on call is inactive, whom escalation will not page', async () => {
    const dan = await cp.call('POST', '/api/v1/responders', {
      body: { name: 'Dan', role: 'engineer', phone: '+15551240004' },
    });
    const r = await cp.call('POST', '/api/v1/rotations', {
      body: {
        name: 'solo',
        timeZone: 'UTC',
        handoff: 'daily',
        handoffTime: '00:00',
        startDate: '2026-01-01',
        members: [dan.body.id],
      },
    });
    assert.equal(r.status, 201);
    assert.equal(
      (await cp.call('PATCH', `/api/v1/responders/${dan.body.id}`, { body: { active: false } })).status,
      200,
    );
    const now = await cp.call('GET', '/api/v1/oncall/now?rotation=solo');
    assert.deepEqual(now.body.oncall[0].responder, { id: dan.body.id, name: 'Dan', active: false });
    await cp.call('DELETE', '/api/v1/rotations/solo');
  });

  it('numbers incidents past INC-999999 without cutting the number (which made every later code a duplicate)', async () => {
    await cp.db.query(`select setval('incident_code_seq', 999998)`);
    const codes = [];
    for (const title of ['a', 'b'])
      codes.push(
        (await cp.call('POST', '/api/v1/incidents', { body: { title, severity: 'info' } })).body.code,
      );
    assert.deepEqual(codes, ['INC-999999', 'INC-1000000']);
  });

  async function rotationId(name: string): Promise<string> {
    return (await cp.call('GET', `/api/v1/rotations/${name}`)).body.id;
  }
});
