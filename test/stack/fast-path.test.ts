/**
 * The fast path with real parts (test/helpers/fast-path-rig.ts): three fleet probers (three locations, a
 * quorum of 2) sending confirmed downs straight to a real Alertmanager 0.25 (the repo's config), real Prometheus
 * 2.42 with the repo's fleet rules as the backstop (`for:` cut to 10 s), the control plane, and the real twilio
 * SDK against the Twilio stand-in.
 */
import assert from 'node:assert/strict';
import { query } from '../helpers/stack.ts';
import { waitFor } from '../helpers/alerts.ts';
import {
  OLIVIA,
  firing,
  incidentsFor,
  pagesFor,
  startRig,
  stopRig,
  type Rig,
} from '../helpers/fast-path-rig.ts';

describe('the fast path: three locations, the direct path and the Prometheus backstop', function () {
  this.timeout(240_000);
  let rig: Rig | undefined;

  before(async () => {
    rig = await startRig({
      slugs: ['fast-down', 'fast-flap', 'fast-cut', 'fast-whole'],
      services: { 'fast-whole': ['web'] },
      direct: true,
      locations: 3,
      cut: 'fast-cut',
    });
  });
  after(() => stopRig(rig));

  it('pages once for a service that starts failing, within seconds, and once with both paths firing', async () => {
    const r = rig!;
    const failedAt = Date.now();
    r.targets.get('fast-down')!.mode = 'down';
    await waitFor('the first page', () => pagesFor(r, 'fast-down') > 0 || undefined, 30_000);
    const pagedAfter = (Date.now() - failedAt) / 1000;
    // The backstop's rule (for: 10 s here) fires too: both paths now hold the same alert.
    await waitFor(
      'the Prometheus backstop to fire as well',
      () => firing(r.prom, 'ServiceDown', 'fast-down'),
      60_000,
    );
    await new Promise((res) => setTimeout(res, 8000));
    assert.equal(pagesFor(r, 'fast-down'), 1, 'one SMS');
    const incidents = await incidentsFor(r, 'fast-down');
    assert.equal(incidents.length, 1, JSON.stringify(incidents));
    assert.equal(incidents[0]!.severity, 'critical');
    // A 1 s probe interval, four failures a fifth of a second apart, a peer poll and a 1 s group_wait: the
    // direct path pages well before the backstop's 10 s `for:` could.
    assert.ok(pagedAfter < 10, `paged ${pagedAfter} s after the failure`);
  });

  it("pages once for a whole instance whose services fail one after the other, InstanceDown joining ServiceDown's incident", async () => {
    const r = rig!;
    // The backend fails first: ServiceDown pages before InstanceDown can exist.
    r.targets.get('fast-whole')!.mode = 'down';
    await waitFor('the first page', () => pagesFor(r, 'fast-whole') > 0 || undefined, 30_000);
    const [first] = await incidentsFor(r, 'fast-whole');
    assert.ok(first);
    assert.equal(first.title, 'ServiceDown');
    // Then the rest of the instance: the probers' InstanceDown, and the backstop's after its `for:`.
    r.targets.get('fast-whole/web')!.mode = 'down';
    await waitFor(
      'the Prometheus backstop to hold InstanceDown',
      () => firing(r.prom, 'InstanceDown', 'fast-whole'),
      60_000,
    );
    await new Promise((res) => setTimeout(res, 8000));
    assert.deepEqual(
      (await incidentsFor(r, 'fast-whole')).map((i) => i.id),
      [first.id],
      'one outage, one incident',
    );
    assert.equal(pagesFor(r, 'fast-whole'), 1, 'one SMS');
    // The instance outage is on that incident's timeline, once Alertmanager sends the grown group (its
    // group_interval for these alerts is 1 minute).
    const added = await waitFor(
      "InstanceDown on the first incident's timeline",
      async () => {
        await new Promise((res) => setTimeout(res, 500));
        const tl = await r.cp.call('GET', `/api/v1/incidents/${first.id}/timeline`);
        const events = tl.body as Array<{ kind: string; detail: { alertname?: string } }>;
        return events.find((e) => e.kind === 'alert_added' && e.detail.alertname === 'InstanceDown');
      },
      90_000,
    );
    assert.ok(added);
    assert.equal((await incidentsFor(r, 'fast-whole')).length, 1);
    assert.equal(pagesFor(r, 'fast-whole'), 1);
  });

  it('pages no one for a service that fails one probe in five', async () => {
    const r = rig!;
    r.targets.get('fast-flap')!.mode = 'flap';
    await new Promise((res) => setTimeout(res, 25_000));
    r.targets.get('fast-flap')!.mode = 'up';
    assert.equal(pagesFor(r, 'fast-flap'), 0);
    assert.deepEqual(await incidentsFor(r, 'fast-flap'), []);
    const flaps = await query(r.prom, 'sum(prober_down_confirmations_total{outcome="flap"})');
    assert.ok(Number(flaps[0]!.value[1]) > 0, 'the probers saw the flaps and let them go');
  });

  it('pages no one for a service one location cannot reach, and raises ProberDisagreement', async () => {
    const r = rig!;
    await waitFor('ProberDisagreement', () => firing(r.prom, 'ProberDisagreement', 'fast-cut'), 60_000);
    const [who] = await query(r.prom, 'prober_service_down{instance="fast-cut"} == 1');
    assert.equal(who?.metric.location, 'loc-3');
    assert.equal(await firing(r.prom, 'ServiceDown', 'fast-cut'), false);
    assert.equal(pagesFor(r, 'fast-cut'), 0);
    assert.equal(r.tw.calls(OLIVIA).filter((c) => JSON.stringify(c.params).includes('fast-cut')).length, 0);
    // Told, not paged: an info incident, which the default policy sends by e-mail only.
    const incidents = await incidentsFor(r, 'fast-cut');
    assert.deepEqual(
      incidents.map((i) => i.severity),
      ['info'],
    );
    // The SLA follows the quorum: no downtime recorded for the service.
    const a = await r.cp.call('GET', '/api/v1/instances/fast-cut/availability');
    assert.deepEqual(a.body.intervals, []);
  });
});

describe('the fast path switched off: the Prometheus rules alone', function () {
  this.timeout(180_000);
  let rig: Rig | undefined;

  before(async () => {
    rig = await startRig({ slugs: ['rules-down'], direct: false, locations: 1 });
  });
  after(() => stopRig(rig));

  it('still pages once when the direct path is disabled', async () => {
    const r = rig!;
    r.targets.get('rules-down')!.mode = 'down';
    await waitFor('the backstop page', () => pagesFor(r, 'rules-down') > 0 || undefined, 90_000);
    assert.equal(await firing(r.prom, 'ServiceDown', 'rules-down'), true);
    await new Promise((res) => setTimeout(res, 8000));
    assert.equal(pagesFor(r, 'rules-down'), 1);
    assert.equal((await incidentsFor(r, 'rules-down')).length, 1);
  });
});
