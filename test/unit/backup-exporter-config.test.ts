import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from '../../exporters/backup-exporter/src/config.ts';

const BASE = { CONTROL_PLANE_URL: 'http://127.0.0.1:8080', BACKUP_AGENT_TOKEN: 'test-token' };

describe('backup exporter configuration: repository restore tests', () => {
  it('leaves pgBackRest restore tests off and bounds restore tests at 30 minutes by default', () => {
    const c = loadConfig(BASE);
    assert.equal(c.pgbackrestPgBin, undefined);
    assert.deepEqual(c.pgbackrestTables, []);
    assert.equal(c.pgbackrestDatabase, 'postgres');
    assert.equal(c.restoreTestTimeoutSeconds, 1800);
  });

  it('reads the binaries, the expected tables, the database and the time bound', () => {
    const c = loadConfig({
      ...BASE,
      BACKUP_PGBACKREST_PG_BIN: '/usr/lib/postgresql/15/bin',
      BACKUP_PGBACKREST_TABLES: 'public.appointments, billing.invoices',
      BACKUP_PGBACKREST_DATABASE: 'concierge',
      BACKUP_RESTORE_TEST_TIMEOUT_SECONDS: '600',
    });
    assert.equal(c.pgbackrestPgBin, '/usr/lib/postgresql/15/bin');
    assert.deepEqual(c.pgbackrestTables, ['public.appointments', 'billing.invoices']);
    assert.equal(c.pgbackrestDatabase, 'concierge');
    assert.equal(c.restoreTestTimeoutSeconds, 600);
  });

  it('refuses pgBackRest restore tests without the tables they must find', () => {
    assert.throws(
      () => loadConfig({ ...BASE, BACKUP_PGBACKREST_PG_BIN: '/usr/lib/postgresql/15/bin' }),
      /BACKUP_PGBACKREST_TABLES must name at least one table when BACKUP_PGBACKREST_PG_BIN is set/,
    );
  });

  it('names every bad variable at once', () => {
    assert.throws(
      () =>
        loadConfig({
          ...BASE,
          BACKUP_PGBACKREST_TABLES: 'appointments; drop table x',
          BACKUP_PGBACKREST_DATABASE: 'a\u0000b',
          BACKUP_RESTORE_TEST_TIMEOUT_SECONDS: '0',
        }),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.deepEqual(err.problems, [
          'BACKUP_PGBACKREST_TABLES must be a list of schema.table names',
          'BACKUP_PGBACKREST_DATABASE must be a database name',
          'BACKUP_RESTORE_TEST_TIMEOUT_SECONDS must be an integer between 10 and 86400',
        ]);
        return true;
      },
    );
  });
});
