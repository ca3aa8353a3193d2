import type { Queryable } from '../db/pool.ts';

export interface SlaRequest {
  instanceId: string;
  from: Date;
  to: Date;
  /** service names or kinds that count */
  services: string[];
}

export interface DbSlaRow {
  instance_id: string;
  period_s: number;
  maint_s: number;
  unknown_s: number;
  down_s: number;
  degraded_s: number;
  measurable_s: number;
}

/**
 * The measured-time CTEs both queries share, ending in `calc` (instance_id, p period, m maintenance, d down,
 * g degraded, op operator-recorded, meas measured), over $1 (requests) and $2 (maintenance) of `slaParams`.
 */
const MEASURED = `with req as (
       -- The period asked for, within the instance's monitored lifetime.
       select r.instance_id, r.services,
         tstzrange(r.from_ts, r.to_ts, '[)') * tstzrange(i.monitored_since,
           case when i.decommissioned_at is not null then greatest(i.decommissioned_at, i.monitored_since) end,
           '[)') as period
       from jsonb_to_recordset($1::jsonb) as r(instance_id uuid, from_ts timestamptz, to_ts timestamptz,
                                                services text[])
       join instances i on i.id = r.instance_id),
     counted as (
       select r.instance_id, unnest(r.services) as service from req r
       union
       select s.instance_id, s.name from req r join services s on s.instance_id = r.instance_id
       where s.kind = any(r.services)),
     cov as (
       select coalesce(range_agg(c.during), '{}') as mr from prober_coverage c
       where c.during && tstzrange((select min(lower(period)) from req), (select max(upper(period)) from req))),
     hist as (
       -- What an earlier system watched (history brought along), per instance.
       select h.instance_id, range_agg(h.during) as mr from availability_history_coverage h
       join req r on r.instance_id = h.instance_id and h.during && r.period
       group by 1),
     maint as (
       select m.instance_id, range_agg(tstzrange(m.from_ts, m.to_ts, '[)')) as mr
       from jsonb_to_recordset($2::jsonb) as m(instance_id uuid, from_ts timestamptz, to_ts timestamptz)
       group by 1),
     iv as (
       select a.instance_id,
         range_agg(a.during * r.period) filter (where a.state = 'down') as down_mr,
         range_agg(a.during * r.period) filter (where a.state = 'degraded') as deg_mr,
         range_agg(a.during * r.period) filter (where a.source = 'operator') as op_mr
       from req r
       join counted k on k.instance_id = r.instance_id
       join availability_intervals a on a.instance_id = r.instance_id and a.service = k.service
         and a.during && r.period
       group by 1),
     base as (
       select r.instance_id, tstzmultirange(r.period) as p,
         tstzmultirange(r.period) * coalesce(maint.mr, '{}') as m,
         coalesce(iv.down_mr, '{}') as d, coalesce(iv.deg_mr, '{}') as g, coalesce(iv.op_mr, '{}') as op,
         coalesce(hist.mr, '{}') as h
       from req r left join maint using (instance_id) left join iv using (instance_id)
         left join hist using (instance_id)),
     calc as (
       select b.*, (b.p - b.m) * ((select mr from cov) + b.op + b.h) as meas from base b)`;

function slaParams(
  requests: SlaRequest[],
  maintenance: { instanceId: string; from: Date; to: Date }[],
): [string, string] {
  return [
    JSON.stringify(
      requests.map((r) => ({
        instance_id: r.instanceId,
        from_ts: r.from.toISOString(),
        to_ts: r.to.toISOString(),
        services: r.services,
      })),
    ),
    JSON.stringify(
      maintenance.map((m) => ({
        instance_id: m.instanceId,
        from_ts: m.from.toISOString(),
        to_ts: m.to.toISOString(),
      })),
    ),
  ];
}

/**
 * Every instance's figures in one statement, exactly, with multirange arithmetic:
 *   P = period * the instance's monitored lifetime (monitored_since to decommissioned_at),
 *   M = P * maintenance, measured = (P - M) * (prober coverage + operator-recorded time + imported coverage),
 *   unknown = P - M - measured, down = union(down of counting services) * measured,
 *   degraded = (union(degraded) - union(down)) * measured.
 * Operator corrections count as measured: an operator who records an outage knows what happened.
 */
export async function compute(
  db: Queryable,
  requests: SlaRequest[],
  maintenance: { instanceId: string; from: Date; to: Date }[],
): Promise<DbSlaRow[]> {
  if (requests.length === 0) return [];
  const { rows } = await db.query<DbSlaRow>(
    `${MEASURED}
     select instance_id,
       multirange_seconds(p) as period_s,
       multirange_seconds(m) as maint_s,
       multirange_seconds(p - m - meas) as unknown_s,
       multirange_seconds(d * meas) as down_s,
       multirange_seconds((g - d) * meas) as degraded_s,
       multirange_seconds(meas) as measurable_s
     from calc`,
    slaParams(requests, maintenance),
  );
  return rows;
}

