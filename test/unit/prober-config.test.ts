import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from '../../exporters/fleet-prober/src/config.ts';
import { reprobeGapMs } from '../../exporters/fleet-prober/src/prober.ts';

describe('fleet prober config', () => {
  it('applies the documented defaults when only the required variables are set', () => {
    const c = loadConfig({ CONTROL_PLANE_URL: 'http://cp:8080/', PROBER_TOKEN: 'x', PROBER_ID: 'p1' });
    assert.deepEqual(c, {
      controlPlaneUrl: 'http://cp:8080',
      proberToken: 'x',
      port: 9469,
      probeIntervalSeconds: 15,
      concurrency: 64,
      downAfter: 4,
      reprobeIntervalSeconds: undefined,
      upAfter: 2,
      sdRefreshSeconds: 30,
      heartbeatSeconds: 30,
      stateDir: './data/prober',
      proberId: 'p1',
      logLevel: 'info',
      location: undefined,
      peers: [],
      quorum: undefined,
      peerPollSeconds: 1,
      alertmanagerUrls: [],
      alertResendSeconds: 15,
      alertLabels: { monitor: 'concierge-ops' },
    });
    assert.ok(Object.isFrozen(c));
  });

  it('reads the direct path and the quorum, and refuses a quorum the locations cannot meet', () => {
    const base = { CONTROL_PLANE_URL: 'http://cp:8080', PROBER_TOKEN: 'x' };
    const c = loadConfig({
      ...base,
      PROBER_LOCATION: 'eu-west',
      PROBER_PEERS: 'http://p2:9469/, http://p3:9469',
      PROBER_QUORUM: '2',
      PROBER_ALERTMANAGER_URLS: 'http://am1:9093,http://am2:9093',
      PROBER_ALERT_LABELS: 'monitor=concierge-ops, cluster=eu',
    });
    assert.equal(c.location, 'eu-west');
    assert.deepEqual(c.peers, ['http://p2:9469', 'http://p3:9469']);
    assert.equal(c.quorum, 2);
    assert.deepEqual(c.alertmanagerUrls, ['http://am1:9093', 'http://am2:9093']);
    assert.deepEqual(c.alertLabels, { monitor: 'concierge-ops', cluster: 'eu' });
    assert.throws(
      () =>
        loadConfig({
          ...base,
          PROBER_LOCATION: 'eu west',
          PROBER_PEERS: 'http://p2:9469',
          PROBER_QUORUM: '3',
          PROBER_ALERTMANAGER_URLS: 'am1:9093',
          PROBER_ALERT_LABELS: 'no label',
        }),
      (e: Error) =>
        [
          'PROBER_LOCATION',
          'PROBER_QUORUM must be an integer between 1 and 2',
          'PROBER_ALERTMANAGER_URLS',
          'PROBER_ALERT_LABELS',
        ].every((n) => e.message.includes(n)),
    );
  });

  it('names every bad variable in one error without echoing values', () => {
    const err = (() => {
      try {
        loadConfig({
          CONTROL_PLANE_URL: 'ftp://user:hunter2@cp',
          PROBER_PORT: '70000',
          PROBE_INTERVAL_SECONDS: 'soon',
          PROBER_DOWN_AFTER: '1.5',
          PROBER_REPROBE_INTERVAL_SECONDS: '-1',
          LOG_LEVEL: 'loud',
        });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    assert.ok(err instanceof ConfigError);
    const names = [
      'CONTROL_PLANE_URL',
      'PROBER_TOKEN',
      'PROBER_PORT',
      'PROBE_INTERVAL_SECONDS',
      'PROBER_DOWN_AFTER',
      'PROBER_REPROBE_INTERVAL_SECONDS',
      'LOG_LEVEL',
    ];
    assert.equal(err.problems.length, names.length);
    for (const name of names) assert.match(err.message, new RegExp(`\\b${name}\\b`));
    assert.doesNotMatch(err.message, /hunter2/);
  });

  it('re-probes every second by default, every quarter interval below 4 s, never longer than the interval', () => {
    assert.equal(reprobeGapMs(15_000, undefined), 1000);
    assert.equal(reprobeGapMs(2000, undefined), 500);
    assert.equal(reprobeGapMs(2000, 1), 1000);
    assert.equal(reprobeGapMs(2000, 5), 2000);
    assert.equal(reprobeGapMs(2000, 0), 0);
    const c = loadConfig({
      CONTROL_PLANE_URL: 'http://cp',
      PROBER_TOKEN: 'x',
      PROBER_REPROBE_INTERVAL_SECONDS: '1',
    });
    assert.equal(c.reprobeIntervalSeconds, 1);
  });

  it('turns re-probing off with PROBER_REPROBE_INTERVAL_SECONDS=0', () => {
    const c = loadConfig({
      CONTROL_PLANE_URL: 'http://cp',
      PROBER_TOKEN: 't',
      PROBER_REPROBE_INTERVAL_SECONDS: '0',
    });
    assert.equal(c.reprobeIntervalSeconds, 0);
  });

  it('accepts fractional intervals for short test and demo cycles', () => {
    const c = loadConfig({
      CONTROL_PLANE_URL: 'https://cp',
      PROBER_TOKEN: 't',
      PROBE_INTERVAL_SECONDS: '0.2',
    });
    assert.equal(c.probeIntervalSeconds, 0.2);
  });
});
