import assert from 'node:assert/strict';
import fs from 'node:fs';
import { runMigrations } from 'graphile-worker';
import { runner } from 'node-pg-migrate';
import pg from 'pg';
import { MIGRATIONS_DIR, migrate } from '../../control-plane/src/db/migrate.ts';
import { createTestDatabase, dropTestDatabase } from '../helpers/db.ts';

const TIMING = '1766300000100_incident_timing';

describe('upgrading to incident timing', () => {
  let url: string;
  let pool: pg.Pool;
  before(async () => {
    url = await createTestDatabase(null);
    pool = new pg.Pool({ connectionString: url, max: 2 });
  });
  after(async () => {
    await pool?.end();
    if (url) await dropTestDatabase(url);
  });

  it('dates existing incidents from their alerts and their first accepted page', async () => {
    const before = fs.readdirSync(MIGRATIONS_DIR).filter((f) => f.endsWith('.sql') && f < TIMING).length;
    await runner({
      databaseUrl: url,
      dir: MIGRATIONS_DIR,
      direction: 'up',
      migrationsTable: 'pgmigrations',
      count: before,
      checkOrder: true,
      log: () => {},
    });
    await runMigrations({ pgPool: pool, logger: undefined });
    const incident = async (code: string, opened: string, groupKey: string | null, resolved?: string) =>
      (
        await pool.query<{ id: string }>(
          `insert into incidents (code, severity, source, title, group_key, opened_at, status, resolved_at)
           values ($1, 'critical', 'alertmanager', 'BackendDown', $2, $3, $4, $5) returning id`,
          [code, groupKey, opened, resolved ? 'resolved' : 'open', resolved ?? null],
        )
      ).rows[0]!.id;
    const alert = (id: string, fingerprint: string, startsAt: string) =>
      pool.query(
        `insert into incident_alerts (incident_id, fingerprint, status, labels, annotations, starts_at)
         values ($1, $2, 'firing', '{}', '{}', $3)`,
        [id, fingerprint, startsAt],
      );
    // Paged: two alerts (the earlier start counts), an SMS that failed once then went out, and an e-mail.
    const paged = await incident('U-1', '2026-11-25T10:02:00Z', 'g-1', '2026-11-25T11:00:00Z');
    await alert(paged, 'f1', '2026-11-25T10:00:30Z');
    await alert(paged, 'f2', '2026-11-25T10:00:00Z');
    const { rows: r } = await pool.query<{ id: string }>(
      `insert into responders (name, role, phone, email) values ('Olivia', 'oncall-engineer', '+15551230001',
         'olivia@ops.example.test') returning id`,
    );
    for (const [channel, attempts] of [
      [
        'sms',
        [
          ['failed', '2026-11-25T10:02:01Z'],
          ['sent', '2026-11-25T10:02:05Z'],
        ],
      ],
      ['email', [['sent', '2026-11-25T10:02:09Z']]],
    ] as const) {
      const { rows } = await pool.query<{ id: string }>(
        `insert into notifications (incident_id, level, responder_id, channel, idempotency_key, status)
         values ($1, 1, $2, $3, $4, 'sent') returning id`,
        [paged, r[0]!.id, channel, `${paged}:1:0:${r[0]!.id}:${channel}`],
      );
      for (const [i, [outcome, at]] of attempts.entries())
        await pool.query(
          `insert into notification_attempts (notification_id, attempt, outcome, at) values ($1, $2, $3, $4)`,
          [rows[0]!.id, i + 1, outcome, at],
        );
    }
    // The same group again after U-1 resolved, its alert still firing from before: it began no earlier.
    const again = await incident('U-2', '2026-11-25T11:05:00Z', 'g-1');
    await alert(again, 'f2', '2026-11-25T10:00:00Z');
    // An alert whose sender's clock ran ahead: the failure began no later than its opening.
    const ahead = await incident('U-3', '2026-11-25T12:00:00Z', 'g-3');
    await alert(ahead, 'f3', '2026-11-25T12:00:40Z');
    // Hand-made, no alerts: its opening.
    await incident('U-4', '2026-11-25T13:00:00Z', null);

    const applied = await migrate(url);
    assert.ok(applied.includes(TIMING), `applied ${applied.join(', ')}`);
    const { rows } = await pool.query<{ code: string; failure_began_at: Date; first_page_at: Date | null }>(
      `select code, failure_began_at, first_page_at from incidents order by code`,
    );
    assert.deepEqual(
      rows.map((x) => [x.code, x.failure_began_at.toISOString(), x.first_page_at?.toISOString() ?? null]),
      [
        ['U-1', '2026-11-25T10:00:00.000Z', '2026-11-25T10:02:05.000Z'],
        ['U-2', '2026-11-25T11:00:00.000Z', null],
        ['U-3', '2026-11-25T12:00:00.000Z', null],
        ['U-4', '2026-11-25T13:00:00.000Z', null],
      ],
    );
    // New rows without a time get their opening.
    const { rows: fresh } = await pool.query<{ same: boolean }>(
      `insert into incidents (severity, source, title, opened_at) values ('info', 'manual', 'x',
         '2026-10-01T00:00:00Z') returning failure_began_at = opened_at as same`,
    );
    assert.equal(fresh[0]!.same, true);
  });
});
