import assert from 'node:assert/strict';
import ICAL from 'ical.js';
import { startControlPlane, type TestControlPlane } from '../helpers/control-plane.ts';

/** The calendar as a calendar app reads it: fetched with no Authorization header, parsed by ical.js. */
async function fetchCalendar(url: string) {
  const res = await fetch(url);
  const body = await res.text();
  if (res.status !== 200) return { status: res.status, body, events: [] as ICAL.Event[] };
  const cal = new ICAL.Component(ICAL.parse(body));
  const events = cal.getAllSubcomponents('vevent').map((v) => new ICAL.Event(v));
  return { status: res.status, body, cal, type: res.headers.get('content-type'), events };
}

describe('on-call calendars (iCalendar behind secret links)', () => {
  let cp: TestControlPlane;
  const ids: Record<string, string> = {};

  before(async () => {
    cp = await startControlPlane({ WORKER_POLL_INTERVAL_MS: '100' });
    for (const name of ['Ann', 'Bob', 'Cat, the night owl']) {
      const r = await cp.call('POST', '/api/v1/responders', { body: { name, role: 'engineer' } });
      ids[name] = r.body.id;
    }
    const today = new Date().toISOString().slice(0, 10);
    const rot = await cp.call('POST', '/api/v1/rotations', {
      body: {
        name: 'primary; clinics',
        timeZone: 'America/New_York',
        handoff: 'daily',
        handoffTime: '09:00',
        startDate: today,
        members: [ids.Ann, ids.Bob],
      },
    });
    assert.equal(rot.status, 201, JSON.stringify(rot.body));
    ids.rotation = rot.body.id;
    // iCalendar times have whole seconds; an override on the hour keeps the comparison exact.
    const hour = Math.ceil(Date.now() / 3_600_000) * 3_600_000;
    const o = await cp.call('POST', `/api/v1/rotations/${ids.rotation}/overrides`, {
      body: {
        responder: ids['Cat, the night owl'],
        start: new Date(hour + 3 * 86_400_000).toISOString(),
        end: new Date(hour + 3 * 86_400_000 + 4 * 3_600_000).toISOString(),
      },
    });
    assert.equal(o.status, 201, JSON.stringify(o.body));
  });
  after(async () => cp.close());

  const link = async (path: string) => {
    const r = await cp.call('POST', path);
    assert.equal(r.status, 201, JSON.stringify(r.body));
    // The link is on the control plane's URL; this test reaches it on its loopback port.
    return r.body.url.replace(/^https?:\/\/[^/]+/, cp.url) as string;
  };

  it("serves a rotation's shifts as iCalendar a parser reads, matching the schedule preview", async () => {
    const url = await link(`/api/v1/rotations/${ids.rotation}/calendar-link`);
    assert.match(
      url,
      new RegExp(`/api/v1/rotations/${ids.rotation}/calendar.ics\\?token=[A-Za-z0-9_-]{32}$`),
    );
    const cal = await fetchCalendar(url);
    assert.equal(cal.status, 200, cal.body);
    assert.match(cal.type!, /^text\/calendar/);
    assert.ok(cal.body.includes('\r\n'), 'lines end in CRLF');
    assert.ok(
      cal.body.split('\r\n').every((l) => Buffer.byteLength(l) <= 75),
      'a line is not folded at 75 octets',
    );
    assert.equal(cal.cal!.getFirstPropertyValue('version'), '2.0');
    // ical.js reads an X- property as raw text: the escaped form is what the file holds (RFC 5545 3.3.11).
    assert.equal(cal.cal!.getFirstPropertyValue('x-wr-calname'), 'On call: primary\\; clinics');
    // 92 days ahead of daily shifts, an override splitting one: the horizon bounds the answer.
    assert.ok(cal.events.length >= 92 && cal.events.length <= 96, String(cal.events.length));
    const preview = await cp.call(
      'GET',
      `/api/v1/rotations/${ids.rotation}/schedule?from=${new Date().toISOString()}&to=${new Date(Date.now() + 5 * 86_400_000).toISOString()}`,
    );
    // The preview cuts its first and last shifts at `from` and `to`; the calendar shows them whole.
    for (const s of preview.body.shifts.slice(1, -1) as {
      start: string;
      end: string;
      responder: { name: string };
    }[]) {
      const e = cal.events.find((x) => x.startDate.toJSDate().toISOString() === s.start);
      assert.ok(e, `no event starts at ${s.start}`);
      assert.equal(e.endDate.toJSDate().toISOString(), s.end);
      assert.equal(e.summary, `On call: ${s.responder.name} (primary; clinics)`);
    }
    assert.ok(cal.events.some((e) => e.summary === 'On call: Cat, the night owl (primary; clinics)'));
    assert.equal(new Set(cal.events.map((e) => e.uid)).size, cal.events.length, 'UIDs repeat');
  });

  it("serves one responder's shifts, and refuses a wrong, missing or replaced token alike", async () => {
    const url = await link(`/api/v1/responders/${ids.Bob}/calendar-link`);
    const cal = await fetchCalendar(url);
    assert.equal(cal.status, 200, cal.body);
    assert.equal(cal.cal!.getFirstPropertyValue('x-wr-calname'), 'On call: Bob');
    assert.ok(cal.events.length >= 40);
    assert.ok(cal.events.every((e) => e.summary === 'On call: primary; clinics'));
    const token = new URL(url).searchParams.get('token')!;
    const wrong = url.replace(token, token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A'));
    assert.equal((await fetch(wrong)).status, 404);
    assert.equal((await fetch(url.replace(/\?.*$/, ''))).status, 404);
    // Ann's calendar with Bob's token: another owner's link opens nothing.
    assert.equal((await fetch(url.replace(ids.Bob!, ids.Ann!))).status, 404);
    // A new link revokes the old one.
    const again = await link(`/api/v1/responders/${ids.Bob}/calendar-link`);
    assert.equal((await fetch(url)).status, 404);
    assert.equal((await fetch(again)).status, 200);
    // Making links is for staff, audited without the token.
    const audit = await cp.call('GET', '/api/v1/audit?targetType=responder');
    assert.ok(audit.body.some((e: { action: string }) => e.action === 'responder.calendar_link'));
    assert.ok(!JSON.stringify(audit.body).includes(token), 'the token reached the audit log');
    assert.equal(
      (await cp.call('POST', `/api/v1/responders/${ids.Bob}/calendar-link`, { token: null })).status,
      401,
    );
  });
});
