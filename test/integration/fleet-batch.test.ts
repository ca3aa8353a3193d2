import assert from 'node:assert/strict';
import { clientBody, startControlPlane, type TestControlPlane } from '../helpers/control-plane.ts';

describe('POST /api/v1/fleet/batch: the fleet’s operations in one transaction', () => {
  let cp: TestControlPlane;
  before(async () => {
    cp = await startControlPlane();
  });
  after(async () => {
    await cp.close();
  });

  it('applies every operation, each audited like its own route, and answers each result in order', async () => {
    const r = await cp.call('POST', '/api/v1/fleet/batch', {
      body: {
        operations: [
          { operationId: 'createClient', body: clientBody('batch-one') },
          { operationId: 'updateClient', id: 'batch-one', body: { slaTarget: 0.995 } },
          { operationId: 'updateClientBackupPolicy', id: 'batch-one', body: { keepDaily: 9 } },
        ],
      },
    });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.results.length, 3);
    assert.equal(r.body.results[1].slaTarget, 0.995);
    const { rows } = await cp.db.query<{ action: string }>(
      `select action from audit_log where action like 'client.%' or action like 'backup%'
       union all select action from audit_pending where action like 'client.%' or action like 'backup%'`,
    );
    assert.deepEqual(rows.map((x) => x.action).sort(), [
      'backup_policy.update',
      'client.create',
      'client.update',
    ]);
  });

  it('applies none of them when one is refused, naming it under /operations/<n>', async () => {
    const clients = await cp.count('clients');
    const audit = await cp.count('audit_log');
    const bad = await cp.call('POST', '/api/v1/fleet/batch', {
      body: {
        operations: [
          { operationId: 'createClient', body: clientBody('batch-two') },
          { operationId: 'createClient', body: { ...clientBody('batch-three'), timeZone: 'Mars/Base' } },
        ],
      },
    });
    assert.equal(bad.status, 400, bad.text);
    assert.equal(bad.headers.get('content-type'), 'application/problem+json; charset=utf-8');
    assert.deepEqual(
      bad.body.errors.map((e: { field: string }) => e.field),
      ['/operations/1/body/timeZone'],
    );
    const late = await cp.call('POST', '/api/v1/fleet/batch', {
      body: {
        operations: [
          { operationId: 'createClient', body: clientBody('batch-two') },
          { operationId: 'decommissionInstance', id: 'no-such-instance' },
        ],
      },
    });
    assert.equal(late.status, 404, late.text);
    assert.deepEqual(late.body.errors, [{ field: '/operations/1/id', message: 'instance not found' }]);
    assert.equal(
      await cp.count('clients'),
      clients,
      'the first, valid client was rolled back with the batch',
    );
    assert.equal(await cp.count('audit_log'), audit);
  });
});
