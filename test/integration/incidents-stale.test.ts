import assert from 'node:assert/strict';
import { alertPayload, randomFingerprint } from '../helpers/alerts.ts';
import {
  clientBody,
  instanceBody,
  startControlPlane,
  type TestControlPlane,
} from '../helpers/control-plane.ts';

/**
 * HA Alertmanagers deliver out of order: a group's "resolved" may arrive before its "firing". The firing of
 * an occurrence already resolved must open nothing and page no one; a new occurrence still does.
 */
describe('a late firing after its resolution', () => {
  let cp: TestControlPlane;
  let am: string;
  const STARTS = '2026-11-25T10:00:00Z';

  before(async () => {
    // Workers on: the one-statement opening (taken only by a process that sends) must know it too.
    cp = await startControlPlane();
    await cp.call('POST', '/api/v1/clients', { body: clientBody('late-clinic') });
    await cp.call('POST', '/api/v1/instances', { body: instanceBody('late-clinic', 'late-prod') });
    am = await cp.token('alertmanager');
    await cp.db.query(
      `insert into responders (name, role, email) values ('Olivia', 'oncall-engineer', 'olivia@ops.example.test')`,
    );
  });
  after(() => cp.close());

  const hook = async (body: unknown) => {
    const r = await cp.call('POST', '/api/v1/alertmanager/webhook', { token: am, body });
    assert.equal(r.status, 200, r.text);
    return r.body as { incident: string | null; opened: boolean };
  };
  const payload = (groupKey: string, fingerprint: string, status: 'firing' | 'resolved', startsAt = STARTS) =>
    alertPayload({
      groupKey,
      client: 'late-clinic',
      instance: 'late-prod',
      fingerprints: [fingerprint],
      status,
      startsAt,
    });
  /** Incidents and outbox rows (pages) of one group. */
  const rowsOf = async (groupKey: string) => {
    const { rows } = await cp.db.query<{ incidents: number; pages: number }>(
      `select (select count(*)::int from incidents where group_key = $1) as incidents,
         (select count(*)::int from notifications n join incidents i on i.id = n.incident_id
          where i.group_key = $1) as pages`,
      [groupKey],
    );
    return rows[0]!;
  };

  it('opens nothing and pages no one for a firing delivered after its resolution, and opens a new occurrence', async () => {
    // The first delivery for this client goes through the usual transaction.
    const fp = randomFingerprint();
    assert.equal((await hook(payload('g-late-1', fp, 'resolved'))).incident, null);
    const stale = await hook(payload('g-late-1', fp, 'firing'));
    assert.deepEqual(stale, { incident: null, opened: false, alertsChanged: 0, resolved: false });
    assert.deepEqual(await rowsOf('g-late-1'), { incidents: 0, pages: 0 });
    // An older occurrence than the one resolved is over too.
    await hook(payload('g-late-1', fp, 'firing', '2026-11-25T09:00:00Z'));
    assert.deepEqual(await rowsOf('g-late-1'), { incidents: 0, pages: 0 });

    // A genuinely new firing (another alert) opens and pages; later deliveries for the client may then be
    // opened in one statement, which must know about resolutions as well.
    const fresh = await hook(payload('g-late-new', randomFingerprint(), 'firing'));
    assert.equal(fresh.opened, true);
    const opened = await rowsOf('g-late-new');
    assert.equal(opened.incidents, 1);
    assert.ok(opened.pages > 0, 'the new incident paged no one: the test cannot see a page');

    const fp2 = randomFingerprint();
    assert.equal((await hook(payload('g-late-2', fp2, 'resolved'))).incident, null);
    assert.equal((await hook(payload('g-late-2', fp2, 'firing'))).incident, null);
    assert.deepEqual(await rowsOf('g-late-2'), { incidents: 0, pages: 0 });

    // The same alert firing again later (a new startsAt) is a new occurrence: it opens and pages.
    const again = await hook(payload('g-late-2', fp2, 'firing', '2026-11-25T11:00:00Z'));
    assert.equal(again.opened, true);
    const reopened = await rowsOf('g-late-2');
    assert.equal(reopened.incidents, 1);
    assert.ok(reopened.pages > 0);
  });

  it('remembers resolutions in the database for a week, and forgets older ones as new ones arrive', async () => {
    await cp.db.query(
      `insert into alert_resolutions (fingerprint, starts_at, recorded_at)
       values ('old0001', $1, now() - interval '8 days'), ('recent0001', $1, now() - interval '6 days')`,
      [STARTS],
    );
    const fp = randomFingerprint();
    await hook(payload('g-late-3', fp, 'resolved'));
    const { rows } = await cp.db.query<{ fingerprint: string }>(
      `select fingerprint from alert_resolutions where fingerprint in ('old0001', 'recent0001', $1)
       order by fingerprint`,
      [fp],
    );
    assert.deepEqual(
      rows.map((r) => r.fingerprint),
      [fp, 'recent0001'].sort(),
    );
  });
});
