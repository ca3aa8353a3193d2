import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DateTime } from 'luxon';
import {
  clientBody,
  instanceBody,
  startControlPlane,
  type TestControlPlane,
} from '../helpers/control-plane.ts';

const ZONE = 'America/New_York';
const MIN = 60_000;

interface Span {
  start: number;
  len: number;
}
interface Scenario {
  month: string;
  services: Record<'backend' | 'proxy' | 'database', { span: Span; state: 'down' | 'degraded' }[]>;
  maintenance: Span[];
  coverage: Span[];
}

/** Minute offsets from two days before the month to two days after it: the boundaries get exercised. */
const span = (maxLen: number) =>
  fc.record({ start: fc.integer({ min: 0, max: 35 * 1440 }), len: fc.integer({ min: 1, max: maxLen }) });

const scenario: fc.Arbitrary<Scenario> = fc.record({
  month: fc.constantFrom('2026-03', '2025-11', '2026-02'),
  services: fc.record({
    backend: fc.array(fc.record({ span: span(3000), state: fc.constantFrom('down', 'degraded') }), {
      maxLength: 8,
    }),
    proxy: fc.array(fc.record({ span: span(3000), state: fc.constantFrom('down', 'degraded') }), {
      maxLength: 8,
    }),
    database: fc.array(fc.record({ span: span(3000), state: fc.constantFrom('down', 'degraded') }), {
      maxLength: 4,
    }),
  }),
  maintenance: fc.array(span(2000), { maxLength: 4 }),
  coverage: fc.array(span(30 * 1440), { minLength: 0, maxLength: 4 }),
}) as fc.Arbitrary<Scenario>;

/** Drops spans that overlap an earlier one: intervals of one service never overlap (the constraint). */
function disjoint<T extends { span: Span }>(list: T[]): T[] {
  const kept: T[] = [];
  for (const x of list)
    if (
      kept.every(
        (k) => x.span.start + x.span.len <= k.span.start || k.span.start + k.span.len <= x.span.start,
      )
    )
      kept.push(x);
  return kept;
}

describe('SLA property: multirange arithmetic agrees with a minute-by-minute oracle', () => {
  let cp: TestControlPlane;
  let instanceId: string;
  before(async () => {
    cp = await startControlPlane();
    await cp.call('POST', '/api/v1/clients', { body: clientBody('prop', { timeZone: ZONE }) });
    // Monitored since before every month the property draws (from November 2025).
    const body = instanceBody('prop', 'prop-prod', { monitoredSince: '2025-01-01T00:00:00Z' });
    instanceId = (await cp.call('POST', '/api/v1/instances', { body })).body.id;
  });
  after(() => cp.close());

  it('matches the oracle on random outages, overlapping services, maintenance and unknown time, across DST', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        const monthStart = DateTime.fromFormat(s.month, 'yyyy-MM', { zone: ZONE });
        const from = monthStart.toMillis();
        const to = monthStart.plus({ months: 1 }).toMillis();
        const origin = from - 2 * 1440 * MIN;
        const at = (m: number) => new Date(origin + m * MIN).toISOString();
        await cp.db.query('delete from availability_intervals');
        await cp.db.query('delete from prober_coverage');
        await cp.db.query('delete from maintenance_windows');
        const services = { ...s.services };
        for (const name of ['backend', 'proxy', 'database'] as const) {
          services[name] = disjoint(s.services[name]);
          for (const x of services[name])
            await cp.db.query(
              `insert into availability_intervals (instance_id, service, state, during, source)
               values ($1, $2, $3, tstzrange($4, $5), 'prober')`,
              [instanceId, name, x.state, at(x.span.start), at(x.span.start + x.span.len)],
            );
        }
        for (const c of s.coverage)
          await cp.db.query(`insert into prober_coverage (prober, during) values ('p', tstzrange($1, $2))`, [
            at(c.start),
            at(c.start + c.len),
          ]);
        for (const m of s.maintenance) {
          const r = await cp.call('POST', '/api/v1/maintenance-windows', {
            body: { instance: 'prop-prod', start: at(m.start), end: at(m.start + m.len), reason: 'prop' },
          });
          assert.equal(r.status, 201, r.text);
        }

        // The oracle: walk the month minute by minute.
        const inAny = (list: Span[], minute: number) =>
          list.some((x) => minute >= x.start && minute < x.start + x.len);
        const counted = [...services.backend, ...services.proxy];
        const o = { period: 0, maint: 0, unknown: 0, down: 0, degraded: 0 };
        for (let t = from; t < to; t += MIN) {
          const minute = (t - origin) / MIN;
          o.period++;
          if (inAny(s.maintenance, minute)) o.maint++;
          else if (!inAny(s.coverage, minute)) o.unknown++;
          else if (
            inAny(
              counted.filter((x) => x.state === 'down').map((x) => x.span),
              minute,
            )
          )
            o.down++;
          else if (
            inAny(
              counted.filter((x) => x.state === 'degraded').map((x) => x.span),
              minute,
            )
          )
            o.degraded++;
        }
        const r = await cp.call('GET', `/api/v1/instances/prop-prod/sla?month=${s.month}`);
        assert.equal(r.status, 200, r.text);
        assert.deepEqual(
          {
            period: r.body.periodSeconds,
            maint: r.body.maintenanceSeconds,
            unknown: r.body.unknownSeconds,
            down: r.body.downtimeSeconds,
            degraded: r.body.degradedSeconds,
          },
          {
            period: o.period * 60,
            maint: o.maint * 60,
            unknown: o.unknown * 60,
            down: o.down * 60,
            degraded: o.degraded * 60,
          },
        );
        const measured = o.period - o.maint - o.unknown;
        assert.equal(r.body.noData, measured === 0);
        if (measured > 0) assert.ok(Math.abs(r.body.uptime - (1 - o.down / measured)) < 1e-12);
        else assert.equal(r.body.uptime, null);
      }),
      { numRuns: 40 },
    );
  });
});
