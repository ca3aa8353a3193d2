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

  it('trusts no proxy by default, and names a bad TRUSTED_PROXIES entry', () => {
    assert.deepEqual(loadConfig({}).trustedProxies, []);
    assert.deepEqual(loadConfig({ TRUSTED_PROXIES: 'loopback, 10.0.0.0/8,::1' }).trustedProxies, [
      'loopback',
      '10.0.0.0/8',
      '::1',
    ]);
    assert.throws(() => loadConfig({ TRUSTED_PROXIES: '10.0.0.0/33' }), /TRUSTED_PROXIES .*"10.0.0.0\/33"/);
    assert.throws(() => loadConfig({ TRUSTED_PROXIES: 'everyone' }), /TRUSTED_PROXIES/);
  });

  it('keeps the audit signing key out of its error, and generates one only for the embedded default', () => {
    assert.throws(
      () => loadConfig({ AUDIT_SIGNING_KEY: 'not-a-key-but-a-secret' }),
      (err: Error) => /AUDIT_SIGNING_KEY must be an Ed25519/.test(err.message) && !/secret/.test(err.message),
    );
    assert.deepEqual(loadConfig({ DATA_DIR: '/d' }).audit.signingKey, {
      file: '/d/audit-signing-key.pem',
      generate: true,
    });
    assert.equal(loadConfig({ DATABASE_URL: 'postgres://h/db' }).audit.signingKey, undefined);
    assert.equal(loadConfig({ DATA_DIR: '/d' }).audit.checkpointDir, '/d');
    assert.equal(loadConfig({}).audit.checkpointEverySeconds, 900);
  });

  it('takes MIGRATION_DATABASE_URL beside DATABASE_URL only, naming a bad one without echoing its password', () => {
    const c = loadConfig({
      DATABASE_URL: 'postgres://app@h/db',
      MIGRATION_DATABASE_URL: 'postgres://owner@h/db',
    });
    assert.equal(c.migrationDatabaseUrl, 'postgres://owner@h/db');
    assert.equal(loadConfig({}).migrationDatabaseUrl, undefined);
    assert.throws(
      () => loadConfig({ MIGRATION_DATABASE_URL: 'postgres://owner@h/db' }),
      /MIGRATION_DATABASE_URL needs DATABASE_URL/,
    );
    assert.throws(
      () => loadConfig({ DATABASE_URL: 'postgres://h/db', MIGRATION_DATABASE_URL: 'mysql://o:secret@h/db' }),
      (err: Error) =>
        /MIGRATION_DATABASE_URL must be a postgres/.test(err.message) && !/secret/.test(err.message),
    );
  });

  it('keeps audit records six years by default, archives under DATA_DIR, and takes a shorter retention only with a reason', () => {
    const d = loadConfig({ DATA_DIR: '/d' }).audit;
    assert.deepEqual(
      [d.retentionYears, d.retentionOverride, d.archiveDir],
      [6, undefined, '/d/audit-archive'],
    );
    assert.equal(loadConfig({ AUDIT_ARCHIVE_DIR: '/worm/audit' }).audit.archiveDir, '/worm/audit');
    // A reason given for a retention of six years or more is no override: nothing to record.
    assert.equal(
      loadConfig({ AUDIT_RETENTION_YEARS: '8', AUDIT_RETENTION_OVERRIDE: 'just in case' }).audit
        .retentionOverride,
      undefined,
    );
    const short = loadConfig({ AUDIT_RETENTION_YEARS: '3', AUDIT_RETENTION_OVERRIDE: ' approved, LEGAL-7 ' });
    assert.deepEqual([short.audit.retentionYears, short.audit.retentionOverride], [3, 'approved, LEGAL-7']);
    assert.throws(
      () => loadConfig({ AUDIT_RETENTION_YEARS: '5.5' }),
      /AUDIT_RETENTION_YEARS="5.5" must be an integer/,
    );
    assert.throws(
      () => loadConfig({ AUDIT_RETENTION_YEARS: '0', AUDIT_RETENTION_OVERRIDE: 'approved' }),
      /AUDIT_RETENTION_YEARS="0" must be an integer from 1 to 100/,
    );
    assert.throws(
      () => loadConfig({ AUDIT_RETENTION_YEARS: '2', AUDIT_RETENTION_OVERRIDE: 'ok\nforged: line' }),
      /AUDIT_RETENTION_OVERRIDE must be a reason of 3 to 500 characters on one line/,
    );
  });

  it('takes the audit report contacts as a list of e-mail addresses, and names a bad one', () => {
    assert.deepEqual(loadConfig({}).audit.reportContacts, []);
    assert.deepEqual(loadConfig({ AUDIT_REPORT_CONTACTS: 'a@x.example, b@y.example' }).audit.reportContacts, [
      'a@x.example',
      'b@y.example',
    ]);
    assert.throws(
      () => loadConfig({ AUDIT_REPORT_CONTACTS: 'a@x.example,not an address' }),
      /AUDIT_REPORT_CONTACTS must be a comma-separated list of e-mail addresses/,
    );
  });
});