export interface DbDowntime {
  instance_id: string;
  start: Date;
  end: Date;
  services: string[];
}

export interface DbDaily {
  instance_id: string;
  day: number;
  measured_s: number;
  down_s: number;
  /** the day's time that counts: in the monitored lifetime, outside maintenance */
  countable_s: number;
}

/**
 * The downtime that `compute` counts, as episodes (maximal down stretches inside measured time, with the
 * counting services down during each), and measured/down seconds per day of `days` (ranges in the period).
 * The same arithmetic as `compute`, so episodes add up to its down_s exactly.
 */
export async function detail(
  db: Queryable,
  requests: SlaRequest[],
  maintenance: { instanceId: string; from: Date; to: Date }[],
  days: { from: Date; to: Date }[],
): Promise<{ downtimes: DbDowntime[]; daily: DbDaily[] }> {
  if (requests.length === 0) return { downtimes: [], daily: [] };
  const { rows } = await db.query<{
    instance_id: string;
    kind: 'e' | 'd';
    lo: Date | null;
    hi: Date | null;
    services: string[] | null;
    day: number | null;
    measured_s: number | null;
    down_s: number | null;
    countable_s: number | null;
  }>(
    `${MEASURED},
     days as (
       select x.day, tstzrange(x.from_ts, x.to_ts, '[)') as r
       from jsonb_to_recordset($3::jsonb) as x(day int, from_ts timestamptz, to_ts timestamptz))
     select c.instance_id, 'e' as kind, lower(e) as lo, upper(e) as hi,
       (select array_agg(distinct a.service order by a.service) from availability_intervals a
        join counted k on k.instance_id = a.instance_id and k.service = a.service
        where a.instance_id = c.instance_id and a.state = 'down' and a.during && e) as services,
       null::int as day, null::float8 as measured_s, null::float8 as down_s, null::float8 as countable_s
     from calc c, unnest(c.d * c.meas) e
     union all
     select c.instance_id, 'd', null, null, null, days.day,
       multirange_seconds(c.meas * tstzmultirange(days.r)),
       multirange_seconds(c.d * c.meas * tstzmultirange(days.r)),
       multirange_seconds((c.p - c.m) * tstzmultirange(days.r))
     from calc c, days
     order by 1, 2, 3, 6`,
    [
      ...slaParams(requests, maintenance),
      JSON.stringify(
        days.map((d, day) => ({ day, from_ts: d.from.toISOString(), to_ts: d.to.toISOString() })),
      ),
    ],
  );
  return {
    downtimes: rows
      .filter((r) => r.kind === 'e')
      .map((r) => ({ instance_id: r.instance_id, start: r.lo!, end: r.hi!, services: r.services ?? [] })),
    daily: rows
      .filter((r) => r.kind === 'd')
      .map((r) => ({
        instance_id: r.instance_id,
        day: r.day!,
        measured_s: r.measured_s!,
        down_s: r.down_s!,
        countable_s: r.countable_s!,
      })),
  };
}

export interface DbCreditDecision {
  client_id: string;
  month: string;
  credit_percent: number;
  reason: string;
  decided_by: string;
  decided_at: Date;
}

export async function creditDecision(
  db: Queryable,
  clientId: string,
  month: string,
): Promise<DbCreditDecision | undefined> {
  const { rows } = await db.query<DbCreditDecision>(
    `select client_id, month, credit_percent::float8 as credit_percent, reason, decided_by, decided_at
     from sla_credit_decisions where client_id = $1 and month = $2`,
    [clientId, month],
  );
  return rows[0];
}

/** Records the decision, replacing an earlier one of the month; returns it and the one it replaced. */
export async function upsertCreditDecision(
  db: Queryable,
  d: { clientId: string; month: string; creditPercent: number; reason: string; decidedBy: string },
): Promise<{ now: DbCreditDecision; before: DbCreditDecision | undefined }> {
  const before = await db.query<DbCreditDecision>(
    `select client_id, month, credit_percent::float8 as credit_percent, reason, decided_by, decided_at
     from sla_credit_decisions where client_id = $1 and month = $2 for update`,
    [d.clientId, d.month],
  );
  const { rows } = await db.query<DbCreditDecision>(
    `insert into sla_credit_decisions (client_id, month, credit_percent, reason, decided_by)
     values ($1, $2, $3, $4, $5)
     on conflict (client_id, month) do update set credit_percent = excluded.credit_percent,
       reason = excluded.reason, decided_by = excluded.decided_by, decided_at = now()
     returning client_id, month, credit_percent::float8 as credit_percent, reason, decided_by, decided_at`,
    [d.clientId, d.month, d.creditPercent, d.reason, d.decidedBy],
  );
  return { now: rows[0]!, before: before.rows[0] };
}
