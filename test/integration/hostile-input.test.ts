import assert from 'node:assert/strict';
import express from 'express';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import twilio from 'twilio';
import { alertPayload } from '../helpers/alerts.ts';
import {
  clientBody,
  instanceBody,
  startControlPlane,
  type Answer,
  type TestControlPlane,
} from '../helpers/control-plane.ts';
import { errorHandler } from '../../control-plane/src/http/errors.ts';

const SID = 'AC' + '0123456789abcdef'.repeat(2);
const AUTH = 'twilio-auth-token-for-tests-0123456789';
const PUBLIC = 'https://ops.example.test';
const NUL = 'a\u0000b';
const LONE = 'a\ud800b';
const PROBLEM = 'application/problem+json; charset=utf-8';

interface Case {
  name: string;
  method: string;
  path: string;
  body?: unknown;
  /** The JSON pointer the answer must name. */
  field: string;
  token?: 'client' | 'agent';
}

/**
 * Targeted regressions for issue 20's defect 4 and the Content-Type part of defect 9: values that passed
 * validation and then made PostgreSQL (or Date) throw, each now a 4xx naming the field with no row changed.
 */
describe('hostile input: NUL, lone surrogates, impossible dates and wrong Content-Types', () => {
  let cp: TestControlPlane;
  let tables: string[];
  const tokens: Record<string, string> = {};
  let incident: string;
  let rotation: string;
  let responder: string;

  /** Every public table's content, so "nothing changed" covers rows no test thought of. */
  const snapshot = async () => {
    const out: Record<string, string> = {};
    for (const t of tables) {
      const { rows } = await cp.db.query<{ h: string | null }>(
        `select md5(string_agg(x::text, '|' order by x::text)) as h from ${t} x`,
      );
      out[t] = rows[0]!.h ?? '';
    }
    return out;
  };
  /**
   * The snapshot once nothing moves: a page of an incident opened earlier (by hand, or by a webhook) is tried
   * just after its answer, and its failure lands a moment later, which is no doing of the request under test.
   * Likewise the audit records an earlier webhook staged join the chain (audit_pending -> audit_log) when the
   * chainer's batch wait ends, which a busy machine can stretch past any quiet spell: flushed first.
   */
  const settled = async () => {
    await cp.ctx.audit.flush();
    let last = await snapshot();
    for (;;) {
      await new Promise((r) => setTimeout(r, 100));
      const now = await snapshot();
      if (JSON.stringify(now) === JSON.stringify(last)) return now;
      last = now;
    }
  };

  before(async () => {
    cp = await startControlPlane({
      TWILIO_ACCOUNT_SID: SID,
      TWILIO_AUTH_TOKEN: AUTH,
      TWILIO_FROM_NUMBER: '+15005550006',
      TWILIO_API_URL: 'http://127.0.0.1:9',
      PUBLIC_URL: PUBLIC,
      WORKERS: 'off',
    });
    await cp.call('POST', '/api/v1/clients', { body: clientBody('north') });
    await cp.call('POST', '/api/v1/clients', {
      body: clientBody('kiri', { timeZone: 'Pacific/Kiritimati' }),
    });
    await cp.call('POST', '/api/v1/instances', { body: instanceBody('north', 'north-prod') });
    tokens.client = await cp.token('client', 'north');
    tokens.agent = await cp.token('backup-agent');
    tokens.am = await cp.token('alertmanager');
    const r = await cp.call('POST', '/api/v1/responders', {
      body: { name: 'Ann', role: 'engineer', phone: '+15551230001' },
    });
    responder = r.body.id;
    const rot = await cp.call('POST', '/api/v1/rotations', {
      body: {
        name: 'primary',
        timeZone: 'UTC',
        handoff: 'daily',
        handoffTime: '09:00',
        startDate: '2026-01-05',
        members: [responder],
      },
    });
    assert.equal(rot.status, 201, rot.text);
    rotation = rot.body.id;
    const inc = await cp.call('POST', '/api/v1/incidents', {
      body: { title: 'Phones down', severity: 'warning', client: 'north' },
    });
    assert.equal(inc.status, 201, inc.text);
    incident = inc.body.code;
    // The pg_stat and job tables are not the API's; api_tokens may record when a token was used, token_sources
    // from where (its first use from an address).
    const { rows } = await cp.db.query<{ t: string }>(
      `select tablename as t from pg_tables where schemaname = 'public'
       and tablename not in ('pgmigrations', 'api_tokens', 'token_sources') order by 1`,
    );
    tables = rows.map((x) => x.t);
  });
  after(() => cp.close());

  const window = (extra: Record<string, unknown> = {}) => ({
    client: 'north',
    start: '2026-06-01T10:00:00Z',
    end: '2026-06-01T11:00:00Z',
    reason: 'upgrade',
    ...extra,
  });
  const run = (extra: Record<string, unknown> = {}) => ({
    runId: 'nightly-1',
    instance: 'north-prod',
    tool: 'pg_dump',
    kind: 'full',
    startedAt: '2026-11-24T02:00:00Z',
    finishedAt: '2026-11-24T02:03:10Z',
    status: 'success',
    sizeBytes: 1,
    location: 's3://backups/north-prod/1.dump',
    ...extra,
  });
  const interval = (extra: Record<string, unknown> = {}) => ({
    instance: 'north-prod',
    service: 'backend',
    state: 'down',
    start: '2026-03-01T10:00:00Z',
    end: '2026-03-01T10:30:00Z',
    reason: 'outage',
    ...extra,
  });
  const override = (extra: Record<string, unknown> = {}) => ({
    responder,
    start: '2026-07-01T09:00:00Z',
    end: '2026-07-02T09:00:00Z',
    reason: 'swap',
    ...extra,
  });
  const rotationBody = (extra: Record<string, unknown> = {}) => ({
    name: 'secondary',
    timeZone: 'UTC',
    handoff: 'weekly',
    handoffTime: '09:00',
    startDate: '2026-01-05',
    members: [responder],
    ...extra,
  });

  const text: Case[] = [
    {
      name: 'NUL in a path segment',
      method: 'GET',
      path: '/api/v1/clients/%00',
      field: '/id',
      token: 'client',
    },
    { name: 'NUL in a path segment (staff)', method: 'GET', path: '/api/v1/instances/x%00y', field: '/id' },
    { name: 'NUL in a query value', method: 'GET', path: '/api/v1/incidents?client=%00', field: '/client' },
    {
      name: 'NUL in a client name',
      method: 'POST',
      path: '/api/v1/clients',
      body: clientBody('south', { name: NUL }),
      field: '/name',
    },
    {
      name: 'lone surrogate in an instance label',
      method: 'POST',
      path: '/api/v1/instances',
      body: instanceBody('north', 'north-2', { labels: { foo: LONE } }),
      field: '/labels/foo',
    },
    {
      name: 'NUL in an instance label, patched',
      method: 'PATCH',
      path: '/api/v1/instances/north-prod',
      body: { labels: { foo: NUL } },
      field: '/labels/foo',
    },
    {
      name: 'lone low surrogate in a note',
      method: 'POST',
      path: '/api/v1/incidents/{incident}/notes',
      body: { text: 'x\udc00' },
      field: '/text',
    },
    {
      name: 'NUL in a maintenance reason',
      method: 'POST',
      path: '/api/v1/maintenance-windows',
      body: window({ reason: NUL }),
      field: '/reason',
    },
    {
      name: 'lone surrogate in an override reason',
      method: 'POST',
      path: '/api/v1/rotations/{rotation}/overrides',
      body: override({ reason: LONE }),
      field: '/reason',
    },
    {
      name: 'NUL in an availability interval reason',
      method: 'POST',
      path: '/api/v1/availability/intervals',
      body: interval({ reason: NUL }),
      field: '/reason',
    },
    {
      name: 'lone surrogate in a backup location',
      method: 'POST',
      path: '/api/v1/backups/runs',
      body: run({ location: LONE }),
      field: '/location',
      token: 'agent',
    },
  ];

  const dates: Case[] = [
    {
      name: 'year 0000 in monitoredSince',
      method: 'POST',
      path: '/api/v1/instances',
      body: instanceBody('north', 'north-3', { monitoredSince: '0000-01-01T00:00:00Z' }),
      field: '/monitoredSince',
    },
    {
      name: 'offset +23:59 in a maintenance window',
      method: 'POST',
      path: '/api/v1/maintenance-windows',
      body: window({ start: '2026-06-01T10:00:00+23:59' }),
      field: '/start',
    },
    {
      name: 'offset -14:01 in a maintenance window',
      method: 'POST',
      path: '/api/v1/maintenance-windows',
      body: window({ end: '2026-06-01T11:00:00-14:01' }),
      field: '/end',
    },
    {
      name: 'year 0000 as a series end date',
      method: 'POST',
      path: '/api/v1/maintenance-windows',
      body: window({
        end: undefined,
        recurrence: {
          freq: 'weekly',
          byDay: ['MO'],
          startTime: '02:00',
          durationMinutes: 60,
          until: '0000-12-31',
        },
      }),
      field: '/recurrence/until',
    },
    {
      name: 'a leap second in an override',
      method: 'POST',
      path: '/api/v1/rotations/{rotation}/overrides',
      body: override({ end: '2026-12-31T23:59:60Z' }),
      field: '/end',
    },
    {
      name: 'startDate 0000-01-01',
      method: 'POST',
      path: '/api/v1/rotations',
      body: rotationBody({ startDate: '0000-01-01' }),
      field: '/startDate',
    },
    {
      name: 'a leap second in an availability interval',
      method: 'POST',
      path: '/api/v1/availability/intervals',
      body: interval({ end: '2026-06-30T23:59:60Z' }),
      field: '/end',
    },
    {
      name: 'a leap second in a backup run',
      method: 'POST',
      path: '/api/v1/backups/runs',
      body: run({ finishedAt: '2026-12-31T23:59:60Z' }),
      field: '/finishedAt',
      token: 'agent',
    },
    {
      name: 'year 0000 in a backup run',
      method: 'POST',
      path: '/api/v1/backups/runs',
      body: run({ startedAt: '0000-11-24T02:00:00Z' }),
      field: '/startedAt',
      token: 'agent',
    },
    {
      name: 'an instant before year 0001 in UTC',
      method: 'POST',
      path: '/api/v1/availability/intervals',
      body: interval({ start: '0001-01-01T00:00:00+01:00' }),
      field: '/start',
    },
    {
      name: 'report month 0000-01',
      method: 'GET',
      path: '/api/v1/clients/north/reports/0000-01',
      field: '/month',
    },
    {
      name: 'report month 0000-01 (client)',
      method: 'GET',
      path: '/api/v1/clients/north/reports/0000-01.json',
      field: '/month',
      token: 'client',
    },
    {
      name: 'SLA month 0000-01',
      method: 'GET',
      path: '/api/v1/clients/north/sla?month=0000-01',
      field: '/month',
    },
    {
      name: 'SLA from with a leap second',
      method: 'GET',
      path: '/api/v1/instances/north-prod/sla?from=2026-06-30T23:59:60Z&to=2026-07-01T00:00:00Z',
      field: '/from',
    },
    {
      name: 'availability range from year 0000',
      method: 'GET',
      path: '/api/v1/instances/north-prod/availability?from=0000-01-01T00:00:00Z&to=2026-01-01T00:00:00Z',
      field: '/from',
    },
    {
      name: 'maintenance list to +23:59',
      method: 'GET',
      path: '/api/v1/maintenance-windows?from=2026-01-01T00:00:00Z&to=2026-02-01T00:00:00%2B23:59',
      field: '/to',
    },
    {
      name: 'schedule to with a leap second',
      method: 'GET',
      path: '/api/v1/rotations/{rotation}/schedule?to=2026-12-31T23:59:60Z',
      field: '/to',
    },
  ];

  const fill = (p: string) => p.replace('{incident}', incident).replace('{rotation}', rotation);
  const call = (c: Case) =>
    cp.call(c.method, fill(c.path), {
      ...(c.token ? { token: tokens[c.token] } : {}),
      ...(c.body !== undefined ? { body: c.body } : {}),
    });
  const assertNames = (res: Answer, field: string) => {
    assert.equal(res.status, 400, res.text.slice(0, 400));
    assert.equal(res.headers.get('content-type'), PROBLEM);
    assert.ok(
      res.body.errors?.some((e: { field: string }) => e.field === field),
      `expected ${field} in ${JSON.stringify(res.body.errors)}`,
    );
  };

  for (const c of [...text, ...dates]) {
    it(`${c.method} ${c.path.split('?')[0]}: ${c.name} -> 400 naming ${c.field}, nothing changed`, async () => {
      const before = await settled();
      assertNames(await call(c), c.field);
      assert.deepEqual(await snapshot(), before);
    });
  }

  it('names a path or query parameter as such in the message', async () => {
    const path = await cp.call('GET', '/api/v1/clients/%00', { token: tokens.client });
    assert.match(path.body.errors[0].message, /^path parameter id holds a NUL/);
    const query = await cp.call('GET', '/api/v1/maintenance-windows?from=%00');
    assert.match(query.body.errors[0].message, /^query parameter from holds a NUL/);
  });

  it('says why a date-time is refused', async () => {
    const leap = await cp.call('POST', '/api/v1/maintenance-windows', {
      body: window({ start: '2026-06-30T23:59:60Z' }),
    });
    assert.match(leap.body.errors[0].message, /leap second/);
    const offset = await cp.call('POST', '/api/v1/maintenance-windows', {
      body: window({ start: '2026-06-01T10:00:00+23:59' }),
    });
    assert.match(offset.body.errors[0].message, /-14:00 to \+14:00/);
    const year = await cp.call('POST', '/api/v1/maintenance-windows', {
      body: window({ start: '0000-06-01T10:00:00Z' }),
    });
    assert.match(year.body.errors[0].message, /0001 to 9999/);
  });

  it('takes the widest real offsets and the edges of year 0001-9999, and reads them back as the same instant', async () => {
    const w = await cp.call('POST', '/api/v1/maintenance-windows', {
      body: window({ start: '2026-06-01T10:00:00+14:00', end: '2026-06-01T11:00:00-12:00', reason: 'edges' }),
    });
    assert.equal(w.status, 201, w.text);
    assert.equal(w.body.start, '2026-05-31T20:00:00.000Z');
    assert.equal(w.body.end, '2026-06-01T23:00:00.000Z');
    const r = await cp.call('POST', '/api/v1/backups/runs', {
      token: tokens.agent,
      body: run({
        runId: 'edge',
        startedAt: '2026-11-24T02:00:00.123456+00:00',
        finishedAt: '9999-12-31T23:59:59Z',
      }),
    });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.body.finishedAt, '9999-12-31T23:59:59.000Z');
  });

  it('answers the first and last months of the calendar without a 5xx, in zones either side of UTC', async () => {
    for (const client of ['north', 'kiri'])
      for (const month of ['0001-01', '9999-12']) {
        const sla = await cp.call('GET', `/api/v1/clients/${client}/sla?month=${month}`);
        assert.ok(sla.status < 500, `${client} SLA ${month}: ${sla.status} ${sla.text.slice(0, 300)}`);
        const report = await cp.call('GET', `/api/v1/clients/${client}/reports/${month}.json`);
        assert.ok(
          report.status < 500,
          `${client} report ${month}: ${report.status} ${report.text.slice(0, 300)}`,
        );
      }
  });

  describe('Alertmanager webhook: stores what can be stored rather than refusing the group at every retry', () => {
    const hook = (body: unknown) =>
      cp.call('POST', '/api/v1/alertmanager/webhook', { token: tokens.am, body });
    const alertRow = (code: string) =>
      cp.db.query<{ labels: Record<string, string>; annotations: Record<string, string>; starts_at: Date }>(
        `select a.labels, a.annotations, a.starts_at from incident_alerts a join incidents i on i.id = a.incident_id
         where i.code = $1`,
        [code],
      );
    const repairs = (code: string) =>
      cp.db.query<{ detail: { fields: { field: string; message: string }[] } }>(
        `select e.detail from incident_events e join incidents i on i.id = e.incident_id
         where i.code = $1 and e.kind = 'alert_input_repaired'`,
        [code],
      );

    it('opens the incident for an alert whose label holds NUL and annotation a lone surrogate, noting the repair once', async () => {
      const body = alertPayload({
        groupKey: 'g-nul',
        client: 'north',
        instance: 'north-prod',
        fingerprints: ['f00d0001'],
      });
      (body.alerts[0]!.labels as Record<string, string>).region = 'eu\u0000west';
      body.alerts[0]!.annotations.summary = 'down \ud83d';
      const first = await hook(body);
      assert.equal(first.status, 200, first.text);
      assert.equal(first.body.opened, true);
      const again = await hook(body);
      assert.equal(again.status, 200, again.text);
      assert.equal(again.body.incident, first.body.incident);
      const { rows } = await alertRow(first.body.incident);
      assert.equal(rows[0]!.labels.region, 'eu\ufffdwest');
      assert.equal(rows[0]!.annotations.summary, 'down \ufffd');
      const noted = await repairs(first.body.incident);
      assert.equal(noted.rows.length, 1, 'the repair is on the timeline once, not at every retry');
      assert.deepEqual(noted.rows[0]!.detail.fields.map((f) => f.field).sort(), [
        '/alerts/0/annotations/summary',
        '/alerts/0/labels/region',
      ]);
    });

    it('opens the incident for an alert starting in year 0000, with a start that stays put across retries', async () => {
      const body = alertPayload({
        groupKey: 'g-year0',
        client: 'north',
        instance: 'north-prod',
        fingerprints: ['f00d0002'],
      });
      body.alerts[0]!.startsAt = '0000-01-01T00:00:00Z';
      const t0 = Date.now();
      const first = await hook(body);
      assert.equal(first.status, 200, first.text);
      assert.equal(first.body.opened, true);
      const start = (await alertRow(first.body.incident)).rows[0]!.starts_at.getTime();
      assert.ok(
        start >= t0 - 1000 && start <= Date.now() + 1000,
        `start taken as receipt time, got ${start}`,
      );
      const again = await hook(body);
      assert.equal(again.status, 200, again.text);
      assert.equal(again.body.alertsChanged, 0);
      assert.equal((await alertRow(first.body.incident)).rows[0]!.starts_at.getTime(), start);
      const noted = await repairs(first.body.incident);
      assert.equal(noted.rows.length, 1);
      assert.equal(noted.rows[0]!.detail.fields[0]!.field, '/alerts/0/startsAt');
      assert.match(noted.rows[0]!.detail.fields[0]!.message, /0001 to 9999/);
    });

    it('still refuses NUL in the webhook path or query', async () => {
      const before = await settled();
      const res = await cp.call('POST', '/api/v1/alertmanager/webhook?x=%00', {
        token: tokens.am,
        body: alertPayload({ groupKey: 'g-q' }),
      });
      assertNames(res, '/x');
      assert.deepEqual(await snapshot(), before);
    });
  });

  describe('Twilio callbacks with a valid signature', () => {
    const form = (path: string, params: Record<string, string>) =>
      cp.call('POST', path, {
        token: null,
        raw: new URLSearchParams(params).toString(),
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'x-twilio-signature': twilio.getExpectedTwilioSignature(AUTH, PUBLIC + path, params),
        },
      });

    it('answers 400 naming From when an inbound SMS holds NUL, and changes nothing', async () => {
      const before = await settled();
      const res = await form('/api/v1/twilio/inbound', {
        From: '+1555\u00001230001',
        Body: `ACK ${incident}`,
      });
      assertNames(res, '/From');
      assert.deepEqual(await snapshot(), before);
    });

    it('answers 400 naming MessageSid when a status callback holds NUL, and changes nothing', async () => {
      const before = await settled();
      const res = await form('/api/v1/twilio/status', {
        MessageSid: 'SM\u0000x',
        MessageStatus: 'delivered',
      });
      assertNames(res, '/MessageSid');
      assert.deepEqual(await snapshot(), before);
    });

    it('still takes a signed form body', async () => {
      const res = await form('/api/v1/twilio/status', {
        MessageSid: 'SM' + '0'.repeat(32),
        MessageStatus: 'delivered',
      });
      assert.equal(res.status, 204, res.text);
    });
  });

  describe('Content-Type of JSON routes', () => {
    /** fetch without the helper, so the Content-Type is exactly what each case says (or absent). */
    const send = async (type: string | undefined, body: string) => {
      const headers: Record<string, string> = { authorization: `Bearer ${cp.adminToken}` };
      if (type) headers['content-type'] = type;
      // A Uint8Array body makes fetch send no Content-Type of its own.
      const res = await fetch(cp.url + '/api/v1/clients', {
        method: 'POST',
        headers,
        body: new TextEncoder().encode(body),
      });
      return {
        status: res.status,
        type: res.headers.get('content-type'),
        body: (await res.json()) as { detail: string },
      };
    };
    const json = JSON.stringify(clientBody('west'));

    for (const [name, type, body] of [
      ['text/plain', 'text/plain', json],
      ['a form, as curl -d sends it', 'application/x-www-form-urlencoded', 'slug=west&name=West'],
      [
        'multipart',
        'multipart/form-data; boundary=x',
        '--x\r\nContent-Disposition: form-data; name="slug"\r\n\r\nwest\r\n--x--\r\n',
      ],
    ] as const) {
      it(`answers 415 to ${name}, naming the header to send`, async () => {
        const before = await settled();
        const res = await send(type, body);
        assert.equal(res.status, 415);
        assert.equal(res.type, PROBLEM);
        assert.match(res.body.detail, /Content-Type: application\/json/);
        assert.deepEqual(await snapshot(), before);
      });
    }

    it('answers 415 to JSON sent with no Content-Type at all, saying the header is missing', async () => {
      const res = await send(undefined, json);
      assert.equal(res.status, 415);
      assert.equal(res.type, PROBLEM);
      assert.match(res.body.detail, /no Content-Type header.*Content-Type: application\/json/);
    });

    it('answers 400 to a JSON route called with no body, saying what to send', async () => {
      const res = await cp.call('POST', '/api/v1/clients');
      assert.equal(res.status, 400);
      assert.match(res.body.detail, /request body is missing.*Content-Type: application\/json/);
    });

    it('still takes application/json with a charset and +json types', async () => {
      assert.equal(
        (await send('application/json; charset=utf-8', JSON.stringify(clientBody('west')))).status,
        201,
      );
      assert.equal(
        (await send('application/merge-patch+json', JSON.stringify(clientBody('east')))).status,
        201,
      );
    });
  });

  describe('database refusals behind validation', () => {
    it('maps check violations and data exceptions to 400 problem+json, not 500', async () => {
      const app = express();
      app.get('/:code', (req) => {
        throw Object.assign(new Error('refused'), {
          code: req.params.code,
          constraint: 'runs_finished_check',
        });
      });
      app.use(errorHandler(pino({ level: 'silent' })));
      const server = app.listen(0, '127.0.0.1');
      await new Promise((r) => server.once('listening', r));
      try {
        const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
        for (const code of ['23514', '22001', '22003', '22007', '22008', '22021', '22P02', '22P05']) {
          const res = await fetch(`${base}/${code}`);
          assert.equal(res.status, 400, code);
          assert.equal(res.headers.get('content-type'), PROBLEM);
          const body = (await res.json()) as { errors: { message: string }[] };
          assert.ok(body.errors[0]!.message.length > 0);
        }
        assert.equal((await fetch(`${base}/XX000`)).status, 500);
      } finally {
        server.close();
      }
    });
  });
});
