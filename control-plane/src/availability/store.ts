import type { Queryable } from '../db/pool.ts';

export interface DbInterval {
  id: number;
  instance_id: string;
  service: string;
  state: 'down' | 'degraded';
  starts_at: Date;
  /** null while open */
  ends_at: Date | null;
  source: 'prober' | 'operator' | 'alert' | 'history';
  reason: string;
  transition_id: string | null;
}

const INTERVAL_COLUMNS = `id, instance_id, service, state, lower(during) as starts_at,
  case when upper_inf(during) then null else upper(during) end as ends_at, source, reason, transition_id`;

/** Index of each (instanceId, service) pair that names no service of an existing instance, and why. */
export async function unknownTargets(
  db: Queryable,
  pairs: { instanceId: string; service: string }[],
): Promise<{ ord: number; instance_known: boolean }[]> {
  const { rows } = await db.query<{ ord: number; instance_known: boolean }>(
    `select t.ord::int - 1 as ord, exists (select 1 from instances i where i.id = t.i) as instance_known
     from unnest($1::uuid[], $2::text[]) with ordinality as t(i, s, ord)
     where not exists (select 1 from services s where s.instance_id = t.i and s.name = t.s)
     order by t.ord`,
    [pairs.map((p) => p.instanceId), pairs.map((p) => p.service)],
  );
  return rows;
}

/** Serialises writers of one instance+service across replicas until the transaction ends. */
export async function lockSeries(db: Queryable, instanceId: string, service: string): Promise<void> {
  await db.query('select pg_advisory_xact_lock(hashtextextended($1, 4))', [`${instanceId}/${service}`]);
}

/** Records a transition; false when its id was seen before (a retried request). */
export async function insertTransition(
  db: Queryable,
  t: {
    id: string;
    prober: string;
    instanceId: string;
    service: string;
    state: string;
    at: string;
    reason: string;
  },
): Promise<boolean> {
  const { rowCount } = await db.query(
    `insert into availability_transitions (id, prober, instance_id, service, state, at, reason)
     values ($1, $2, $3, $4, $5, $6, $7) on conflict (id) do nothing`,
    [t.id, t.prober, t.instanceId, t.service, t.state, t.at, t.reason],
  );
  return rowCount === 1;
}

export async function findOpen(
  db: Queryable,
  instanceId: string,
  service: string,
): Promise<DbInterval | undefined> {
  const { rows } = await db.query<DbInterval>(
    `select ${INTERVAL_COLUMNS} from availability_intervals
     where instance_id = $1 and service = $2 and upper_inf(during)`,
    [instanceId, service],
  );
  return rows[0];
}

/** End of the latest closed interval: a late transition may not reach back before it. */
export async function lastClosedEnd(
  db: Queryable,
  instanceId: string,
  service: string,
): Promise<Date | null> {
  const { rows } = await db.query<{ end: Date | null }>(
    `select max(upper(during)) as end from availability_intervals
     where instance_id = $1 and service = $2 and not upper_inf(during)`,
    [instanceId, service],
  );
  return rows[0]?.end ?? null;
}

export async function closeInterval(db: Queryable, id: number, at: Date): Promise<void> {
  await db.query(
    `update availability_intervals set during = tstzrange(lower(during), $2, '[)') where id = $1`,
    [id, at],
  );
}

export async function insertInterval(
  db: Queryable,
  i: {
    instanceId: string;
    service: string;
    state: 'down' | 'degraded';
    start: Date | string;
    end: Date | string | null;
    source: 'prober' | 'operator' | 'alert' | 'history';
    reason: string;
    transitionId: string | null;
  },
): Promise<DbInterval> {
  const { rows } = await db.query<DbInterval>(
    `insert into availability_intervals (instance_id, service, state, during, source, reason, transition_id)
     values ($1, $2, $3, tstzrange($4, $5, '[)'), $6, $7, $8) returning ${INTERVAL_COLUMNS}`,
    [i.instanceId, i.service, i.state, i.start, i.end, i.source, i.reason, i.transitionId],
  );
  return rows[0]!;
}

/**
 * Cuts [start, end) out of the intervals of one instance+service: each overlapping interval is replaced by
 * what remains of it (zero, one or two pieces; the opening transition stays with the latest piece).
 * Returns the intervals as they were before.
 */
export async function carveOut(
  db: Queryable,
  instanceId: string,
  service: string,
  start: string,
  end: string,
): Promise<DbInterval[]> {
  const { rows } = await db.query<DbInterval>(
    `delete from availability_intervals
     where instance_id = $1 and service = $2 and during && tstzrange($3, $4, '[)')
     returning ${INTERVAL_COLUMNS}, during::text as during_text`,
    [instanceId, service, start, end],
  );
  await db.query(
    `insert into availability_intervals (instance_id, service, state, during, source, reason, transition_id)
     select $1, $2, old.state, piece, old.source, old.reason,
            case when piece = last_value(piece) over w then old.transition_id end
     from jsonb_to_recordset($5::jsonb) as old(state text, during tstzrange, source text, reason text,
                                                transition_id uuid),
          unnest(tstzmultirange(old.during) - tstzmultirange(tstzrange($3, $4, '[)'))) as piece
     window w as (partition by old.during order by lower(piece)
                  rows between unbounded preceding and unbounded following)`,
    [
      instanceId,
      service,
      start,
      end,
      JSON.stringify(
        rows.map((r) => ({
          state: r.state,
          during: (r as unknown as { during_text: string }).during_text,
          source: r.source,
          reason: r.reason,
          transition_id: r.transition_id,
        })),
      ),
    ],
  );
  return rows;
}

/** Every open interval: the services currently not up. */
export async function listOpen(db: Queryable): Promise<DbInterval[]> {
  const { rows } = await db.query<DbInterval>(
    `select ${INTERVAL_COLUMNS} from availability_intervals where upper_inf(during) order by instance_id, service`,
  );
  return rows;
}

export async function listIntervals(
  db: Queryable,
  instanceId: string,
  from: string,
  to: string,
  limit: number,
): Promise<DbInterval[]> {
  const { rows } = await db.query<DbInterval>(
    `select ${INTERVAL_COLUMNS} from availability_intervals
     where instance_id = $1 and during && tstzrange($2, $3, '[)') order by lower(during), service limit $4`,
    [instanceId, from, to, limit],
  );
  return rows;
}

/**
 * Extends the prober's current stretch of coverage to now + grace, or starts a new one when the last
 * stretch ended before now (the prober was silent for longer than the grace).
 */
export async function extendCoverage(db: Queryable, prober: string, graceSeconds: number): Promise<void> {
  await db.query(
    `with cur as (
       update prober_coverage set during = tstzrange(lower(during), now() + make_interval(secs => $2), '[)')
       where id = (select id from prober_coverage where prober = $1 and upper(during) >= now()
                   order by upper(during) desc limit 1)
       returning id)
     insert into prober_coverage (prober, during)
     select $1, tstzrange(now(), now() + make_interval(secs => $2), '[)') where not exists (select 1 from cur)`,
    [prober, graceSeconds],
  );
}
