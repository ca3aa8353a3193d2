import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from '../../control-plane/src/config.ts';

describe('configuration', () => {
  it('has working defaults with an empty environment', () => {
    const c = loadConfig({});
    assert.equal(c.port, 8080);
    assert.equal(c.databaseUrl, undefined);
    assert.match(c.dataDir, /\/data$/);
    assert.equal(c.publicUrl, 'http://localhost:8080');
    assert.equal(c.databasePoolSize, 20);
    assert.ok(Object.isFrozen(c));
  });

  it('names every bad variable in one error, without echoing a database password', () => {
    try {
      loadConfig({
        PORT: 'eighty',
        LOG_LEVEL: 'loud',
        DATABASE_URL: 'mysql://u:secret@h/db',
        BOOTSTRAP_ADMIN_TOKEN: 'short',
        DATABASE_POOL_SIZE: '1',
      });
      assert.fail('expected a ConfigError');
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.problems.length, 5);
      for (const name of ['PORT', 'LOG_LEVEL', 'DATABASE_URL', 'BOOTSTRAP_ADMIN_TOKEN', 'DATABASE_POOL_SIZE'])
        assert.match(err.message, new RegExp(name));
      assert.doesNotMatch(err.message, /secret/);
    }
  });
});
