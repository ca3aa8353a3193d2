import assert from 'node:assert/strict';
import { parseHostPort, parseTargetGroups } from '../../exporters/fleet-prober/src/discovery.ts';
import { parseHealth } from '../../exporters/fleet-prober/src/probes/http.ts';
import { sdGroup } from '../../exporters/fleet-prober/testing/stand-ins.ts';

const ID = '7d3c1a52-5b8e-4c1f-9a1e-2f4b6c8d0e12';

describe('fleet prober discovery parsing', () => {
  it('parses http and tcp groups with their probe settings', () => {
    const { targets, errors } = parseTargetGroups([
      sdGroup({
        instanceId: ID,
        service: 'backend',
        target: 'https://u:p@acme.example/health',
        healthJson: true,
      }),
      sdGroup({
        instanceId: ID,
        service: 'db',
        kind: 'database',
        type: 'tcp',
        target: '[::1]:5432',
        timeoutMs: 900,
      }),
    ]);
    assert.deepEqual(errors, []);
    assert.equal(targets.length, 2);
    const [web, db] = targets;
    assert.equal(web!.key, `${ID}/backend`);
    assert.equal(web!.url!.hostname, 'acme.example');
    assert.equal(web!.healthJson, true);
    assert.deepEqual(web!.labels, {
      client: 'acme',
      instance: 'acme-prod',
      service: 'backend',
      service_kind: 'backend',
    });
    assert.deepEqual([db!.probeType, db!.host, db!.port, db!.timeoutMs], ['tcp', '::1', 5432, 900]);
  });

  it('keeps of a probe URL what the request needs: host without brackets, decoded credentials, path and query', () => {
    const { targets, errors } = parseTargetGroups([
      sdGroup({ instanceId: ID, service: 'v6', target: 'http://us%40r:p%20w@[::1]:8080/health?deep=1#x' }),
      sdGroup({ instanceId: ID, service: 'tls', target: 'https://acme.example' }),
    ]);
    assert.deepEqual(errors, []);
    assert.deepEqual(
      { ...targets[0]!.url },
      {
        protocol: 'http:',
        hostname: '::1',
        port: '8080',
        path: '/health?deep=1',
        auth: 'us@r:p w',
      },
    );
    assert.deepEqual(
      { ...targets[1]!.url },
      { protocol: 'https:', hostname: 'acme.example', port: '', path: '/' },
    );
  });

  it('rejects bad groups with a reason and keeps the good ones', () => {
    const good = sdGroup({ instanceId: ID, service: 'backend', target: 'http://a/' });
    const badKind = sdGroup({ instanceId: ID, service: 'x', kind: 'mainframe', target: 'http://a/' });
    const badId = sdGroup({ instanceId: 'nope', service: 'y', target: 'http://a/' });
    const badTcp = sdGroup({ instanceId: ID, service: 'z', type: 'tcp', target: 'no-port' });
    const { targets, errors } = parseTargetGroups([good, badKind, badId, badTcp, good, 'junk']);
    assert.deepEqual(
      targets.map((t) => t.service),
      ['backend'],
    );
    assert.deepEqual(errors, [
      'group 1: label service_kind invalid',
      'group 2: label __meta_concierge_instance_id must be a uuid',
      'group 3: tcp target must be host:port',
      `group 4: duplicate service ${ID}/backend`,
      'group 5: not an object',
    ]);
  });

  it('reads host:port forms', () => {
    assert.deepEqual(parseHostPort('db.internal:5432'), { host: 'db.internal', port: 5432 });
    assert.deepEqual(parseHostPort('[2001:db8::1]:443'), { host: '2001:db8::1', port: 443 });
    assert.equal(parseHostPort('host:0'), undefined);
    assert.equal(parseHostPort('host'), undefined);
  });

  it('reads the concierge health JSON and bounds dependency names', () => {
    const body = {
      status: 'ok',
      components: { openemr: { status: 'up' }, twilio: { status: 'down' }, 'bad name"}': { status: 'up' } },
    };
    const h = parseHealth(Buffer.from(JSON.stringify(body)));
    assert.ok(typeof h !== 'string');
    assert.deepEqual(
      [...h.dependencies],
      [
        ['openemr', true],
        ['twilio', false],
      ],
    );
    assert.equal(parseHealth(Buffer.from('<html>')), 'health body is not JSON');
    assert.equal(parseHealth(Buffer.from('{"status":"fine"}')), 'health status missing or unknown');
  });
});
